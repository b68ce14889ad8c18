// Package chart draws loom's charts with gonum.org/v1/plot: training loss
// curves, scaling plots of loss against parameter count, forecasts, bar
// charts comparing results, and labelled cell maps such as the FinerCut
// removal map. It adds to gonum a house style and what gonum leaves to its
// users: NaN handling, compact ticks, placement of labels and legend, and
// atomic writes. It is pure Go; text is set in the Liberation fonts gonum
// embeds.
//
// A Chart holds one or more Series on numeric axes, linear or logarithmic,
// with ticks at steps of 1, 2 or 5 times a power of ten (on log axes at
// powers of ten, or more where the range is narrow), compact tick labels
// (1k, 2.5M, 1.3B, 0.001), light grid lines, optional labelled horizontal
// reference lines (Ref) and per-point text labels. The legend and the
// labels are put where they cover the least data. A BarChart compares
// labelled values, with optional error bars. A Grid is a table of
// labelled, optionally highlighted cells. Colours default to the
// colour-blind-friendly Okabe–Ito palette (see PaletteColor), and series
// markers differ in shape as well as colour.
//
// Points with NaN or infinite coordinates (or not positive on a log axis)
// are skipped, breaking lines into separate pieces; a chart fails to draw
// only when nothing at all can be drawn. Output is PNG (at DPI dots per
// inch; a chart is 8×5 inches unless sized) or SVG, deterministic (the
// same chart gives the same bytes), and written atomically by WritePNG and
// WriteSVG (temporary file and rename), so a reader never sees half a file.
//
// A loss curve, as `loom train` writes it:
//
//	c := &chart.Chart{
//		Title:  "gpt2-small · loss",
//		XLabel: "step",
//		YLabel: "loss",
//		Series: []chart.Series{
//			{Name: "train", X: steps, Y: trainLoss},
//			{Name: "validation", X: valSteps, Y: valLoss, Style: chart.LinePoints},
//		},
//		HLines: []chart.Ref{{Y: 3.28, Label: "paper 3.28"}},
//	}
//	if err := c.WritePNG("runs/gpt2/loss.png"); err != nil {
//		return err
//	}
//
// Validation loss against model size on a logarithmic x axis, with each
// point named:
//
//	c := &chart.Chart{
//		Title: "Validation loss vs parameters", XLabel: "parameters", YLabel: "loss",
//		LogX:  true,
//		Series: []chart.Series{
//			{Name: "loom", X: params, Y: loss, Style: chart.Points, Labels: names},
//			{Name: "paper", X: params, Y: paperLoss, Style: chart.Points},
//		},
//	}
//
// A comparison:
//
//	b := &chart.BarChart{
//		Title: "Validation loss at 5k steps", YLabel: "loss",
//		Bars: []chart.Bar{
//			{Label: "baseline", Value: 3.41, Err: 0.02},
//			{Label: "SwiGLU", Value: 3.35, Err: 0.02},
//		},
//	}
//	err := b.WriteSVG("docs/results/swiglu.svg") // or b.WritePNG(path), chart.EncodePNG(w, b)
package chart
