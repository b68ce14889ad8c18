package plot

import (
	"fmt"
	"image"
	"image/color"
	"io"
	"math"

	"golang.org/x/image/font"
)

// Bar is one bar of a BarChart.
type Bar struct {
	Label string
	Value float64
	// Err is the half-length of a symmetric error bar drawn over the bar
	// (Value-Err to Value+Err); zero, negative or NaN means none.
	Err float64
	// Color overrides the chart's bar colour for this bar.
	Color color.Color
}

// BarChart is a vertical bar chart comparing labelled values, with optional
// error bars. Bars start at zero unless YRange says otherwise, and each bar's
// value is written above it when there is room.
type BarChart struct {
	Title, XLabel, YLabel string
	Bars                  []Bar
	// Color is the colour of bars without their own; nil means
	// PaletteColor(0).
	Color color.Color
	// YRange fixes the value axis; the zero Range fits the bars (and zero).
	// A fixed range that starts above zero makes bars rise from its bottom,
	// which exaggerates differences: use with care.
	YRange Range
	// HLines are labelled horizontal reference lines, drawn over the bars.
	HLines []Ref
	// Width and Height are the image size in pixels (default 900x560).
	Width, Height int
}

// Render draws the bar chart. It returns an error when there are no bars,
// when no bar has a finite value, or when the size or YRange is invalid.
// A bar with a non-finite value keeps its slot and label but draws nothing.
func (b *BarChart) Render() (*image.RGBA, error) {
	W, H, err := size(b.Width, b.Height)
	if err != nil {
		return nil, err
	}
	if len(b.Bars) == 0 {
		return nil, fmt.Errorf("%w: bar chart has no bars", errNoData)
	}
	if err := b.YRange.check("Y", false); err != nil {
		return nil, err
	}
	var ey extent
	for _, bar := range b.Bars {
		if !finite(bar.Value) {
			continue
		}
		ey.add(bar.Value)
		if finite(bar.Err) && bar.Err > 0 {
			ey.add(bar.Value - bar.Err)
			ey.add(bar.Value + bar.Err)
		}
	}
	if !ey.ok {
		return nil, fmt.Errorf("%w: no bar has a finite value", errNoData)
	}
	for _, r := range b.HLines {
		ey.add(r.Y)
	}
	ylo, yhi := b.YRange.Min, b.YRange.Max
	if b.YRange.auto() {
		ey.add(0)
		ylo, yhi = ey.lo, ey.hi
		if ylo == yhi { // all values zero
			yhi = 1
		}
		d := yhi - ylo
		if ylo < 0 {
			ylo -= 0.08 * d
		}
		if yhi > 0 {
			yhi += 0.1 * d
		}
	}

	cv, err := newCanvas(W, H)
	if err != nil {
		return nil, err
	}
	n := len(b.Bars)
	labels := make([]string, n)
	maxW := 0
	for i, bar := range b.Bars {
		labels[i] = bar.Label
		maxW = max(maxW, textWidth(cv.f.tick, bar.Label))
	}
	// Estimate the slot width before layout to choose label orientation.
	slot := (float64(W) - cv.px(110)) / float64(n)
	rotated := float64(maxW) > slot*0.92
	row := -1
	if rotated {
		limit := int(0.3 * float64(H))
		for i := range labels {
			labels[i] = truncate(cv.f.tick, labels[i], limit)
		}
		maxW = 0
		for _, l := range labels {
			maxW = max(maxW, textWidth(cv.f.tick, l))
		}
		row = maxW
	}
	fr := cv.layout(layoutSpec{
		title: b.Title, xlabel: b.XLabel, ylabel: b.YLabel,
		ylo: ylo, yhi: yhi, xlo: 0, xhi: float64(n),
		xLabelRow: row,
	})
	fr.drawGrid()

	p := fr.plot
	slot = float64(p.Dx()) / float64(n)
	barW := math.Max(1, math.Min(slot*0.68, cv.px(110)))
	base := fr.y.pix(math.Max(ylo, math.Min(0, yhi)))
	def := b.Color
	if def == nil {
		def = PaletteColor(0)
	}
	type top struct {
		x, y float64
		ok   bool
	}
	tops := make([]top, n)
	for i, bar := range b.Bars {
		cx := float64(p.Min.X) + slot*(float64(i)+0.5)
		if !finite(bar.Value) {
			continue
		}
		col := bar.Color
		if col == nil {
			col = def
		}
		y := fr.y.pix(bar.Value)
		var pa path
		x0, x1 := math.Round(cx-barW/2), math.Round(cx+barW/2)
		if x1 <= x0 {
			x1 = x0 + 1
		}
		pa.rect(x0, math.Round(math.Min(y, base)), x1, math.Round(math.Max(y, base)))
		cv.fill(&pa, p, col)
		tops[i] = top{cx, y, true}
		if finite(bar.Err) && bar.Err > 0 {
			lo, hi := fr.y.pix(bar.Value-bar.Err), fr.y.pix(bar.Value+bar.Err)
			capW := math.Min(barW*0.35, cv.px(9))
			var e path
			e.segment(pt{cx, lo}, pt{cx, hi}, cv.px(1.5))
			e.segment(pt{cx - capW, lo}, pt{cx + capW, lo}, cv.px(1.5))
			e.segment(pt{cx - capW, hi}, pt{cx + capW, hi}, cv.px(1.5))
			cv.fill(&e, p, colErrBar)
			if bar.Value >= 0 {
				tops[i].y = math.Min(y, hi)
			} else {
				tops[i].y = math.Max(y, lo)
			}
		}
	}
	if base > float64(p.Min.Y) && base < float64(p.Max.Y-1) {
		r := fr.row(base)
		cv.fillRect(image.Rect(p.Min.X, r, p.Max.X, r+cv.ipx(1)), colAxis)
	}
	fr.drawRefLines(b.HLines)
	var valueBoxes []image.Rectangle
	var samples []pt
	for i, t := range tops {
		if !t.ok {
			continue
		}
		for x := t.x - barW/2; x <= t.x+barW/2; x += cv.px(4) {
			samples = append(samples, pt{x, t.y})
		}
		s := formatValue(b.Bars[i].Value)
		var box image.Rectangle
		if b.Bars[i].Value >= 0 {
			box = textBox(cv.f.small, s, t.x, t.y-cv.px(4), 0.5, 1)
		} else {
			box = textBox(cv.f.small, s, t.x, t.y+cv.px(4), 0.5, 0)
		}
		if float64(box.Dx()) > slot*0.95 || !box.In(p.Inset(cv.ipx(1))) {
			continue
		}
		cv.text(cv.f.small, s, float64(box.Min.X), float64(box.Min.Y), 0, 0, colLabel)
		valueBoxes = append(valueBoxes, box)
	}
	fr.drawRefLabels(b.HLines, fr.placeRefLabels(b.HLines, samples, valueBoxes))

	fr.drawAxes()
	// Category labels under the slots.
	tickLen, gap := cv.ipx(5), cv.px(4)
	for i, l := range labels {
		cx := float64(p.Min.X) + slot*(float64(i)+0.5)
		cv.fillRect(image.Rect(int(cx), p.Max.Y, int(cx)+cv.ipx(1), p.Max.Y+tickLen), colAxis)
		if rotated {
			cv.vtext(cv.f.tick, l, cx, float64(p.Max.Y+tickLen)+gap, 0.5, 0, colLabel)
		} else {
			cv.text(cv.f.tick, l, cx, float64(p.Max.Y+tickLen)+gap, 0.5, 0, colLabel)
		}
	}
	fr.drawLabels(b.Title, b.XLabel, b.YLabel)
	return cv.img, nil
}

// truncate shortens s with an ellipsis so that it is at most limit pixels wide.
func truncate(f font.Face, s string, limit int) string {
	if textWidth(f, s) <= limit {
		return s
	}
	r := []rune(s)
	for len(r) > 1 {
		r = r[:len(r)-1]
		if t := string(r) + "…"; textWidth(f, t) <= limit {
			return t
		}
	}
	return "…"
}

// WritePNG renders the bar chart and writes it to path atomically, as
// Chart.WritePNG does.
func (b *BarChart) WritePNG(path string) error {
	img, err := b.Render()
	if err != nil {
		return err
	}
	return writePNGFile(path, img)
}

// EncodePNG renders the bar chart and writes it to w as a PNG.
func (b *BarChart) EncodePNG(w io.Writer) error {
	img, err := b.Render()
	if err != nil {
		return err
	}
	return encodePNG(w, img)
}
