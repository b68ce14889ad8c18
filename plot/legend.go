package plot

import (
	"image"
	"image/color"
	"math"
)

type legendEntry struct {
	name   string
	col    color.Color
	style  Style
	marker int
}

// drawLegend draws a legend box inside the plot, in the corner (top-right
// first) that covers the fewest data samples and reference labels.
func (fr *frame) drawLegend(entries []legendEntry, samples []pt, avoid []image.Rectangle) {
	if len(entries) == 0 {
		return
	}
	c, p := fr.c, fr.plot
	pad := c.px(9)
	swatch := c.px(28)
	gap := c.px(8)
	rowH := float64(textHeight(c.f.legend)) + c.px(5)
	textW := 0
	for _, e := range entries {
		textW = max(textW, textWidth(c.f.legend, e.name))
	}
	w := int(math.Ceil(2*pad + swatch + gap + float64(textW)))
	h := int(math.Ceil(2*pad + rowH*float64(len(entries)) - c.px(5)))
	inset := c.ipx(10)

	type cand struct{ x, y int }
	cands := []cand{
		{p.Max.X - inset - w, p.Min.Y + inset}, // top right
		{p.Min.X + inset, p.Min.Y + inset},     // top left
		{p.Max.X - inset - w, p.Max.Y - inset - h},
		{p.Min.X + inset, p.Max.Y - inset - h},
		{(p.Min.X+p.Max.X)/2 - w/2, p.Min.Y + inset}, // top centre
		{p.Max.X - inset - w, (p.Min.Y+p.Max.Y)/2 - h/2},
	}
	rects := make([]image.Rectangle, len(cands))
	for i, cd := range cands {
		rects[i] = image.Rect(cd.x, cd.y, cd.x+w, cd.y+h)
	}
	box := bestBox(rects, p, samples, avoid, c.ipx(3))
	x0, y0 := box.Min.X, box.Min.Y
	c.fillRect(box, colLegendBox)
	lw := c.ipx(1)
	c.fillRect(image.Rect(box.Min.X, box.Min.Y, box.Max.X, box.Min.Y+lw), colLegendEdge)
	c.fillRect(image.Rect(box.Min.X, box.Max.Y-lw, box.Max.X, box.Max.Y), colLegendEdge)
	c.fillRect(image.Rect(box.Min.X, box.Min.Y, box.Min.X+lw, box.Max.Y), colLegendEdge)
	c.fillRect(image.Rect(box.Max.X-lw, box.Min.Y, box.Max.X, box.Max.Y), colLegendEdge)

	for i, e := range entries {
		cy := float64(y0) + pad + rowH*float64(i) + float64(textHeight(c.f.legend))/2
		sx0, sx1 := float64(x0)+pad, float64(x0)+pad+swatch
		if e.style != Points {
			var pa path
			pa.segment(pt{sx0, cy}, pt{sx1, cy}, c.px(2))
			c.fill(&pa, box, e.col)
		}
		if e.style != Line {
			var halo, pa path
			m := pt{(sx0 + sx1) / 2, cy}
			halo.marker(e.marker, m, c.px(3.6)+c.px(1.2))
			pa.marker(e.marker, m, c.px(3.6))
			c.fill(&halo, box, colBackground)
			c.fill(&pa, box, e.col)
		}
		c.text(c.f.legend, e.name, sx1+gap, cy, 0, 0.5, colLabel)
	}
}
