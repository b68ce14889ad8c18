package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/loomml/loom/chart"
	"github.com/loomml/loom/scaling"
	"github.com/loomml/loom/tensor"
)

func init() {
	register("scaling", "Scaling laws: `loom scaling fit FILE.csv` fits L = L∞ + (N₀/N)^α and a pure power law to (params, loss) points, with bootstrap intervals.", runScaling)
}

const scalingUsage = `usage: loom scaling fit FILE.csv [--bootstrap 1000] [--holdout-largest] [--plot FILE.png]
FILE.csv has a header naming the columns params (or n) and loss.`

func runScaling(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "fit" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprintln(stdout, scalingUsage)
			return nil
		}
		fmt.Fprintln(stderr, scalingUsage)
		return errUsage
	}
	fs := newFlags("scaling fit", "FILE.csv [flags]", stderr)
	boot := intFlag(fs, "bootstrap", 1000, "bootstrap resamples for the 95 % intervals (0: none)", atLeast(0))
	holdout := fs.Bool("holdout-largest", false, "fit on all sizes but the largest and report the error predicting it")
	plot := fs.String("plot", "", "write the points and both fits (log-scale parameters) to this PNG")
	seed := fs.Uint64("seed", 1, "seed of the bootstrap")
	var path string
	if rest := args[1:]; len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		path, args = rest[0], rest[1:]
	} else {
		args = rest
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if path == "" {
		fmt.Fprintln(stderr, "loom scaling fit: FILE.csv is required")
		fs.Usage()
		return errUsage
	}
	ps, err := readPoints(path)
	if err != nil {
		return err
	}
	slices.SortFunc(ps, func(a, b scaling.Point) int { return int(math.Copysign(1, a.N-b.N)) })
	fitOn := ps
	if *holdout {
		if len(ps) < 4 {
			return fmt.Errorf("%s: --holdout-largest needs at least 4 points, have %d", path, len(ps))
		}
		fitOn = ps[:len(ps)-1]
	}
	type law struct {
		name string
		fit  func([]scaling.Point) (scaling.Fit, error)
	}
	laws := []law{{"L∞ + (N₀/N)^α", scaling.PowerPlusConst}, {"(N₀/N)^α", scaling.PowerLaw}}
	var fits []scaling.Fit
	fmt.Fprintf(stdout, "%d points from %s (N %.3g … %.3g)%s\n", len(ps), path, ps[0].N, ps[len(ps)-1].N,
		map[bool]string{true: ", fitted without the largest", false: ""}[*holdout])
	for _, l := range laws {
		f, err := l.fit(fitOn)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		fits = append(fits, f)
		fmt.Fprintf(stdout, "%-15s  L∞ %.4f  N₀ %.4g  α %.4f  RMSE %.4g", l.name, f.LInf, f.N0, f.Alpha, f.RMSE)
		if *boot > 0 {
			li, ai, err := scaling.Bootstrap(fitOn, l.fit, *boot, tensor.NewRNG(*seed))
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "  95 %%: L∞ [%.4f, %.4f], α [%.4f, %.4f]", li.Lo, li.Hi, ai.Lo, ai.Hi)
		}
		if *holdout {
			last := ps[len(ps)-1]
			fmt.Fprintf(stdout, "  predicts the largest (N %.3g): %.4f vs %.4f (error %+.4f)", last.N, f.At(last.N), last.L, f.At(last.N)-last.L)
		}
		fmt.Fprintln(stdout)
	}
	if *plot != "" {
		var xs, ys []float64
		for _, p := range ps {
			xs, ys = append(xs, p.N), append(ys, p.L)
		}
		c := &chart.Chart{Title: "loss against parameters", XLabel: "parameters", YLabel: "loss", LogX: true,
			Series: []chart.Series{{Name: "runs", X: xs, Y: ys, Style: chart.Points}}}
		for i, f := range fits {
			var fx, fy []float64
			for k := range 100 {
				n := math.Exp(math.Log(ps[0].N) + (math.Log(ps[len(ps)-1].N)-math.Log(ps[0].N))*float64(k)/99)
				fx, fy = append(fx, n), append(fy, f.At(n))
			}
			c.Series = append(c.Series, chart.Series{Name: laws[i].name, X: fx, Y: fy, Style: chart.Line})
		}
		if err := c.WritePNG(*plot); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "plot: %s\n", *plot)
	}
	return nil
}

// readPoints reads (params, loss) rows from a CSV with a header; errors
// name the file, line and column.
func readPoints(path string) ([]scaling.Point, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	ni, li := -1, -1
	for i, h := range head {
		switch strings.ToLower(strings.TrimSpace(h)) {
		case "params", "n", "parameters":
			ni = i
		case "loss":
			li = i
		}
	}
	if ni < 0 || li < 0 {
		return nil, fmt.Errorf("%s: the header %v names no params (or n) and loss columns", path, head)
	}
	var ps []scaling.Point
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		n, err1 := strconv.ParseFloat(strings.TrimSpace(rec[ni]), 64)
		l, err2 := strconv.ParseFloat(strings.TrimSpace(rec[li]), 64)
		if err1 != nil || err2 != nil || !(n > 0) || !(l > 0) {
			return nil, fmt.Errorf("%s: line %d: params %q and loss %q, want positive numbers", path, line, rec[ni], rec[li])
		}
		ps = append(ps, scaling.Point{N: n, L: l})
	}
	return ps, nil
}
