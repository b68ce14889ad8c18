package chart_test

import (
	"bytes"
	"fmt"
	"image/png"
	"log"
	"math"
	"os"
	"path/filepath"

	"gonum.org/v1/plot/vg"

	"github.com/loomml/loom/chart"
)

// A training loss curve with a validation series and a reference line,
// written to a PNG file and read back.
func ExampleChart_WritePNG() {
	var steps, train, valSteps, val []float64
	for s := 0; s <= 2000; s += 10 {
		l := 3 + 8*math.Exp(-float64(s)/300)
		steps = append(steps, float64(s))
		train = append(train, l+0.05*math.Sin(float64(s)))
		if s%200 == 0 {
			valSteps = append(valSteps, float64(s))
			val = append(val, l+0.05)
		}
	}
	c := &chart.Chart{
		Title:  "loss",
		XLabel: "step",
		YLabel: "loss",
		Series: []chart.Series{
			{Name: "train", X: steps, Y: train},
			{Name: "validation", X: valSteps, Y: val, Style: chart.LinePoints},
		},
		HLines: []chart.Ref{{Y: 3.1, Label: "target 3.1"}},
	}
	dir, err := os.MkdirTemp("", "chart-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "loss.png")
	if err := c.WritePNG(path); err != nil {
		log.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(img.Bounds().Dx(), "x", img.Bounds().Dy())
	// Output: 960 x 600
}

// A bar chart with error bars, 5×3.5 inches.
func ExampleBarChart() {
	b := &chart.BarChart{
		Title:  "Validation loss at 5k steps",
		YLabel: "loss",
		Bars: []chart.Bar{
			{Label: "baseline", Value: 3.41, Err: 0.02},
			{Label: "SwiGLU", Value: 3.35, Err: 0.02},
			{Label: "RoPE", Value: 3.32, Err: 0.015},
		},
		Width: 5 * vg.Inch, Height: 3.5 * vg.Inch,
	}
	var buf bytes.Buffer
	if err := chart.EncodePNG(&buf, b); err != nil {
		log.Fatal(err)
	}
	cfg, err := png.DecodeConfig(&buf)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cfg.Width, "x", cfg.Height)
	// Output: 600 x 420
}

// A pruning map: which sublayers of each layer were removed, and when.
func ExampleGrid() {
	g := &chart.Grid{
		Title:     "2 of 8 sublayers removed",
		RowLabels: []string{"layer 0", "layer 1", "layer 2", "layer 3"},
		ColLabels: []string{"attention", "FFN"},
		Cells:     [][]string{{"", ""}, {"", "2"}, {"1", ""}, {"", ""}},
		Filled:    [][]bool{{false, false}, {false, true}, {true, false}, {false, false}},
		Note:      "numbers: removal order",
	}
	var buf bytes.Buffer
	if err := chart.EncodeSVG(&buf, g); err != nil {
		log.Fatal(err)
	}
	fmt.Println(bytes.HasPrefix(buf.Bytes(), []byte("<?xml")))
	// Output: true
}
