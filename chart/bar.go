package chart

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Bar is one bar of a BarChart.
type Bar struct {
	Label string
	Value float64
	// Err is the half-length of a symmetric error bar drawn over the bar
	// (Value-Err to Value+Err); zero, negative or NaN means none.
	Err float64
}

// BarChart is a vertical bar chart comparing labelled values, with optional
// error bars. Bars start at zero, and each bar's value is written above it.
// Long labels are turned vertical.
type BarChart struct {
	Title, XLabel, YLabel string
	Bars                  []Bar
	// Color is the colour of the bars; nil means PaletteColor(0).
	Color color.Color
	// HLines are labelled horizontal reference lines, drawn over the bars.
	HLines []Ref
	// Width and Height are the size of the chart (default 8×5 inches).
	Width, Height vg.Length
}

// WritePNG writes the bar chart to path as a PNG, atomically.
func (b *BarChart) WritePNG(path string) error { return writeFile(path, b, pngFormat) }

// WriteSVG writes the bar chart to path as an SVG, atomically.
func (b *BarChart) WriteSVG(path string) error { return writeFile(path, b, svgFormat) }

// figure builds the gonum plot. It fails when there are no bars or no bar
// has a finite value; a bar with a non-finite value keeps its slot and
// label but draws nothing.
func (b *BarChart) figure() (*plot.Plot, vg.Length, vg.Length, error) {
	n := len(b.Bars)
	if n == 0 {
		return nil, 0, 0, fmt.Errorf("%w: bar chart has no bars", errNoData)
	}
	values := make(plotter.Values, n)
	labels := make([]string, n)
	ov := &overlay{}
	var errXY plotter.XYs
	var errs plotter.YErrors
	some := false
	for i, bar := range b.Bars {
		labels[i] = bar.Label
		if !finite(bar.Value) {
			continue // a zero-height bar without outline: nothing
		}
		some = true
		values[i] = bar.Value
		top, align := bar.Value, draw.YBottom
		if finite(bar.Err) && bar.Err > 0 {
			errXY = append(errXY, plotter.XY{X: float64(i), Y: bar.Value})
			errs = append(errs, struct{ Low, High float64 }{bar.Err, bar.Err})
			top += math.Copysign(bar.Err, bar.Value)
		}
		off := vg.Points(3)
		if bar.Value < 0 {
			align, off = draw.YTop, -off
		}
		ov.values = append(ov.values, fixedLabel{float64(i), top, formatValue(bar.Value), align, off})
		ov.data = append(ov.data, sampled{[]plotter.XYs{{{X: float64(i) - 0.35, Y: top}, {X: float64(i) + 0.35, Y: top}}}, true})
	}
	if !some {
		return nil, 0, 0, fmt.Errorf("%w: no bar has a finite value", errNoData)
	}
	width, height := size(b.Width, b.Height)
	p := newPlot(b.Title, b.XLabel, b.YLabel, false, false)
	addGrid(p, false)
	slot := (width - vg.Inch) / vg.Length(n)
	maxW := vg.Length(0)
	for _, l := range labels {
		maxW = max(maxW, p.X.Tick.Label.Width(l))
	}
	rotate := false
	if maxW > 0.92*slot { // wrapped at spaces onto up to three lines, or else turned
		wrapped := make([]string, len(labels))
		for i, l := range labels {
			w, ok := wrapWords(p.X.Tick.Label, l, 0.92*slot, 3)
			if !ok {
				rotate = true
				break
			}
			wrapped[i] = w
		}
		if !rotate {
			labels = wrapped
		}
	}
	if rotate { // and shortened to a third of the height
		limit := height / 3
		for i, l := range labels {
			// gonum sets the end of a turned label a little above the
			// label row: two spaces keep it under the tick mark.
			labels[i] = truncate(p.X.Tick.Label, l, limit) + "  "
		}
	}
	p.NominalX(labels...)
	p.X.LineStyle.Width = vg.Points(0.75) // NominalX hides the axis line
	p.X.Tick.LineStyle = p.X.LineStyle    // and the ticks
	p.X.Tick.Length = vg.Points(4)
	p.X.Padding = 0 // bars stand on it
	if rotate {
		p.X.Tick.Label.Rotation = math.Pi / 2
		p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XRight, draw.YCenter
	}
	bars, err := plotter.NewBarChart(values, min(0.68*slot, 1.2*vg.Inch))
	if err != nil {
		return nil, 0, 0, fmt.Errorf("chart: %w", err)
	}
	bars.Color = b.Color
	if bars.Color == nil {
		bars.Color = PaletteColor(0)
	}
	bars.LineStyle.Width = 0
	p.Add(bars)
	if len(errs) > 0 {
		eb := &plotter.YErrorBars{XYs: errXY, YErrors: errs,
			LineStyle: draw.LineStyle{Color: colErrBar, Width: vg.Points(1.1)}, CapWidth: vg.Points(9)}
		p.Add(eb)
	}
	refs := &refLines{refs: b.HLines} // over the bars
	ov.refs = refs
	p.Add(refs, ov)
	// Whole slots, and headroom for the value labels.
	p.X.Min, p.X.Max, p.Y.Padding = -0.5, float64(n)-0.5, 0
	if d := p.Y.Max - p.Y.Min; d > 0 {
		if p.Y.Max > 0 {
			p.Y.Max += 0.1 * d
		}
		if p.Y.Min < 0 {
			p.Y.Min -= 0.1 * d
		}
	}
	return p, b.Width, b.Height, nil
}
