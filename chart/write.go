package chart

import (
	"bytes"
	"fmt"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/loomml/loom/internal/fsutil"
)

// DPI is the resolution of PNG output: the default 8×5 inch chart is
// 960×600 pixels.
const DPI = 120

const (
	defaultWidth  = 8 * vg.Inch
	defaultHeight = 5 * vg.Inch
	maxSide       = 50 * vg.Inch
	pagePad       = 10 // points of white margin round the plot
)

// Drawing is a chart of any kind: a *Chart, a *BarChart or a *Grid.
type Drawing interface {
	// figure builds the gonum plot and says its size (zero for the
	// default).
	figure() (p *plot.Plot, w, h vg.Length, err error)
}

// EncodePNG writes d to w as a PNG.
func EncodePNG(w io.Writer, d Drawing) error { return encode(w, d, pngFormat) }

// EncodeSVG writes d to w as an SVG.
func EncodeSVG(w io.Writer, d Drawing) error { return encode(w, d, svgFormat) }

type format string

const (
	pngFormat format = "png"
	svgFormat format = "svg"
)

// size returns w and h, or the default for either that is zero.
func size(w, h vg.Length) (vg.Length, vg.Length) {
	if w == 0 {
		w = defaultWidth
	}
	if h == 0 {
		h = defaultHeight
	}
	return w, h
}

// encode draws f and writes it to w in the given format.
func encode(w io.Writer, f Drawing, fm format) error {
	p, width, height, err := f.figure()
	if err != nil {
		return err
	}
	width, height = size(width, height)
	if width < vg.Inch || height < vg.Inch || width > maxSide || height > maxSide {
		return fmt.Errorf("chart: size %.2g×%.2g in out of range (1 to %g in)", width/vg.Inch, height/vg.Inch, maxSide/vg.Inch)
	}
	var c vg.CanvasWriterTo
	switch fm {
	case pngFormat:
		c = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(DPI))}
	case svgFormat:
		c = vgsvg.New(width, height)
	}
	drawPage(p, c)
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return fmt.Errorf("chart: encode %s: %w", fm, err)
	}
	b := buf.Bytes()
	if fm == svgFormat {
		// gonum names the font alone; a viewer without it would fall back
		// to a serif font. Arial has Liberation Sans's metrics.
		b = bytes.ReplaceAll(b, []byte("font-family:Liberation Sans;"), []byte("font-family:'Liberation Sans',Arial,Helvetica,sans-serif;"))
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("chart: encode %s: %w", fm, err)
	}
	return nil
}

// drawPage draws p on c: a white page with a margin round the plot. It
// returns the canvas the plot went on.
func drawPage(p *plot.Plot, c vg.CanvasSizer) draw.Canvas {
	dc := draw.New(c)
	fillRect(dc, dc.Rectangle, colWhite)
	pc := draw.Crop(dc, pagePad, -pagePad, pagePad, -pagePad)
	p.Draw(pc)
	return pc
}

// writeFile writes f to path atomically: the image goes to a temporary file
// in the same directory that is renamed over path only once complete, so
// path never holds a partial image and nothing is left behind on failure.
func writeFile(path string, f Drawing, fm format) error {
	var buf bytes.Buffer
	if err := encode(&buf, f, fm); err != nil {
		return err
	}
	if err := fsutil.WriteFile(path, buf.Bytes()); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	return nil
}
