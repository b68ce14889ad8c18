package plot

import (
	"fmt"
	"image"
	"image/color"
	"io"
	"math"
)

// Style says how a Series is drawn.
type Style int

const (
	// Line joins consecutive points with a 2 px anti-aliased line. An
	// isolated point (one with non-finite neighbours) is drawn as a dot.
	Line Style = iota
	// Points draws a marker at every point (a scatter plot).
	Points
	// LinePoints draws both the line and the markers.
	LinePoints
)

// Series is one set of (x, y) points of a Chart.
//
// Points with a NaN or infinite coordinate, or a non-positive one on a log
// axis, are skipped; a Line breaks there, leaving a gap.
type Series struct {
	// Name labels the series in the legend; unnamed series are left out of
	// it, and a chart with no named series has no legend.
	Name string
	// X and Y are the coordinates. Y must have the same length as X, or X
	// may be nil, in which case the points are at x = 0, 1, 2, ...
	X, Y []float64
	// Style is Line (the zero value), Points or LinePoints.
	Style Style
	// Color is the series colour; nil means PaletteColor(i) for the i-th
	// series of the chart.
	Color color.Color
	// Labels optionally annotates points: Labels[i], if not empty, is
	// written next to point i (for example a model name on a scaling plot).
	Labels []string
}

// Chart is a line or scatter chart of one or more series on numeric axes.
//
// The zero value of every field but Series is usable: the size defaults to
// 900x560 and the axis ranges are fitted to the data.
type Chart struct {
	Title, XLabel, YLabel string
	// LogX and LogY make the axes logarithmic (base 10, with ticks at powers
	// of ten where the range allows).
	LogX, LogY bool
	// XRange and YRange fix the axis ranges; the zero Range fits the data.
	// Data outside a fixed range is clipped.
	XRange, YRange Range
	Series         []Series
	// HLines are labelled horizontal reference lines. With an automatic Y
	// range they are kept in view.
	HLines []Ref
	// Width and Height are the image size in pixels (default 900x560).
	// Text, lines and margins scale with the image area, so a 1800x1120
	// chart looks like the default one at twice the resolution.
	Width, Height int
}

// series prepared for drawing: the finite points in data space, split into
// runs at gaps.
type prepSeries struct {
	idx    int
	s      *Series
	col    color.Color
	runs   [][][2]float64
	labels []labelAt
	n      int
}

type labelAt struct {
	x, y float64
	text string
}

func (c *Chart) prepare() ([]prepSeries, extent, extent, error) {
	var ex, ey extent
	if len(c.Series) == 0 {
		return nil, ex, ey, fmt.Errorf("%w: chart has no series", errNoData)
	}
	if err := c.XRange.check("X", c.LogX); err != nil {
		return nil, ex, ey, err
	}
	if err := c.YRange.check("Y", c.LogY); err != nil {
		return nil, ex, ey, err
	}
	ok := func(v float64, log bool) bool { return finite(v) && (!log || v > 0) }
	var out []prepSeries
	total := 0
	for i := range c.Series {
		s := &c.Series[i]
		if s.X != nil && len(s.X) != len(s.Y) {
			return nil, ex, ey, fmt.Errorf("plot: series %d (%q) has %d x values and %d y values", i, s.Name, len(s.X), len(s.Y))
		}
		if s.Style < Line || s.Style > LinePoints {
			return nil, ex, ey, fmt.Errorf("plot: series %d (%q) has unknown style %d", i, s.Name, s.Style)
		}
		p := prepSeries{idx: i, s: s, col: s.Color}
		if p.col == nil {
			p.col = PaletteColor(i)
		}
		var run [][2]float64
		for j, y := range s.Y {
			x := float64(j)
			if s.X != nil {
				x = s.X[j]
			}
			if !ok(x, c.LogX) || !ok(y, c.LogY) {
				if len(run) > 0 {
					p.runs = append(p.runs, run)
					run = nil
				}
				continue
			}
			run = append(run, [2]float64{x, y})
			p.n++
			ex.add(x)
			ey.add(y)
			if j < len(s.Labels) && s.Labels[j] != "" {
				p.labels = append(p.labels, labelAt{x, y, s.Labels[j]})
			}
		}
		if len(run) > 0 {
			p.runs = append(p.runs, run)
		}
		total += p.n
		out = append(out, p)
	}
	if total == 0 {
		why := "every value is NaN or infinite"
		if c.LogX || c.LogY {
			why += ", or not positive on a log axis"
		}
		return nil, ex, ey, fmt.Errorf("%w: no series has a drawable point (%s)", errNoData, why)
	}
	for _, r := range c.HLines {
		if ok(r.Y, c.LogY) {
			ey.add(r.Y)
		}
	}
	return out, ex, ey, nil
}

// Render draws the chart. It returns an error, and no image, when there is
// nothing to draw (no series, or no finite point in any series), when a
// series' X and Y lengths differ, or when the size or a fixed range is
// invalid.
func (c *Chart) Render() (*image.RGBA, error) {
	img, _, err := c.render()
	return img, err
}

