package chart

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// sampleLossChart is a typical training run: a noisy train loss logged every
// 10 steps, a validation loss every 250 steps and a reference line.
func sampleLossChart() *Chart {
	rng := rand.New(rand.NewPCG(1, 2))
	var ts, tl, vs, vl []float64
	for i := 0; i <= 500; i++ {
		step := float64(i * 10)
		base := 3.1 + 7.7*math.Exp(-step/350) + 0.9*math.Exp(-step/2500)
		ts = append(ts, step)
		tl = append(tl, base+rng.NormFloat64()*0.08*(1+base/6))
		if i%25 == 0 {
			vs = append(vs, step)
			vl = append(vl, base+0.06)
		}
	}
	return &Chart{
		Title:  "tiny-llama 42M · loss",
		XLabel: "step",
		YLabel: "cross-entropy loss",
		Series: []Series{
			{Name: "train", X: ts, Y: tl},
			{Name: "validation", X: vs, Y: vl, Style: LinePoints},
		},
		HLines: []Ref{{Y: 3.28, Label: "reference 3.28"}},
	}
}

// sampleScalingChart is validation loss against parameter count for a set
// of models, on a log x axis, with each point named.
func sampleScalingChart() *Chart {
	params := []float64{1.2e6, 3.5e6, 1.1e7, 2.9e7, 8.5e7, 1.24e8, 3.5e8}
	names := []string{"nano", "micro", "mini", "small-a", "small-b", "gpt2-124M", "gpt2-350M"}
	var got, ref []float64
	for i, p := range params {
		l := 1.7 + 120*math.Pow(p, -0.28)
		ref = append(ref, l)
		got = append(got, l*(1+0.02*math.Sin(float64(i)*1.7)))
	}
	var fx, fy []float64
	for e := 6.0; e <= 8.7; e += 0.05 {
		x := math.Pow(10, e)
		fx = append(fx, x)
		fy = append(fy, 1.7+120*math.Pow(x, -0.28))
	}
	return &Chart{
		Title:  "Validation loss vs model size",
		XLabel: "parameters",
		YLabel: "validation loss",
		LogX:   true,
		Series: []Series{
			{Name: "fit L = 1.7 + 120·N^-0.28", X: fx, Y: fy},
			{Name: "loom reproduction", X: params, Y: got, Style: Points, Labels: names},
			{Name: "paper", X: params, Y: ref, Style: Points},
		},
	}
}

// sampleMatFormerChart is loss against parameters of nested and independent
// models as repro/matformer draws it, on a log x axis with labelled points.
func sampleMatFormerChart() *Chart {
	ws := []float64{4.3e5, 5.3e5, 7.2e5, 1.11e6}
	nested := []float64{1.75, 1.73, 1.71, 1.70}
	indep := []float64{1.78, 1.74, 1.72, 1.70}
	sliced := []float64{6.1, 4.1, 2.31, 1.70}
	var mx, my []float64
	for i := range 16 {
		x := 4.5e5 + float64(i)*3.4e4
		mx, my = append(mx, x), append(my, 1.745-0.04*float64(i)/16+0.01*math.Sin(float64(i)))
	}
	return &Chart{Title: "MatFormer: validation loss vs parameters (2 seeds)", XLabel: "parameters", YLabel: "nats/byte", LogX: true, LogY: true,
		Series: []Series{
			{Name: "MatFormer submodels", X: ws, Y: nested, Style: LinePoints, Labels: []string{"S", "M", "L", "XL"}},
			{Name: "independently trained", X: ws, Y: indep, Style: Points},
			{Name: "Mix'n'Match", X: mx, Y: my, Style: Points},
			{Name: "conventional, sliced", X: ws, Y: sliced, Style: LinePoints, Labels: []string{"d/8", "d/4", "d/2", "d"}},
		}}
}

func sampleBarChart() *BarChart {
	return &BarChart{
		Title:  "PolyCom: validation loss after 800 steps (mean ± std, 3 seeds)",
		YLabel: "nats/byte",
		Bars: []Bar{
			{Label: "ReLU", Value: 1.712, Err: 0.011},
			{Label: "GELU", Value: 1.779, Err: 0.013},
			{Label: "SwiGLU", Value: 1.704, Err: 0.009},
			{Label: "PolyReLU", Value: 1.702, Err: 0.008},
			{Label: "PolyNorm", Value: 1.701, Err: 0.015},
		},
		HLines: []Ref{{Y: 1.65, Label: "paper 1.65"}},
	}
}

// sampleGrid is a FinerCut removal map: 12 layers × {attention, FFN}, the
// cells counting the seeds (of 3) that removed each sublayer.
func sampleGrid() *Grid {
	g := &Grid{Title: "FinerCut at 25 %: removals over 3 seeds", ColLabels: []string{"attention", "FFN"},
		Note: "numbers: seeds (of 3) removing the sublayer; seed 1000's order in the table",
		Cells: [][]string{{"", ""}, {"", "3"}, {"2", "2"}, {"", "2"}, {"", "1"}, {"", "3"},
			{"1", ""}, {"1", "3"}, {"", ""}, {"", ""}, {"", ""}, {"", ""}}}
	for i, cells := range g.Cells {
		g.RowLabels = append(g.RowLabels, "layer "+strconv.Itoa(i))
		g.Filled = append(g.Filled, []bool{cells[0] != "", cells[1] != ""})
	}
	return g
}

