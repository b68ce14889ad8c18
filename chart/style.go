package chart

import (
	"image/color"
	"math"
	"strings"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Colours of the chart furniture.
var (
	colTitle     = color.RGBA{0x22, 0x22, 0x22, 255}
	colLabel     = color.RGBA{0x33, 0x33, 0x33, 255}
	colTickLabel = color.RGBA{0x55, 0x55, 0x55, 255}
	colAxis      = color.RGBA{0x80, 0x80, 0x80, 255}
	colGrid      = color.RGBA{0xe2, 0xe2, 0xe2, 255}
	colRef       = color.RGBA{0x5a, 0x5a, 0x5a, 255}
	colErrBar    = color.RGBA{0x2a, 0x2a, 0x2a, 255}
	colPatch     = color.NRGBA{255, 255, 255, 215} // under labels drawn over data
	colEdge      = color.RGBA{0xcc, 0xcc, 0xcc, 255}
	colEmpty     = color.RGBA{0xee, 0xee, 0xee, 255}
	colWhite     = color.RGBA{255, 255, 255, 255}
)

// okabeIto is the Okabe–Ito colour-blind-safe palette, reordered so that the
// first colours are the most distinct on white (yellow last).
var okabeIto = [...]color.RGBA{
	{0x00, 0x72, 0xB2, 255}, // blue
	{0xD5, 0x5E, 0x00, 255}, // vermillion
	{0x00, 0x9E, 0x73, 255}, // bluish green
	{0xCC, 0x79, 0xA7, 255}, // reddish purple
	{0xE6, 0x9F, 0x00, 255}, // orange
	{0x56, 0xB4, 0xE9, 255}, // sky blue
	{0x00, 0x00, 0x00, 255}, // black
	{0xF0, 0xE4, 0x42, 255}, // yellow
}

// PaletteColor returns the i-th colour of the default palette, the
// colour-blind-friendly Okabe–Ito palette (blue, vermillion, bluish green,
// reddish purple, orange, sky blue, black, yellow), cycling for i >= 8.
// Series and bars without an explicit Color use it.
func PaletteColor(i int) color.RGBA {
	if i < 0 {
		i = -i
	}
	return okabeIto[i%len(okabeIto)]
}

// Text is set in Liberation Sans, one of the fonts gonum embeds.
var (
	sans     = font.Font{Typeface: "Liberation", Variant: "Sans"}
	sansBold = font.Font{Typeface: "Liberation", Variant: "Sans", Weight: xfont.WeightBold}
)

// Font sizes, in points.
const (
	sizeTitle = 14
	sizeLabel = 12
	sizeTick  = 10.5
	sizeSmall = 9.5 // legend, point and reference labels, bar values
)

// textStyle is a plain-text style of the given font and size.
func textStyle(f font.Font, size vg.Length, col color.Color) text.Style {
	return text.Style{Color: col, Font: font.From(f, size), Handler: plot.DefaultTextHandler}
}

// newPlot is a gonum plot in loom's style: sans-serif text, grey axes,
// compact tick labels.
func newPlot(title, xlabel, ylabel string, logX, logY bool) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = font.From(sansBold, sizeTitle)
	p.Title.TextStyle.Color = colTitle
	p.Title.Padding = vg.Points(10)
	p.X.Label.Text, p.Y.Label.Text = xlabel, ylabel
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(sans, sizeLabel)
		a.Label.TextStyle.Color = colLabel
		a.Label.Padding = vg.Points(4)
		a.Tick.Label.Font = font.From(sans, sizeTick)
		a.Tick.Label.Color = colTickLabel
		a.LineStyle = draw.LineStyle{Color: colAxis, Width: vg.Points(0.75)}
		a.Tick.LineStyle = a.LineStyle
		a.Tick.Length = vg.Points(4)
	}
	p.X.Tick.Marker, p.Y.Tick.Marker = linearTicks{8}, linearTicks{6}
	if logX {
		p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, logTicks{}
	}
	if logY {
		p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, logTicks{}
	}
	return p
}

// addGrid adds light grid lines at the major ticks of the y axis, and of
// the x axis if vertical.
func addGrid(p *plot.Plot, vertical bool) {
	g := plotter.NewGrid()
	g.Horizontal = draw.LineStyle{Color: colGrid, Width: vg.Points(0.6)}
	g.Vertical = g.Horizontal
	if !vertical {
		g.Vertical.Color = nil
	}
	p.Add(g)
}

// truncate shortens s with an ellipsis to at most limit wide in sty.
func truncate(sty text.Style, s string, limit vg.Length) string {
	if sty.Width(s) <= limit {
		return s
	}
	r := []rune(s)
	for len(r) > 1 {
		r = r[:len(r)-1]
		if t := string(r) + "…"; sty.Width(t) <= limit {
			return t
		}
	}
	return string(r)
}

// wrapWords breaks s at spaces into lines no wider than limit, at most
// maxLines of them; ok is false when that is impossible (a word is wider
// than limit, or more lines are needed).
func wrapWords(sty text.Style, s string, limit vg.Length, maxLines int) (string, bool) {
	var lines []string
	for _, w := range strings.Fields(s) {
		if sty.Width(w) > limit {
			return "", false
		}
		if n := len(lines); n > 0 && sty.Width(lines[n-1]+" "+w) <= limit {
			lines[n-1] += " " + w
			continue
		}
		lines = append(lines, w)
	}
	if len(lines) > maxLines {
		return "", false
	}
	return strings.Join(lines, "\n"), true
}

// Marker shapes, in the order series take them, all filled: circle,
// square, triangle, diamond, triangle pointing down, hexagon.
var shapes = [...]draw.GlyphDrawer{
	draw.CircleGlyph{}, draw.BoxGlyph{}, draw.PyramidGlyph{},
	polygonGlyph{4, math.Pi / 2}, polygonGlyph{3, -math.Pi / 2}, polygonGlyph{6, 0},
}

// polygonGlyph is a filled regular polygon of n corners, one at angle a,
// whose area is close to that of a circle of the glyph's radius.
type polygonGlyph struct {
	n int
	a float64
}

func (g polygonGlyph) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	r := sty.Radius * vg.Length(math.Sqrt(2*math.Pi/(float64(g.n)*math.Sin(2*math.Pi/float64(g.n)))))
	var p vg.Path
	for i := range g.n {
		t := g.a + 2*math.Pi*float64(i)/float64(g.n)
		q := vg.Point{X: pt.X + r*vg.Length(math.Cos(t)), Y: pt.Y + r*vg.Length(math.Sin(t))}
		if i == 0 {
			p.Move(q)
		} else {
			p.Line(q)
		}
	}
	p.Close()
	c.Fill(p)
}

// haloGlyph draws its shape over a slightly larger white copy of it, which
// sets markers apart from the lines they sit on.
type haloGlyph struct{ shape draw.GlyphDrawer }

func (h haloGlyph) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	c.SetColor(colWhite)
	h.shape.DrawGlyph(c, draw.GlyphStyle{Color: colWhite, Radius: sty.Radius + vg.Points(0.9)}, pt)
	c.SetColor(sty.Color)
	h.shape.DrawGlyph(c, sty, pt)
}

// marker is the glyph of the k-th series.
func marker(k int, col color.Color) draw.GlyphStyle {
	return draw.GlyphStyle{Color: col, Radius: vg.Points(2.2), Shape: haloGlyph{shapes[k%len(shapes)]}}
}
