package plot_test

import (
	"fmt"
	"image/png"
	"log"
	"math"
	"os"
	"path/filepath"

	"github.com/loomml/loom/plot"
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
	c := &plot.Chart{
		Title:  "loss",
		XLabel: "step",
		YLabel: "loss",
		Series: []plot.Series{
			{Name: "train", X: steps, Y: train},
			{Name: "validation", X: valSteps, Y: val, Style: plot.LinePoints},
		},
		HLines: []plot.Ref{{Y: 3.1, Label: "target 3.1"}},
	}
	dir, err := os.MkdirTemp("", "plot-example")
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
	// Output: 900 x 560
}

// A bar chart with error bars.
func ExampleBarChart() {
	b := &plot.BarChart{
		Title:  "Validation loss at 5k steps",
		YLabel: "loss",
		Bars: []plot.Bar{
			{Label: "baseline", Value: 3.41, Err: 0.02},
			{Label: "SwiGLU", Value: 3.35, Err: 0.02},
			{Label: "RoPE", Value: 3.32, Err: 0.015},
		},
		Width: 600, Height: 400,
	}
	img, err := b.Render()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(img.Bounds())
	// Output: (0,0)-(600,400)
}

func ExampleTicks() {
	fmt.Println(plot.Ticks(0, 1, 5))
	fmt.Println(plot.LogTicks(1, 1e6))
	// Output:
	// [0 0.2 0.4 0.6 0.8 1]
	// [1 10 100 1000 10000 100000 1e+06]
}

func ExampleFormatTick() {
	for _, v := range []float64{0.001, 0.25, 1500, 2.5e6, 1.3e9} {
		fmt.Println(plot.FormatTick(v))
	}
	// Output:
	// 0.001
	// 0.25
	// 1.5k
	// 2.5M
	// 1.3B
}