// sampleForecastChart is `loom forecast eval --plot` for two variates:
// history and actual future as a line, the forecast as line and points.
func sampleForecastChart() *Chart {
	rng := rand.New(rand.NewPCG(3, 4))
	c := &Chart{Title: "ETTh1.csv: test window 2785 (itransformer, lookback 96, horizon 96)", XLabel: "step (0 = first forecast)", YLabel: "value"}
	for k, name := range []string{"OT", "HUFL"} {
		var ax, ay, fx, fy []float64
		lvl := 4 + 6*float64(k)
		for t := -96; t < 96; t++ {
			v := lvl + 2*math.Sin(float64(t)/9+float64(k)) + 0.4*rng.NormFloat64()
			ax, ay = append(ax, float64(t)), append(ay, v)
			if t >= 0 {
				fx, fy = append(fx, float64(t)), append(fy, lvl+1.6*math.Sin(float64(t)/9+float64(k)+0.2))
			}
		}
		c.Series = append(c.Series,
			Series{Name: name + " (actual)", X: ax, Y: ay, Color: PaletteColor(k)},
			Series{Name: name + " (forecast)", X: fx, Y: fy, Style: LinePoints, Color: PaletteColor(k + 4)})
	}
	return c
}

// sampleDRAChart is repro/dra's plot: noisy targets as points, five fitted
// curves and an interval drawn as two point series.
func sampleDRAChart() *Chart {
	rng := rand.New(rand.NewPCG(5, 6))
	var x, r, bx, lo, hi []float64
	for n := range 201 {
		v := 1.9*float64(n) + 25*math.Sin(float64(n)/7)*float64(n)/100 + 8*rng.NormFloat64()
		x, r = append(x, float64(n)), append(r, v)
		if n > 120 {
			bx, lo, hi = append(bx, float64(n)), append(lo, v-60-20*rng.Float64()), append(hi, v+60+20*rng.Float64())
		}
	}
	c := &Chart{Title: "r(n): fits of seed 2000 (train n ≤ 120)", XLabel: "n", YLabel: "r(n)",
		Series: []Series{{Name: "r(n)", X: x, Y: r, Style: Points}}}
	acts := []string{"relu", "tanh", "snake", "polynorm", "dra"}
	for i, act := range acts {
		var y []float64
		for _, n := range x {
			switch {
			case n <= 120 || act == "relu":
				y = append(y, 1.75*n)
			case act == "tanh" || act == "polynorm":
				y = append(y, 210)
			default:
				y = append(y, 1.75*n-float64(i)*10+15*math.Sin(n/6))
			}
		}
		c.Series = append(c.Series, Series{Name: act, X: x, Y: y})
	}
	c.Series = append(c.Series,
		Series{Name: "DRA 90 % interval", X: bx, Y: lo, Style: Points},
		Series{X: bx, Y: hi, Style: Points, Color: PaletteColor(len(acts) + 1)})
	return c
}

// TestWriteSamples writes a sample of every chart kind loom draws (and some
// edge cases) to $CHART_SAMPLE_DIR for a person to look at; it is skipped
// when the variable is unset.
func TestWriteSamples(t *testing.T) {
	dir := os.Getenv("CHART_SAMPLE_DIR")
	if dir == "" {
		t.Skip("set CHART_SAMPLE_DIR to write sample charts")
	}
	nan := math.NaN()
	charts := map[string]interface {
		WritePNG(string) error
		WriteSVG(string) error
	}{
		"loss":        sampleLossChart(),
		"scaling":     sampleScalingChart(),
		"matformer":   sampleMatFormerChart(),
		"bars":        sampleBarChart(),
		"finercut":    sampleGrid(),
		"forecast":    sampleForecastChart(),
		"dra":         sampleDRAChart(),
		"edge-single": &Chart{Title: "one point", Series: []Series{{Name: "x", X: []float64{5}, Y: []float64{3}}}},
		"edge-gaps": &Chart{Title: "gaps", LogY: true, Series: []Series{{Name: "a", Y: []float64{10, 8, 6, nan, 5, 4, 3.5, math.Inf(1), 3.2, nan, 3, 2.9}},
			{Name: "b", Y: []float64{1e-3, 2e-2, 0.5, 1, 100}}}},
		"edge-bars": &BarChart{Title: "many", YLabel: "Δ loss", Bars: []Bar{
			{Label: "attention-free transformer variant", Value: 0.12}, {Label: "mixture of experts (8x)", Value: -0.05, Err: 0.02},
			{Label: "baseline", Value: 0}, {Label: "pruned 50% unstructured", Value: 0.31, Err: 0.04}, {Label: "nan", Value: nan},
			{Label: "GQA", Value: 0.01}, {Label: "MQA", Value: 0.04}, {Label: "ALiBi", Value: -0.02}, {Label: "NoPE", Value: 0.08},
		}},
	}
	for name, c := range charts {
		if err := c.WritePNG(filepath.Join(dir, name+".png")); err != nil {
			t.Fatal(name, err)
		}
		if err := c.WriteSVG(filepath.Join(dir, name+".svg")); err != nil {
			t.Fatal(name, err)
		}
	}
}
