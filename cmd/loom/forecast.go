package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/chart"
	"github.com/loomml/loom/data/series"
	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/models/forecast"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/train"
)

func init() {
	register("forecast", "Time-series forecasting: `loom forecast train|predict|eval` (iTransformer, arXiv 2310.06625, and baselines) on any CSV with a date column.", withSubcommands("forecast", forecastUsage, map[string]command{"train": forecastTrain, "predict": forecastPredict, "eval": forecastEval}))
}

const forecastUsage = `usage: loom forecast train   --csv FILE --out DIR [--arch itransformer|transformer|dlinear|naive] [--lookback 96] [--horizon 96] [--features M|S|MS] [--target OT] [--split ett|R1,R2,R3]
       loom forecast predict --model DIR --csv FILE [--out FILE.csv]
       loom forecast eval    --model DIR --csv FILE [--split …] [--json] [--plot FILE.png --variates A,B]
(loom forecast COMMAND --help lists a command's flags)`

// dataFlags are the flags that say how to cut a CSV.
type dataFlags struct {
	csv, features, target, split *string
	lookback, horizon            *int
}

func addDataFlags(fs *flag.FlagSet, withShape bool) dataFlags {
	d := dataFlags{
		csv:      fs.String("csv", "", "CSV with a date column and numeric columns (required); \"ETTh1\" for the embedded ETTh1.csv"),
		features: choice(fs, "features", "", "M (all columns in and out), S (the target alone) or MS (all in, the target out) (default M; eval/predict: as trained)", "M", "S", "MS"),
		target:   fs.String("target", "", "target column for S and MS (default OT; eval/predict: as trained)"),
		split:    fs.String("split", "", "ett (12/4/4 months of 30 days) or train,val,test ratios (default: ett for ETT* files, else 0.7,0.1,0.2; eval: as trained)"),
	}
	if withShape {
		d.lookback = intFlag(fs, "lookback", 96, "input length L", atLeast(1))
		d.horizon = intFlag(fs, "horizon", 96, "forecast length S", atLeast(1))
	}
	return d
}