// render is Render, also returning the layout (for tests).
func (c *Chart) render() (*image.RGBA, *frame, error) {
	W, H, err := size(c.Width, c.Height)
	if err != nil {
		return nil, nil, err
	}
	series, ex, ey, err := c.prepare()
	if err != nil {
		return nil, nil, err
	}
	xlo, xhi := span(ex, c.XRange, c.LogX, 0.03)
	ylo, yhi := span(ey, c.YRange, c.LogY, 0.05)

	cv, err := newCanvas(W, H)
	if err != nil {
		return nil, nil, err
	}
	fr := cv.layout(layoutSpec{
		title: c.Title, xlabel: c.XLabel, ylabel: c.YLabel,
		ylo: ylo, yhi: yhi, ylog: c.LogY,
		numericX: true, xlo: xlo, xhi: xhi, xlog: c.LogX,
		xLabelRow: -1,
	})
	fr.drawGrid()
	fr.drawRefLines(c.HLines)

	p := fr.plot
	lw := cv.px(2)
	mr := cv.px(3.6)
	var samples []pt // where the data is, for legend placement
	pix := make([][][]pt, len(series))
	for k, s := range series {
		for _, run := range s.runs {
			q := make([]pt, len(run))
			for i, d := range run {
				q[i] = pt{fr.x.pix(d[0]), fr.y.pix(d[1])}
			}
			if s.s.Style == Line && len(q) > 4*p.Dx() {
				q = decimate(q)
			}
			pix[k] = append(pix[k], q)
			samples = appendSamples(samples, q, s.s.Style != Points, cv.px(6))
		}
	}
	for k, s := range series {
		if s.s.Style == Points {
			continue
		}
		var pa path
		for _, q := range pix[k] {
			if len(q) == 1 && s.s.Style == Line {
				pa.circle(q[0], mr*0.9) // an isolated point: a dot, not a speck
				continue
			}
			pa.polyline(q, lw, p)
		}
		cv.fill(&pa, p, s.col)
	}
	for k, s := range series {
		if s.s.Style == Line {
			continue
		}
		var halo, pa path
		for _, q := range pix[k] {
			for _, m := range q {
				halo.marker(k, m, mr+cv.px(1.2))
				pa.marker(k, m, mr)
			}
		}
		cv.fill(&halo, p, colBackground)
		cv.fill(&pa, p, s.col)
	}
	refBoxes := fr.placeRefLabels(c.HLines, samples, nil)
	fr.drawRefLabels(c.HLines, refBoxes)
	avoid := refBoxes
	for _, s := range series {
		for _, l := range s.labels {
			box := fr.placePointLabel(l, samples, avoid)
			cv.text(cv.f.small, l.text, float64(box.Min.X), float64(box.Min.Y), 0, 0, colLabel)
			avoid = append(avoid, box)
		}
	}

	var entries []legendEntry
	for k, s := range series {
		if s.s.Name != "" && s.n > 0 {
			entries = append(entries, legendEntry{name: s.s.Name, col: s.col, style: s.s.Style, marker: k})
		}
	}
	fr.drawLegend(entries, samples, avoid)
	fr.drawAxes()
	fr.drawLabels(c.Title, c.XLabel, c.YLabel)
	return cv.img, fr, nil
}

// placePointLabel chooses where the label of a point goes: beside it in the
// direction that covers the least data and no other label.
func (fr *frame) placePointLabel(l labelAt, samples []pt, avoid []image.Rectangle) image.Rectangle {
	c := fr.c
	x, y := fr.x.pix(l.x), fr.y.pix(l.y)
	d, dy := c.px(7), c.px(4)
	f := c.f.small
	cands := []image.Rectangle{
		textBox(f, l.text, x+d, y-dy, 0, 1),    // above right
		textBox(f, l.text, x+d, y+dy, 0, 0),    // below right
		textBox(f, l.text, x-d, y-dy, 1, 1),    // above left
		textBox(f, l.text, x-d, y+dy, 1, 0),    // below left
		textBox(f, l.text, x+d*1.3, y, 0, 0.5), // right
		textBox(f, l.text, x-d*1.3, y, 1, 0.5), // left
		textBox(f, l.text, x, y-d*1.2, 0.5, 1), // above
		textBox(f, l.text, x, y+d*1.2, 0.5, 0), // below
	}
	return bestBox(cands, fr.plot, samples, avoid, c.ipx(2))
}

// decimate thins a dense polyline to at most four points per pixel column
// (first, lowest, highest, last, in their original order), which draws the
// same envelope as the full line.
func decimate(q []pt) []pt {
	out := make([]pt, 0, 1024)
	for i := 0; i < len(q); {
		col := math.Floor(q[i].x)
		j := i
		lo, hi := i, i
		for j < len(q) && math.Floor(q[j].x) == col {
			if q[j].y < q[lo].y {
				lo = j
			}
			if q[j].y > q[hi].y {
				hi = j
			}
			j++
		}
		idx := []int{i, lo, hi, j - 1}
		if lo > hi {
			idx[1], idx[2] = hi, lo
		}
		prev := -1
		for _, k := range idx {
			if k != prev {
				out = append(out, q[k])
				prev = k
			}
		}
		i = j
	}
	return out
}

// appendSamples records points along q (every step pixels along lines) for
// legend placement.
func appendSamples(dst, q []pt, lines bool, step float64) []pt {
	for i, a := range q {
		dst = append(dst, a)
		if !lines || i+1 == len(q) {
			continue
		}
		b := q[i+1]
		l := math.Hypot(b.x-a.x, b.y-a.y)
		for t := step; t < l; t += step {
			f := t / l
			dst = append(dst, pt{a.x + f*(b.x-a.x), a.y + f*(b.y-a.y)})
		}
	}
	return dst
}

// WritePNG renders the chart and writes it to path as a PNG, atomically: the
// image goes to a temporary file in the same directory that is renamed over
// path only once complete, so path never holds a partial image, and nothing
// is left behind on failure.
func (c *Chart) WritePNG(path string) error {
	img, err := c.Render()
	if err != nil {
		return err
	}
	return writePNGFile(path, img)
}

// EncodePNG renders the chart and writes it to w as a PNG (for embedding in
// a page or an HTTP response).
func (c *Chart) EncodePNG(w io.Writer) error {
	img, err := c.Render()
	if err != nil {
		return err
	}
	return encodePNG(w, img)
}
