package chart

import (
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// refLines is a plot.Plotter drawing the dashed horizontal reference lines
// (under the data; their labels are drawn by the overlay). Its data range
// keeps the lines in view.
type refLines struct {
	refs []Ref
	logY bool
}

// drawable reports whether reference line r can be drawn.
func (l *refLines) drawable(r Ref) bool { return finite(r.Y) && (!l.logY || r.Y > 0) }

func (l *refLines) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, xmax, ymin, ymax = math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, r := range l.refs {
		if l.drawable(r) {
			ymin, ymax = math.Min(ymin, r.Y), math.Max(ymax, r.Y)
		}
	}
	return xmin, xmax, ymin, ymax
}

func (l *refLines) Plot(c draw.Canvas, p *plot.Plot) {
	_, trY := p.Transforms(&c)
	for _, r := range l.refs {
		if !l.drawable(r) {
			continue
		}
		sty := draw.LineStyle{Color: refColor(r), Width: vg.Points(1), Dashes: []vg.Length{vg.Points(5), vg.Points(3)}}
		if y := trY(r.Y); c.ContainsY(y) {
			c.StrokeLine2(sty, c.Min.X, y, c.Max.X, y)
		}
	}
}

func refColor(r Ref) color.Color {
	if r.Color == nil {
		return colRef
	}
	return r.Color
}

// sampled is data the overlay keeps clear of: runs of points, joined by
// lines or not.
type sampled struct {
	runs  []plotter.XYs
	lines bool
}

// pointLabel is the text written next to one data point.
type pointLabel struct {
	x, y float64
	text string
}

// overlay is the last plot.Plotter of a chart: it writes the reference
// labels, the point labels and the legend, each where it covers the least
// data and no other label.
type overlay struct {
	refs   *refLines
	data   []sampled
	labels []pointLabel
	// values are labels drawn at fixed places (a bar's value), which the
	// other labels avoid.
	values []fixedLabel
	legend plot.Legend
}

// fixedLabel is text centred above (or below) a point, off away from it.
type fixedLabel struct {
	x, y  float64
	text  string
	align draw.YAlignment
	off   vg.Length
}

func (o *overlay) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	step := vg.Points(3)
	var samples []vg.Point
	for _, d := range o.data {
		for _, r := range d.runs {
			for i, xy := range r {
				a := vg.Point{X: trX(xy.X), Y: trY(xy.Y)}
				samples = append(samples, a)
				if !d.lines || i+1 == len(r) {
					continue
				}
				b := vg.Point{X: trX(r[i+1].X), Y: trY(r[i+1].Y)}
				l := vg.Length(math.Hypot(float64(b.X-a.X), float64(b.Y-a.Y)))
				for t := step; t < l; t += step {
					samples = append(samples, a.Add(b.Sub(a).Scale(t/l)))
				}
			}
		}
	}
	small := textStyle(sans, sizeSmall, colLabel)
	var placed []vg.Rectangle
	for _, v := range o.values {
		sty := small
		sty.XAlign, sty.YAlign = draw.XCenter, v.align
		pt := vg.Point{X: trX(v.x), Y: trY(v.y) + v.off}
		c.FillText(sty, pt, v.text)
		placed = append(placed, sty.Rectangle(v.text).Add(pt))
	}
	// Reference labels: at either end of their line, above or below it.
	gap := vg.Points(6)
	for _, r := range o.refs.refs {
		if r.Label == "" || !o.refs.drawable(r) || !c.ContainsY(trY(r.Y)) {
			continue
		}
		y := trY(r.Y)
		sty := small
		sty.Color = refColor(r)
		up, down := y+vg.Points(2), y-vg.Points(2.5)
		right, left := c.Max.X-gap, c.Min.X+gap
		cands := []candidate{ // right end above the line first
			{vg.Point{X: right, Y: up}, draw.XRight, draw.YBottom},
			{vg.Point{X: left, Y: up}, draw.XLeft, draw.YBottom},
			{vg.Point{X: right, Y: down}, draw.XRight, draw.YTop},
			{vg.Point{X: left, Y: down}, draw.XLeft, draw.YTop},
		}
		placed = append(placed, place(c, sty, r.Label, cands, samples, placed, true))
	}
	// Point labels: beside the point, in the direction that hides least.
	for _, l := range o.labels {
		pt := vg.Point{X: trX(l.x), Y: trY(l.y)}
		d, dy := vg.Points(5), vg.Points(2.5)
		cands := []candidate{
			{vg.Point{X: pt.X + d, Y: pt.Y + dy}, draw.XLeft, draw.YBottom},
			{vg.Point{X: pt.X + d, Y: pt.Y - dy}, draw.XLeft, draw.YTop},
			{vg.Point{X: pt.X - d, Y: pt.Y + dy}, draw.XRight, draw.YBottom},
			{vg.Point{X: pt.X - d, Y: pt.Y - dy}, draw.XRight, draw.YTop},
			{vg.Point{X: pt.X, Y: pt.Y + d}, draw.XCenter, draw.YBottom},
			{vg.Point{X: pt.X, Y: pt.Y - d}, draw.XCenter, draw.YTop},
		}
		placed = append(placed, place(c, small, l.text, cands, samples, placed, false))
	}
	o.drawLegend(c, samples, placed)
}

