package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/chart"
	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/internal/kernels"
	"github.com/loomml/loom/models/hyper"
	"github.com/loomml/loom/nn"
)

// loom hyper: one hypernetwork trained over a range of a small
// classifier's hyperparameter, serving the whole sweep (nn.HyperNet with
// magnitude invariant parametrisations, arXiv 2304.07645).

func init() {
	register("hyper", "One hypernetwork over a hyperparameter range of a small classifier (weight decay, loss mixing or label smoothing on the 8×8 digits or Fashion-MNIST), MIP or default parametrisation: `loom hyper train`, then `loom hyper eval` serves the sweep.", withSubcommands("hyper", hyperUsage, map[string]command{"train": hyperTrain, "eval": hyperEval}))
}

const hyperUsage = `usage: loom hyper train --out DIR --param P --range LO:HI [flags]    train one hypernetwork over the range; writes model/, sweep.json, report.md and plots
       loom hyper eval --model DIR [--values V,V,…|--points N] [--json]    the classifier at each value, from the one model`

// parseRange reads --range LO:HI, naming the flag in errors.
func parseRange(param, s string) (lo, hi float64, err error) {
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return 0, 0, fmt.Errorf("--range %q: want LO:HI, e.g. 0:0.01", s)
	}
	if lo, err = strconv.ParseFloat(strings.TrimSpace(a), 64); err != nil {
		return 0, 0, fmt.Errorf("--range %q: %q is not a number", s, a)
	}
	if hi, err = strconv.ParseFloat(strings.TrimSpace(b), 64); err != nil {
		return 0, 0, fmt.Errorf("--range %q: %q is not a number", s, b)
	}
	if err := hyper.CheckRange(param, lo, hi); err != nil {
		return 0, 0, fmt.Errorf("--range %s: %w", s, err)
	}
	return lo, hi, nil
}

// parseWidths reads a comma-separated list of positive widths.
func hyperWidths(flagName, s string) ([]int, error) {
	out := []int{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("--%s %q: want positive widths separated by commas, e.g. 16,64", flagName, s)
		}
		out = append(out, n)
	}
	return out, nil
}

// hyperRow is one value of a sweep.
type hyperRow struct {
	Value        float64 `json:"value"`
	Objective    float64 `json:"train_objective"`
	TestCE       float64 `json:"test_ce"`
	TestAccuracy float64 `json:"test_accuracy"`
	ThetaNorm    float64 `json:"theta_norm"`
}

// hyperSweep evaluates m at each value.
func hyperSweep(m *hyper.Model, train, test *hyper.Dataset, values []float64) ([]hyperRow, error) {
	rows := make([]hyperRow, 0, len(values))
	for _, v := range values {
		tr, err := m.Evaluate(v, train)
		if err != nil {
			return nil, err
		}
		te, err := m.Evaluate(v, test)
		if err != nil {
			return nil, err
		}
		n, err := m.ThetaNorm(v)
		if err != nil {
			return nil, err
		}
		rows = append(rows, hyperRow{Value: v, Objective: tr.Objective, TestCE: te.CE, TestAccuracy: te.Accuracy, ThetaNorm: n})
	}
	return rows, nil
}

// evenValues returns n evenly spaced values over [lo, hi].
func evenValues(lo, hi float64, n int) []float64 {
	if n == 1 {
		return []float64{(lo + hi) / 2}
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = lo + (hi-lo)*float64(i)/float64(n-1)
	}
	out[n-1] = hi
	return out
}

func writeHyperTable(w io.Writer, param string, rows []hyperRow) {
	fmt.Fprintf(w, "| %s | train objective | test CE | test accuracy | ‖θ‖ |\n| --- | --- | --- | --- | --- |\n", param)
	for _, r := range rows {
		fmt.Fprintf(w, "| %.6g | %.4f | %.4f | %.4f | %.3f |\n", r.Value, r.Objective, r.TestCE, r.TestAccuracy, r.ThetaNorm)
	}
}

func hyperTrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("hyper train", "--out DIR --param P --range LO:HI [flags]", stderr)
	out := fs.String("out", "", "directory for the run: model/, sweep.json, report.md, sweep.png, loss.png (required; new or empty unless --force)")
	force := fs.Bool("force", false, forceHelp)
	data := choice(fs, "data", hyper.Digits, "the classifier's data: digits (embedded 8×8, 80/20 split) or fashion (Fashion-MNIST idx files)", hyper.Digits, hyper.Fashion)
	fashionDir := fs.String("fashion-dir", "", "directory of the Fashion-MNIST idx files (default: Debian's dataset-fashion-mnist)")
	fashionTrain := intFlag(fs, "fashion-train", 10000, "Fashion-MNIST training images used (the first of the split)", atLeast(1))
	fashionTest := intFlag(fs, "fashion-test", 2000, "Fashion-MNIST test images used", atLeast(1))
	param := choice(fs, "param", hyper.WeightDecay, "the hyperparameter: weight-decay (CE + γ/2·Σ‖W‖²), loss-mix ((1−γ)·CE + γ·Brier) or label-smoothing", hyper.Params...)
	rng := fs.String("range", "", "the hyperparameter's range LO:HI, LO < HI, e.g. 0:0.01 (required)")
	hidden := fs.String("hidden", "32", "the classifier's hidden widths, comma-separated (\"\" for a linear classifier)")
	hyperHidden := fs.String("hyper-hidden", "16,64", "the hypernetwork's hidden widths, comma-separated")
	param13n := choice(fs, "parametrization", nn.HyperMIP, "mip (cos|sin input encoding and residual θ = θ₀ + Δθ), default (neither), encoding or residual (one each)", nn.HyperParametrizations...)
	steps := intFlag(fs, "steps", 2000, "Adam steps (one γ drawn uniformly from the range per step)", atLeast(1))
	batch := intFlag(fs, "batch", 64, "examples per step", atLeast(1))
	lr := floatFlag(fs, "lr", 1e-3, "Adam learning rate", above(0))
	points := intFlag(fs, "points", 11, "evenly spaced values of the range in the report", atLeast(2))
	seed := fs.Uint64("seed", 1, "seed of the hypernetwork's weights, the batches and the values drawn")
	threads := intFlag(fs, "threads", 0, "threads", atLeast(1), sp{0, "all cores"})
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		fmt.Fprintln(stderr, "loom hyper train: --out is required")
		fs.Usage()
		return errUsage
	}
	if *rng == "" {
		fmt.Fprintln(stderr, "loom hyper train: --range LO:HI is required")
		fs.Usage()
		return errUsage
	}
	lo, hi, err := parseRange(*param, *rng)
	if err != nil {
		return err
	}
	hid, err := hyperWidths("hidden", *hidden)
	if err != nil {
		return err
	}
	hh, err := hyperWidths("hyper-hidden", *hyperHidden)
	if err != nil {
		return err
	}
	if err := checkOut(*out, true, *force, source{"--fashion-dir", *fashionDir}); err != nil {
		return err
	}
	if *threads > 0 {
		kernels.SetThreads(*threads)
	}
	cfg := hyper.Config{Data: *data, Hidden: hid, Param: *param, Lo: lo, Hi: hi, HyperHidden: hh, Parametrization: *param13n,
		Steps: *steps, Batch: *batch, LR: *lr, Seed: *seed}
	if *data == hyper.Fashion {
		cfg.FashionDir, cfg.FashionTrain, cfg.FashionTest = *fashionDir, *fashionTrain, *fashionTest
	}
	train, test, err := hyper.LoadData(cfg)
	if err != nil {
		return err
	}
	m, err := hyper.New(cfg, train.X.Dim(1), train.Labels)
	if err != nil {
		return err
	}
	values := evenValues(lo, hi, *points)
	before, err := hyperSweep(m, train, test, values)
	if err != nil {
		return err
	}
	ctx, stop := interruptible(stderr)
	defer stop()
	start := time.Now()
	losses, err := m.Train(train, hyper.TrainOptions{Progress: stderr, EvalEvery: max(1, *steps/100), OnEval: func(int) error { return ctx.Err() }})
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%w: nothing written to %s", errInterrupted, *out)
		}
		return err
	}
	secs := time.Since(start).Seconds()
	rows, err := hyperSweep(m, train, test, values)
	if err != nil {
		return err
	}
	if *force {
		os.RemoveAll(*out)
	}
	modelDir := filepath.Join(*out, "model")
	if err := os.MkdirAll(modelDir, 0o755); err != nil {
		return err
	}
	if err := hyper.Save(m, modelDir); err != nil {
		return err
	}
	js, err := json.MarshalIndent(map[string]any{"config": m.Config, "seconds": secs, "hyper_params": autograd.NumParams(m.Net.Params()),
		"emitted_params": m.Net.NumOutputs(), "train": train.N(), "test": test.N(), "before": before, "after": rows}, "", "  ")
	if err != nil {
		return err
	}
	if err := fsutil.WriteFile(filepath.Join(*out, "sweep.json"), append(js, '\n')); err != nil {
		return err
	}
	// Plots: the sweep and the training loss.
	xs := make([]float64, len(rows))
	acc, obj := make([]float64, len(rows)), make([]float64, len(rows))
	for i, r := range rows {
		xs[i], acc[i], obj[i] = r.Value, r.TestAccuracy, r.Objective
	}
	if err := (&chart.Chart{Title: fmt.Sprintf("one %s hypernetwork over %s ∈ [%g, %g]", m.Config.Parametrization, *param, lo, hi), XLabel: *param, YLabel: "value",
		Series: []chart.Series{{Name: "test accuracy", X: xs, Y: acc, Style: chart.LinePoints}, {Name: "train objective", X: xs, Y: obj, Style: chart.LinePoints}}}).WritePNG(filepath.Join(*out, "sweep.png")); err != nil {
		return err
	}
	if err := (&chart.Chart{Title: "training objective per step (γ drawn per step)", XLabel: "step", YLabel: "objective", LogY: true,
		Series: []chart.Series{{Name: "objective", Y: losses}}}).WritePNG(filepath.Join(*out, "loss.png")); err != nil {
		return err
	}
	var rep strings.Builder
	fmt.Fprintf(&rep, "# loom hyper: %s over [%g, %g]\n\n- Command: `loom hyper train %s`\n- Data: %s (%d train, %d test); classifier %d-%s-%d (ReLU)\n- Hypernetwork: %s parametrisation, hidden %v, %d parameters emitting %d\n- Training: %d Adam steps (lr %g, batch %d), %.1f s; seed %d\n\n",
		*param, lo, hi, strings.Join(args, " "), *data, train.N(), test.N(), m.In, widthsText(hid), m.Classes, m.Config.Parametrization, hh, autograd.NumParams(m.Net.Params()), m.Net.NumOutputs(), *steps, *lr, *batch, secs, *seed)
	rep.WriteString("The sweep from the one model (the train objective is the loss minimised at that value):\n\n")
	writeHyperTable(&rep, *param, rows)
	rep.WriteString("\n![sweep](sweep.png)\n\n![loss](loss.png)\n")
	if err := fsutil.WriteFile(filepath.Join(*out, "report.md"), []byte(rep.String())); err != nil {
		return err
	}
	writeHyperTable(stdout, *param, rows)
	fmt.Fprintf(stdout, "%d steps in %.1f s; model: %s; report: %s\n", *steps, secs, modelDir, filepath.Join(*out, "report.md"))
	return nil
}