// readFrame reads --csv (or the embedded ETTh1).
func readFrame(path string) (*series.Frame, error) {
	if path == "ETTh1" {
		return series.ReadCSV(bytes.NewReader(series.ETTh1()), "ETTh1.csv")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return series.ReadCSV(f, path)
}

func forecastTrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("forecast train", "--csv FILE --out DIR [--force] [flags]", stderr)
	df := addDataFlags(fs, true)
	arch := choice(fs, "arch", "itransformer", "model: "+strings.Join(forecast.Archs(), ", "), forecast.Archs()...)
	protocol := choice(fs, "protocol", "", "m4: short-term forecasting of M4 Hourly (414 series, 48 steps; an external data set) scored by sMAPE, MASE and OWA against Naive2, instead of --csv", "", "m4")
	out := fs.String("out", "", "directory for the trained model, its checkpoint/ (every epoch), metrics.jsonl and loss.png (required; must not exist, or be empty, unless --force; a run stopped midway resumes from its checkpoint)")
	force := fs.Bool("force", false, "replace an existing --out as a whole, a run there too (it starts afresh instead of resuming)")
	epochs := intFlag(fs, "epochs", 10, "training epochs (early stopping may end sooner)", atLeast(1))
	batch := intFlag(fs, "batch", 32, "batch size", atLeast(1))
	lr := floatFlag(fs, "lr", 0, "learning rate, halved after every epoch (default: 1e-4; DLinear 0.005, as the official scripts)", above(0))
	patience := intFlag(fs, "patience", 3, "epochs without a better validation loss before stopping", atLeast(1))
	dModel := intFlag(fs, "d-model", 0, "model width (default: iTransformer 256 for horizons ≤ 192, else 512; transformer 128)", atLeast(1))
	dff := intFlag(fs, "d-ff", 0, "FFN width (default: d-model)", atLeast(1))
	layers := intFlag(fs, "layers", 2, "encoder layers", atLeast(1))
	heads := intFlag(fs, "heads", 8, "attention heads", atLeast(1))
	dropout := floatFlag(fs, "dropout", 0.1, "dropout probability", span{lo: 0, hi: 1, hiOpen: true})
	noNorm := fs.Bool("no-norm", false, "turn off iTransformer's per-window normalisation (itransformer, transformer)")
	seed := fs.Uint64("seed", 1, "seed of initial weights, batch order and dropout")
	threads := intFlag(fs, "threads", 0, "threads", atLeast(1), sp{0, "all cores"})
	progressEvery := progressEveryFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *protocol == "m4" {
		if *df.csv != "" {
			return fmt.Errorf("--protocol m4 reads M4 Hourly; drop --csv %s", *df.csv)
		}
		if *out == "" {
			fmt.Fprintln(stderr, "loom forecast train: --out is required")
			fs.Usage()
			return errUsage
		}
		if *arch == "naive" {
			return fmt.Errorf("--protocol m4 --arch naive: Naive2 is the protocol's own benchmark, reported with every run")
		}
		return forecastM4(m4Run{arch: *arch, out: *out, force: *force, epochs: *epochs, batch: *batch, lr: *lr, dModel: *dModel, layers: *layers, heads: *heads,
			dropout: *dropout, seed: *seed, threads: *threads}, stdout, stderr)
	}
	if *df.csv == "" || *out == "" {
		fmt.Fprintln(stderr, "loom forecast train: --csv and --out are required")
		fs.Usage()
		return errUsage
	}
	resume := false
	if *force {
		if err := checkOut(*out, true, true, source{"--csv", *df.csv}); err != nil {
			return err
		}
	} else if _, err := os.Stat(*out); err == nil {
		_, trained := os.Stat(filepath.Join(*out, forecast.ConfigFile))
		_, started := os.Stat(filepath.Join(*out, train.CheckpointDir, train.StateFile))
		if trained != nil && started == nil {
			resume = true
		} else if err := fsutil.CheckDest(*out, true, fsutil.Options{}); err != nil {
			return outErrorAs(err, " and is not a forecasting run to resume; pass --force to replace it")
		}
	}
	if err := setThreads(*threads); err != nil {
		return err
	}
	f, err := readFrame(*df.csv)
	if err != nil {
		return err
	}
	d, err := series.Prepare(f, series.Spec{Features: *df.features, Target: *df.target, Lookback: *df.lookback, Horizon: *df.horizon, Split: *df.split})
	if err != nil {
		return err
	}
	c := forecast.Defaults(*arch, d)
	c.Seed = *seed
	if c.DModel > 0 {
		if *dModel > 0 {
			c.DModel, c.DFF = *dModel, *dModel
		}
		if *dff > 0 {
			c.DFF = *dff
		}
		c.Layers, c.Heads, c.Dropout = *layers, *heads, *dropout
		c.UseNorm = !*noNorm
	}
	m, err := forecast.New(c)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%s: %s, %d variates (%s), lookback %d, horizon %d; windows train %d, validation %d, test %d\n",
		c.Arch, d.Name, d.N, d.Spec.Features, d.Spec.Lookback, d.Spec.Horizon, d.Len(series.Train), d.Len(series.Val), d.Len(series.Test))
	if *force {
		// Everything checked and read: only now does the old --out go.
		if err := fsutil.Discard(*out); err != nil {
			return err
		}
	}
	ctx, stop := interruptible(stderr)
	res, err := forecast.Fit(m, d, forecast.FitOptions{Epochs: *epochs, Batch: *batch, LR: *lr, Patience: *patience, Seed: *seed, Progress: stderr,
		OutDir: *out, Resume: resume, Context: ctx, ProgressEvery: *progressEvery})
	stop() // a Ctrl-C from here on quits at once: the checkpoint is whole
	var past *train.PastSteps
	if errors.As(err, &past) {
		perEpoch := past.Steps / *epochs
		epoch := (past.Step + perEpoch - 1) / perEpoch
		return fmt.Errorf("--epochs %d: %s is already at step %d, in epoch %d (%d steps per epoch); pass --epochs N ≥ %d to train further, or another --out to start afresh",
			*epochs, past.Checkpoint, past.Step, epoch, perEpoch, epoch)
	}
	if err != nil {
		return interruptedRun(err, resumeCommand("forecast train", args, nil))
	}
	if err := forecast.Save(*out, m, forecast.SavedFor(m, d, res)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: test MSE %.4f, MAE %.4f (scaled; %d windows), validation MSE %.4f; %d epochs (best %d) in %.0fs; model in %s\n",
		c.Arch, res.Test.MSE, res.Test.MAE, res.Test.Windows, res.Val.MSE, res.Epochs, res.BestEpoch, res.Seconds, *out)
	return nil
}