// candidate is a place a label may go: an anchor and an alignment.
type candidate struct {
	at vg.Point
	xa draw.XAlignment
	ya draw.YAlignment
}

// place writes txt at the candidate place that covers the fewest samples
// and no placed box (the first on ties), on a white patch if patch, and
// returns its box.
func place(c draw.Canvas, sty text.Style, txt string, cands []candidate, samples []vg.Point, placed []vg.Rectangle, patch bool) vg.Rectangle {
	boxes := make([]vg.Rectangle, len(cands))
	for i, cd := range cands {
		s := sty
		s.XAlign, s.YAlign = cd.xa, cd.ya
		boxes[i] = s.Rectangle(txt).Add(cd.at)
	}
	i := best(c, boxes, samples, placed)
	sty.XAlign, sty.YAlign = cands[i].xa, cands[i].ya
	if patch {
		fillRect(c, grow(boxes[i], vg.Points(1.5)), colPatch)
	}
	c.FillText(sty, cands[i].at, txt)
	return boxes[i]
}

// best returns the index of the box that covers the fewest samples, with
// a large penalty for each point it reaches out of the canvas and a larger
// one for each placed box it overlaps (the first on ties).
func best(c draw.Canvas, boxes []vg.Rectangle, samples []vg.Point, placed []vg.Rectangle) int {
	bi, bs := 0, math.MaxInt
	for i, b := range boxes {
		g := grow(b, vg.Points(1.5))
		// Points outside the canvas, which may be unavoidable at its edge.
		out := max(0, c.Min.X-b.Min.X) + max(0, b.Max.X-c.Max.X) + max(0, c.Min.Y-b.Min.Y) + max(0, b.Max.Y-c.Max.Y)
		s := int(math.Ceil(float64(out))) << 14
		for _, p := range samples {
			if p.X >= g.Min.X && p.X <= g.Max.X && p.Y >= g.Min.Y && p.Y <= g.Max.Y {
				s++
			}
		}
		for _, q := range placed {
			if g.Min.X < q.Max.X && q.Min.X < g.Max.X && g.Min.Y < q.Max.Y && q.Min.Y < g.Max.Y {
				s += 1 << 20
			}
		}
		if s < bs {
			bi, bs = i, s
		}
	}
	return bi
}

func grow(r vg.Rectangle, d vg.Length) vg.Rectangle {
	return vg.Rectangle{Min: vg.Point{X: r.Min.X - d, Y: r.Min.Y - d}, Max: vg.Point{X: r.Max.X + d, Y: r.Max.Y + d}}
}

func fillRect(c draw.Canvas, r vg.Rectangle, col color.Color) {
	c.SetColor(col)
	c.Fill(r.Path())
}

// drawLegend draws the legend in a white box inside the plot, in the
// corner (top right first) that covers the least data and no label.
func (o *overlay) drawLegend(c draw.Canvas, samples []vg.Point, placed []vg.Rectangle) {
	l := &o.legend
	l.TextStyle = textStyle(sans, sizeSmall+0.5, colLabel)
	l.ThumbnailWidth = vg.Points(22)
	l.Padding = vg.Points(3)
	l.Top, l.Left = true, true
	l.YPosition = draw.PosBottom
	r := l.Rectangle(c)
	if r.Size().X == 0 {
		return // no named series
	}
	pad, inset := vg.Points(6), vg.Points(6)
	w := r.Size().X + 2*pad
	h := r.Size().Y + l.TextStyle.FontExtents().Descent + 2*pad
	at := func(x, y vg.Length) vg.Rectangle { // box with lower left corner (x, y)
		return vg.Rectangle{Min: vg.Point{X: x, Y: y}, Max: vg.Point{X: x + w, Y: y + h}}
	}
	left, right := c.Min.X+inset, c.Max.X-inset-w
	bottom, top := c.Min.Y+inset, c.Max.Y-inset-h
	boxes := []vg.Rectangle{
		at(right, top), at(left, top), at(right, bottom), at(left, bottom),
		at((c.Min.X+c.Max.X-w)/2, top), at(right, (c.Min.Y+c.Max.Y-h)/2),
	}
	b := boxes[best(c, boxes, samples, placed)]
	fillRect(c, b, colPatch)
	c.StrokeLines(draw.LineStyle{Color: colEdge, Width: vg.Points(0.75)},
		[]vg.Point{b.Min, {X: b.Max.X, Y: b.Min.Y}, b.Max, {X: b.Min.X, Y: b.Max.Y}, b.Min})
	l.Draw(draw.Canvas{Canvas: c.Canvas, Rectangle: grow(b, -pad)})
}
