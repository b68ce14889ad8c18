package chart

import (
	"errors"
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// errNoData is returned (wrapped) when there is nothing to draw.
var errNoData = errors.New("chart: no data to plot")

// Style says how a Series is drawn.
type Style int

const (
	// Line joins consecutive points with a line. An isolated point (one
	// with non-finite neighbours) is drawn as a dot.
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

// Ref is a horizontal reference line drawn dashed across the plot, such
// as a paper's reported loss, a baseline or a target. Its label, if any, is
// written at one end of the line, above or below it, wherever it hides the
// least data.
type Ref struct {
	Y     float64
	Label string
	Color color.Color // nil means dark grey
}

// Chart is a line or scatter chart of one or more series on numeric axes.
// The axes fit the data and the reference lines.
type Chart struct {
	Title, XLabel, YLabel string
	// LogX and LogY make the axes logarithmic (base 10).
	LogX, LogY bool
	Series     []Series
	// HLines are labelled horizontal reference lines.
	HLines []Ref
	// Width and Height are the size of the chart (default 8×5 inches,
	// rendered at 120 dots per inch in PNG).
	Width, Height vg.Length
}

// WritePNG writes the chart to path as a PNG, atomically (see package doc).
func (c *Chart) WritePNG(path string) error { return writeFile(path, c, pngFormat) }

// WriteSVG writes the chart to path as an SVG, atomically.
func (c *Chart) WriteSVG(path string) error { return writeFile(path, c, svgFormat) }

// figure builds the gonum plot. It fails when there is nothing to draw (no
// series, or no drawable point in any), when a series' X and Y lengths
// differ or its style is unknown.
func (c *Chart) figure() (*plot.Plot, vg.Length, vg.Length, error) {
	if len(c.Series) == 0 {
		return nil, 0, 0, fmt.Errorf("%w: chart has no series", errNoData)
	}
	ok := func(v float64, log bool) bool { return finite(v) && (!log || v > 0) }
	p := newPlot(c.Title, c.XLabel, c.YLabel, c.LogX, c.LogY)
	addGrid(p, true)
	refs := &refLines{refs: c.HLines, logY: c.LogY}
	p.Add(refs)
	ov := &overlay{refs: refs}
	total := 0
	var plotters []plot.Plotter // the data, added after the reference lines
	for i := range c.Series {
		s := &c.Series[i]
		if s.X != nil && len(s.X) != len(s.Y) {
			return nil, 0, 0, fmt.Errorf("chart: series %d (%q) has %d x values and %d y values", i, s.Name, len(s.X), len(s.Y))
		}
		if s.Style < Line || s.Style > LinePoints {
			return nil, 0, 0, fmt.Errorf("chart: series %d (%q) has unknown style %d", i, s.Name, s.Style)
		}
		col := s.Color
		if col == nil {
			col = PaletteColor(i)
		}
		ls := draw.LineStyle{Color: col, Width: vg.Points(1.3)}
		gs := marker(i, col)
		// Split the finite points into runs at the gaps.
		var runs []plotter.XYs
		var run, all plotter.XYs
		for j, y := range s.Y {
			x := float64(j)
			if s.X != nil {
				x = s.X[j]
			}
			if !ok(x, c.LogX) || !ok(y, c.LogY) {
				if len(run) > 0 {
					runs, run = append(runs, run), nil
				}
				continue
			}
			run = append(run, plotter.XY{X: x, Y: y})
			all = append(all, plotter.XY{X: x, Y: y})
			if j < len(s.Labels) && s.Labels[j] != "" {
				ov.labels = append(ov.labels, pointLabel{x, y, s.Labels[j]})
			}
		}
		if len(run) > 0 {
			runs = append(runs, run)
		}
		if len(all) == 0 {
			continue
		}
		total += len(all)
		var thumbs []plot.Thumbnailer
		if s.Style != Points {
			var dots plotter.XYs // isolated points of a line
			for _, r := range runs {
				if len(r) == 1 && s.Style == Line {
					dots = append(dots, r[0])
					continue
				}
				plotters = append(plotters, &plotter.Line{XYs: decimate(r, c.LogX), LineStyle: ls})
			}
			if len(dots) > 0 {
				plotters = append(plotters, &plotter.Scatter{XYs: dots, GlyphStyle: draw.GlyphStyle{Color: col, Radius: ls.Width * 1.4, Shape: draw.CircleGlyph{}}})
			}
			thumbs = append(thumbs, &plotter.Line{LineStyle: ls})
			ov.data = append(ov.data, sampled{runs, true})
		}
		if s.Style != Line {
			plotters = append(plotters, &plotter.Scatter{XYs: all, GlyphStyle: gs})
			thumbs = append(thumbs, &plotter.Scatter{GlyphStyle: gs})
			ov.data = append(ov.data, sampled{[]plotter.XYs{all}, false})
		}
		if s.Name != "" {
			ov.legend.Add(s.Name, thumbs...)
		}
	}
	if total == 0 {
		why := "every value is NaN or infinite"
		if c.LogX || c.LogY {
			why += ", or not positive on a log axis"
		}
		return nil, 0, 0, fmt.Errorf("%w: no series has a drawable point (%s)", errNoData, why)
	}
	p.Add(plotters...)
	p.Add(ov)
	pad(&p.X, c.LogX, 0.02)
	pad(&p.Y, c.LogY, 0.04)
	return p, c.Width, c.Height, nil
}

// pad widens an axis by frac of its span on each side (in log space on a
// log axis), so that no data sits on the axis lines; an axis holding a
// single value gets a range around it (on a log axis a decade: gonum would
// widen it by ±1, which can reach zero).
func pad(a *plot.Axis, log bool, frac float64) {
	a.Padding = 0
	lo, hi := a.Min, a.Max
	if log {
		lo, hi = math.Log10(lo), math.Log10(hi)
	}
	switch d := hi - lo; {
	case d > 0:
		lo, hi = lo-frac*d, hi+frac*d
	case log:
		lo, hi = lo-0.5, hi+0.5
	case lo == 0:
		lo, hi = -1, 1
	default:
		lo, hi = lo-0.1*math.Abs(lo), hi+0.1*math.Abs(hi)
	}
	if log {
		lo, hi = math.Pow(10, lo), math.Pow(10, hi)
	}
	a.Min, a.Max = lo, hi
}

// decimate thins a line of more than 4·columns points to at most four per
// column (first, lowest, highest, last, in their order), columns being
// equal slices of its x range (on a log axis, of log x) about a pixel wide,
// so it draws the same envelope; the rasteriser is slow on long paths. Only
// lines whose x never decreases (a loss curve) are thinned.
func decimate(r plotter.XYs, log bool) plotter.XYs {
	const columns = 1000
	if len(r) <= 4*columns {
		return r
	}
	x := func(i int) float64 {
		if log {
			return math.Log10(r[i].X)
		}
		return r[i].X
	}
	for i := 1; i < len(r); i++ {
		if r[i].X < r[i-1].X {
			return r
		}
	}
	lo, hi := x(0), x(len(r)-1)
	if hi == lo {
		return r
	}
	col := func(i int) int { return int(columns * (x(i) - lo) / (hi - lo)) }
	out := make(plotter.XYs, 0, 4*columns+4)
	for i := 0; i < len(r); {
		j, k := i, col(i)
		mn, mx := i, i
		for ; j < len(r) && col(j) == k; j++ {
			if r[j].Y < r[mn].Y {
				mn = j
			}
			if r[j].Y > r[mx].Y {
				mx = j
			}
		}
		prev := -1
		for _, k := range []int{i, min(mn, mx), max(mn, mx), j - 1} {
			if k != prev {
				out = append(out, r[k])
				prev = k
			}
		}
		i = j
	}
	return out
}
