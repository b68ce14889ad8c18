package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"

	"github.com/loomml/loom/chart"
	"github.com/loomml/loom/serve/load"
)

// latencyChart draws the distributions (empirical CDFs) of time to first
// token and time between tokens of one run, and of the runs in compare
// (load.Result JSON files with samples, as `loom bench serve --json
// --plot` or serve/testdata/llamacpp_parallel.mjs write them), named by
// names.
func latencyChart(title string, runs []load.Result, names []string) (*chart.Chart, error) {
	c := &chart.Chart{Title: title, XLabel: "milliseconds (log scale)", YLabel: "fraction of samples ≤ x", LogX: true}
	for i, r := range runs {
		if len(r.TTFTSamplesMS) == 0 {
			return nil, fmt.Errorf("%s has no samples (ttft_samples_ms): run it with --plot, or --json --samples", names[i])
		}
		for j, s := range []struct {
			what string
			xs   []float64
		}{{"time to first token", r.TTFTSamplesMS}, {"between tokens", r.ITLSamplesMS}} {
			x, y := cdf(s.xs)
			c.Series = append(c.Series, chart.Series{Name: names[i] + ": " + s.what, X: x, Y: y, Color: chart.PaletteColor(2*i + j)})
		}
	}
	return c, nil
}

// cdf returns the sorted samples (a gap of 0 ms counts as 0.01 ms, for
// the log axis) and the fraction of samples at or below each.
func cdf(xs []float64) (x, y []float64) {
	x = slices.Clone(xs)
	slices.Sort(x)
	y = make([]float64, len(x))
	for i := range x {
		x[i] = max(x[i], 0.01)
		y[i] = float64(i+1) / float64(len(x))
	}
	return x, y
}

// readResult reads a load.Result JSON file given to --compare.
func readResult(path string) (load.Result, error) {
	var r load.Result
	b, err := os.ReadFile(path)
	if err != nil {
		return r, fmt.Errorf("--compare: %w", err)
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("--compare %s: not a load result (JSON as loom bench serve --json writes): %w", path, err)
	}
	return r, nil
}