// prepareAs cuts a CSV the way a saved model's training data was cut,
// with flag overrides.
func prepareAs(s *forecast.Saved, df dataFlags) (*series.Dataset, error) {
	f, err := readFrame(*df.csv)
	if err != nil {
		return nil, err
	}
	spec := s.Data
	if *df.features != "" {
		spec.Features = *df.features
	}
	if *df.target != "" {
		spec.Target = *df.target
	}
	if *df.split != "" {
		spec.Split = *df.split
	}
	d, err := series.Prepare(f, spec)
	if err != nil {
		return nil, err
	}
	if v := s.Model.Variates; s.Model.Arch == "transformer" && d.N != v {
		return nil, fmt.Errorf("%s has %d input columns; this %s model was trained on %d (%s) and fixes that number (iTransformer does not)", *df.csv, d.N, s.Model.Arch, v, strings.Join(s.Inputs, ", "))
	}
	if s.Model.Arch == "transformer" && d.F != s.Model.Marks {
		return nil, fmt.Errorf("%s has rows %v apart (%d calendar features); this transformer model was trained on rows %v apart (%d features) and fixes that number", *df.csv, d.Step, d.F, time.Duration(s.StepSec*float64(time.Second)), s.Model.Marks)
	}
	return d, nil
}

func forecastEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("forecast eval", "--model DIR --csv FILE [flags]", stderr)
	model := fs.String("model", "", "trained forecaster directory (required)")
	df := addDataFlags(fs, false)
	asJSON := fs.Bool("json", false, "print JSON (fields mse, mae, windows)")
	plotPath := fs.String("plot", "", "write a PNG of forecast vs actual for one test window")
	variates := fs.String("variates", "", "columns to plot, comma-separated (default: the scored ones, up to 3)")
	window := intFlag(fs, "window", -1, "test window to plot, counted from 0", atLeast(0), sp{-1, "the last"})
	threads := intFlag(fs, "threads", 0, "threads", atLeast(1), sp{0, "all cores"})
	anyCols := fs.Bool("any-columns", false, "allow a file whose columns differ from the model's training columns and use the file's own (iTransformer, DLinear and naive take any number of variates; transformer does not); what is used is printed")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *model == "" || *df.csv == "" {
		fmt.Fprintln(stderr, "loom forecast eval: --model and --csv are required")
		fs.Usage()
		return errUsage
	}
	if err := setThreads(*threads); err != nil {
		return err
	}
	if err := wantKind(*model, kindForecast); err != nil {
		return err
	}
	m, s, err := forecast.Load(*model)
	if err != nil {
		return err
	}
	d, err := prepareAs(s, df)
	if err != nil {
		return err
	}
	if err := checkColumns(*df.csv, s, d.Inputs, *anyCols, stderr); err != nil {
		return err
	}
	res := forecast.Evaluate(m, d, series.Test)
	if *plotPath != "" {
		if err := plotWindow(m, d, *plotPath, *variates, *window); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %s\n", *plotPath)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	fmt.Fprintf(stdout, "test MSE %.4f, MAE %.4f over %d windows (scaled, %s of %s)\n", res.MSE, res.MAE, res.Windows, d.Spec.Features, d.Name)
	return nil
}

