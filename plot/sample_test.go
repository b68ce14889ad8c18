package plot

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// sampleLossChart is a typical training run: a noisy train loss logged every
// 10 steps and a validation loss every 250 steps.
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
// of reproductions, on a log x axis.
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

func sampleBarChart() *BarChart {
	return &BarChart{
		Title:  "Validation loss after 5k steps",
		YLabel: "validation loss",
		Bars: []Bar{
			{Label: "baseline", Value: 3.412, Err: 0.021},
			{Label: "SwiGLU", Value: 3.351, Err: 0.018},
			{Label: "RMSNorm", Value: 3.398, Err: 0.025},
			{Label: "RoPE", Value: 3.322, Err: 0.015},
			{Label: "all three", Value: 3.281, Err: 0.019},
		},
		HLines: []Ref{{Y: 3.3, Label: "paper 3.30"}},
	}
}

// TestWriteSamples writes the sample charts (and some edge cases) to $PLOT_SAMPLE_DIR for a person
// to look at; it is skipped when the variable is unset.
func TestWriteSamples(t *testing.T) {
	dir := os.Getenv("PLOT_SAMPLE_DIR")
	if dir == "" {
		t.Skip("set PLOT_SAMPLE_DIR to write sample charts")
	}
	nan := math.NaN()
	charts := map[string]interface{ WritePNG(string) error }{
		"plot_sample_1.png": sampleLossChart(),
		"plot_sample_2.png": sampleScalingChart(),
		"plot_sample_3.png": sampleBarChart(),
		"edge_single.png":   &Chart{Title: "one point", Series: []Series{{Name: "x", X: []float64{5}, Y: []float64{3}}}},
		"edge_flat.png":     &Chart{Title: "flat", XLabel: "step", YLabel: "loss", Series: []Series{{X: []float64{0, 1, 2, 3}, Y: []float64{2, 2, 2, 2}, Style: LinePoints}}},
		"edge_gaps.png":     &Chart{Title: "gaps", LogY: true, Series: []Series{{Name: "a", Y: []float64{10, 8, 6, nan, 5, 4, 3.5, math.Inf(1), 3.2, nan, 3, 2.9}}, {Name: "b", Y: []float64{1e-3, 2e-2, 0.5, 1, 100}}}},
		"edge_small.png":    &Chart{Title: "small chart", XLabel: "tokens", YLabel: "loss", Width: 480, Height: 300, Series: []Series{{Name: "train", X: []float64{0, 1e8, 2e8, 3e8, 4e8}, Y: []float64{10, 5, 4, 3.6, 3.4}}}},
		"edge_big.png":      func() *Chart { c := sampleLossChart(); c.Width, c.Height = 1800, 1120; c.LogY = true; return c }(),
		"edge_bars.png": &BarChart{Title: "many", YLabel: "Δ loss", Bars: []Bar{
			{Label: "attention-free transformer variant", Value: 0.12}, {Label: "mixture of experts (8x)", Value: -0.05, Err: 0.02},
			{Label: "baseline", Value: 0}, {Label: "pruned 50% unstructured", Value: 0.31, Err: 0.04}, {Label: "nan", Value: nan},
			{Label: "GQA", Value: 0.01}, {Label: "MQA", Value: 0.04}, {Label: "ALiBi", Value: -0.02}, {Label: "NoPE", Value: 0.08},
		}},
	}
	for name, c := range charts {
		if err := c.WritePNG(filepath.Join(dir, name)); err != nil {
			t.Fatal(name, err)
		}
	}
}