func widthsText(ws []int) string {
	if len(ws) == 0 {
		return "(none)"
	}
	s := make([]string, len(ws))
	for i, w := range ws {
		s[i] = strconv.Itoa(w)
	}
	return strings.Join(s, "-")
}

func hyperEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("hyper eval", "--model DIR [--values V,V,…|--points N] [--json]", stderr)
	model := fs.String("model", "", "a `loom hyper train` run directory or its model/ directory (required)")
	valuesFlag := fs.String("values", "", "hyperparameter values to serve, comma-separated, within the model's range (default: --points evenly spaced)")
	points := intFlag(fs, "points", 11, "evenly spaced values of the model's range (without --values)", atLeast(1))
	asJSON := fs.Bool("json", false, "print the sweep as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *model == "" {
		fmt.Fprintln(stderr, "loom hyper eval: --model is required")
		fs.Usage()
		return errUsage
	}
	dir := *model
	if _, err := os.Stat(filepath.Join(dir, "model", nn.ModelConfigFile)); err == nil {
		dir = filepath.Join(dir, "model")
	}
	m, err := hyper.Load(dir)
	if err != nil {
		return fmt.Errorf("--model %s: %w", *model, err)
	}
	values := evenValues(m.Config.Lo, m.Config.Hi, *points)
	if *valuesFlag != "" {
		values = nil
		for _, f := range strings.Split(*valuesFlag, ",") {
			v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("--values: %q is not a finite number", f)
			}
			if err := m.CheckValue(v); err != nil {
				return fmt.Errorf("--values: %w", err)
			}
			values = append(values, v)
		}
	}
	train, test, err := hyper.LoadData(m.Config)
	if err != nil {
		return err
	}
	rows, err := hyperSweep(m, train, test, values)
	if err != nil {
		return err
	}
	if *asJSON {
		js, err := json.MarshalIndent(map[string]any{"param": m.Config.Param, "parametrization": m.Config.Parametrization, "sweep": rows}, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(stdout, string(js))
		return err
	}
	writeHyperTable(stdout, m.Config.Param, rows)
	return nil
}