// plotWindow draws lookback, actual future and forecast of chosen columns
// for one test window, in the file's units.
func plotWindow(m forecast.Model, d *series.Dataset, path, variates string, w int) error {
	n := d.Len(series.Test)
	if w < 0 {
		w = n - 1
	}
	if w >= n {
		return fmt.Errorf("--window %d: the test split has %d windows", w, n)
	}
	var cols []int
	if variates == "" {
		for i, o := range d.Outputs {
			if i < 3 {
				cols = append(cols, o)
			}
		}
	} else {
		for _, name := range strings.Split(variates, ",") {
			found := false
			for j, in := range d.Inputs {
				if in == strings.TrimSpace(name) {
					cols, found = append(cols, j), true
				}
			}
			if !found {
				return fmt.Errorf("--variates: no column %q (columns: %s)", name, strings.Join(d.Inputs, ", "))
			}
		}
	}
	x, marks, y := d.Batch(series.Test, []int{w})
	var out *autograd.Var
	autograd.NoGrad(func() { out = m.Forward(nil, autograd.Const(x), autograd.Const(marks)) })
	L, S := d.Spec.Lookback, d.Spec.Horizon
	c := &chart.Chart{Title: fmt.Sprintf("%s: test window %d (%s, lookback %d, horizon %d)", filepath.Base(d.Name), w, m.Config().Arch, L, S), XLabel: "step (0 = first forecast)", YLabel: "value"}
	for k, j := range cols {
		var hx, hy, fx, fy, ax, ay []float64
		for t := range L {
			hx, hy = append(hx, float64(t-L)), append(hy, d.Unscale(j, x.At(0, t, j)))
		}
		for t := range S {
			ax, ay = append(ax, float64(t)), append(ay, d.Unscale(j, y.At(0, t, j)))
			fx, fy = append(fx, float64(t)), append(fy, d.Unscale(j, out.Value.At(0, t, j)))
		}
		col := chart.PaletteColor(k)
		c.Series = append(c.Series,
			chart.Series{Name: d.Inputs[j] + " (actual)", X: append(hx, ax...), Y: append(hy, ay...), Color: col},
			chart.Series{Name: d.Inputs[j] + " (forecast)", X: fx, Y: fy, Style: chart.LinePoints, Color: chart.PaletteColor(k + 4)})
	}
	return c.WritePNG(path)
}

