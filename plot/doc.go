// Package plot draws PNG charts worth looking at: training loss curves,
// scaling plots of loss against parameter count, and bar charts comparing
// results. It is pure Go (text is set in the Go fonts from
// golang.org/x/image, lines and markers are anti-aliased by
// golang.org/x/image/vector) and deterministic: the same chart gives the
// same pixels.
//
// A Chart holds one or more Series on numeric axes, linear or logarithmic,
// with "nice" ticks (steps of 1, 2 or 5 times a power of ten; powers of ten
// on log axes), compact tick labels (1k, 2.5M, 1.3B, 0.001), light grid
// lines, a legend placed in the corner with the least data, optional
// labelled horizontal reference lines (Ref) and per-point text labels. A
// BarChart compares labelled values, with optional error bars. Colours
// default to the colour-blind-friendly Okabe–Ito palette (see
// PaletteColor).
//
// Points with NaN or infinite coordinates are skipped, breaking lines into
// separate pieces; Render reports an error only when nothing at all can be
// drawn. WritePNG writes atomically (temporary file and rename), so a
// reader never sees half a PNG.
//
// A loss curve, as `loom train` writes it:
//
//	c := &plot.Chart{
//		Title:  "gpt2-small · loss",
//		XLabel: "step",
//		YLabel: "loss",
//		Series: []plot.Series{
//			{Name: "train", X: steps, Y: trainLoss},
//			{Name: "validation", X: valSteps, Y: valLoss, Style: plot.LinePoints},
//		},
//		HLines: []plot.Ref{{Y: 3.28, Label: "paper 3.28"}},
//	}
//	if err := c.WritePNG("runs/gpt2/loss.png"); err != nil {
//		return err
//	}
//
// Validation loss against model size for a set of reproductions, on a
// logarithmic x axis, with each point named:
//
//	c := &plot.Chart{
//		Title: "Validation loss vs parameters", XLabel: "parameters", YLabel: "loss",
//		LogX:  true,
//		Series: []plot.Series{
//			{Name: "loom", X: params, Y: loss, Style: plot.Points, Labels: names},
//			{Name: "paper", X: params, Y: paperLoss, Style: plot.Points},
//		},
//	}
//
// A comparison:
//
//	b := &plot.BarChart{
//		Title: "Validation loss at 5k steps", YLabel: "loss",
//		Bars: []plot.Bar{
//			{Label: "baseline", Value: 3.41, Err: 0.02},
//			{Label: "SwiGLU", Value: 3.35, Err: 0.02},
//		},
//	}
//	img, err := b.Render() // an *image.RGBA, or b.WritePNG(path), b.EncodePNG(w)
package plot