func forecastPredict(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("forecast predict", "--model DIR --csv FILE [--out FILE.csv]", stderr)
	model := fs.String("model", "", "trained forecaster directory (required)")
	csvPath := fs.String("csv", "", "CSV whose last lookback rows are forecast from (required)")
	out := fs.String("out", "", "where to write the forecast CSV (default: standard output)")
	anyCols := fs.Bool("any-columns", false, "allow a file whose columns differ from the model's training columns and use the file's own (iTransformer, DLinear and naive take any number of variates; transformer does not); what is used is printed")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *model == "" || *csvPath == "" {
		fmt.Fprintln(stderr, "loom forecast predict: --model and --csv are required")
		fs.Usage()
		return errUsage
	}
	if err := wantKind(*model, kindForecast); err != nil {
		return err
	}
	m, s, err := forecast.Load(*model)
	if err != nil {
		return err
	}
	f, err := readFrame(*csvPath)
	if err != nil {
		return err
	}
	L, S := s.Model.Lookback, s.Model.Horizon
	if len(f.Values) < L {
		return fmt.Errorf("%s has %d rows, fewer than the model's lookback %d", *csvPath, len(f.Values), L)
	}
	// Columns: the training columns, by name, scaled with the training
	// scaler. With --any-columns, a file with other columns has every
	// numeric column forecast, each scaled by its own mean and std over the
	// file (iTransformer takes any number of variates).
	idx, mean, std := matchColumns(f, s)
	outs := s.Outputs // the scored columns (S and MS: the target alone)
	if idx == nil || len(f.Columns) != len(s.Inputs) {
		if err := checkColumns(*csvPath, s, f.Columns, *anyCols, stderr); err != nil {
			return err
		}
		idx = nil // --any-columns: every column of the file, on its own statistics
	}
	if idx == nil {
		for j := range f.Columns {
			idx = append(idx, j)
		}
		mean, std = columnStats(f)
		outs = nil
		for k := range idx {
			outs = append(outs, k)
		}
	}
	N := len(idx)
	step := time.Duration(s.StepSec * float64(time.Second))
	x := tensor.New(tensor.Float32, 1, L, N)
	marks := tensor.New(tensor.Float32, 1, L, s.Model.Marks)
	rows := len(f.Values)
	for t := range L {
		r := rows - L + t
		for k, j := range idx {
			x.Set((f.Values[r][j]-mean[k])/std[k], 0, t, k)
		}
		for q, v := range series.TimeFeatures(f.Dates[r], step) {
			if q < s.Model.Marks {
				marks.Set(v, 0, t, q)
			}
		}
	}
	var y *autograd.Var
	autograd.NoGrad(func() { y = m.Forward(nil, autograd.Const(x), autograd.Const(marks)) })
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	head := []string{"date"}
	for _, k := range outs {
		head = append(head, f.Columns[idx[k]])
	}
	w.Write(head)
	last := f.Dates[rows-1]
	for t := range S {
		rec := []string{last.Add(time.Duration(t+1) * step).Format(time.DateTime)}
		for _, k := range outs {
			rec = append(rec, strconv.FormatFloat(y.Value.At(0, t, k)*std[k]+mean[k], 'g', 8, 64))
		}
		w.Write(rec)
	}
	w.Flush()
	if *out == "" {
		_, err := stdout.Write(buf.Bytes())
		return err
	}
	if err := fsutil.WriteFile(*out, buf.Bytes()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d steps of %d columns after %s\n", *out, S, len(outs), last.Format(time.DateTime))
	return nil
}

// checkColumns refuses a file whose columns are not the model's training
// columns in their order, naming the missing and extra ones, unless
// anyColumns is set and the architecture takes any number of variates (all
// but the vanilla transformer, whose input layer is sized to the columns);
// then it says what it does.
func checkColumns(file string, s *forecast.Saved, have []string, anyColumns bool, stderr io.Writer) error {
	want := s.Inputs
	if slices.Equal(have, want) {
		return nil
	}
	var missing, extra []string
	for _, c := range want {
		if !slices.Contains(have, c) {
			missing = append(missing, c)
		}
	}
	for _, c := range have {
		if !slices.Contains(want, c) {
			extra = append(extra, c)
		}
	}
	diff := fmt.Sprintf("missing %s; extra %s", orNone(missing), orNone(extra))
	if len(missing) == 0 && len(extra) == 0 {
		diff = fmt.Sprintf("the same columns in another order (%s)", strings.Join(have, ", "))
	}
	if fixed := s.Model.Arch == "transformer"; !anyColumns || fixed {
		hint := "; pass --any-columns to use the file's own columns"
		if fixed {
			hint = fmt.Sprintf("; a %s model needs exactly its training columns", s.Model.Arch)
		}
		return fmt.Errorf("%s: columns differ from the model's training columns (%s): %s%s", file, strings.Join(want, ", "), diff, hint)
	}
	fmt.Fprintf(stderr, "--any-columns: using the %d columns of %s (%s) instead of the %d training columns (%s): %s\n",
		len(have), file, strings.Join(have, ", "), len(want), strings.Join(want, ", "), diff)
	return nil
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// matchColumns finds the saved model's training columns in f by name.
func matchColumns(f *series.Frame, s *forecast.Saved) ([]int, []float64, []float64) {
	var idx []int
	for _, name := range s.Inputs {
		j, err := f.Column(name)
		if err != nil {
			return nil, nil, nil
		}
		idx = append(idx, j)
	}
	return idx, s.Mean, s.Std
}

// columnStats returns each column's mean and population std over f.
func columnStats(f *series.Frame) ([]float64, []float64) {
	n := len(f.Columns)
	mean, std := make([]float64, n), make([]float64, n)
	for j := range n {
		for _, r := range f.Values {
			mean[j] += r[j]
		}
		mean[j] /= float64(len(f.Values))
		for _, r := range f.Values {
			std[j] += (r[j] - mean[j]) * (r[j] - mean[j])
		}
		std[j] = sqrtOr1(std[j] / float64(len(f.Values)))
	}
	return mean, std
}

func sqrtOr1(v float64) float64 {
	if v <= 0 {
		return 1
	}
	return math.Sqrt(v)
}
