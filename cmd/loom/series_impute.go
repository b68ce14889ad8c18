package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/loomml/loom/data/series"
	"github.com/loomml/loom/internal/kernels"
	"github.com/loomml/loom/models/timeseries"
)

// imputeArchs are `loom series impute --arch`'s values.
var imputeArchs = []string{"transformer", "itransformer", "dlinear", "patchtst", "linear"}

func seriesImpute(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("series impute", "--csv FILE --mask-ratio R [flags]", stderr)
	df := addDataFlags(fs, false)
	ratio := floatFlag(fs, "mask-ratio", 0.25, "fraction of the entries hidden, at random, in every window (Time-Series-Library uses 0.125, 0.25, 0.375, 0.5)", span{lo: 0, hi: 1, loOpen: true, hiOpen: true})
	arch := choice(fs, "arch", "transformer", "transformer (temporal tokens), itransformer, dlinear, patchtst, or linear (interpolation in time, no training)", imputeArchs...)
	lookback := intFlag(fs, "lookback", 96, "window length (Time-Series-Library's seq_len)", atLeast(2))
	dModel := intFlag(fs, "d-model", 64, "width", atLeast(1))
	layers := intFlag(fs, "layers", 2, "encoder layers", atLeast(1))
	heads := intFlag(fs, "heads", 4, "attention heads", atLeast(1))
	epochs := intFlag(fs, "epochs", 10, "epochs (stopping after 3 without a lower validation MSE)", atLeast(1))
	batch := intFlag(fs, "batch", 32, "windows per step", atLeast(1))
	lr := floatFlag(fs, "lr", 1e-3, "peak learning rate (AdamW, cosine)", above(0))
	seed := fs.Uint64("seed", 1, "seed of the weights, the batches and the training masks")
	maskSeed := fs.Uint64("mask-seed", 1, "seed of the validation and test masks (the same for every model)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	threads := intFlag(fs, "threads", 0, "threads", atLeast(1), sp{0, "all cores"})
	if err := parse(fs, args); err != nil {
		return err
	}
	if *df.csv == "" {
		fmt.Fprintln(stderr, "loom series impute: --csv is required")
		fs.Usage()
		return errUsage
	}
	if *arch != "linear" && *arch != "dlinear" && *dModel%*heads != 0 {
		return fmt.Errorf("--heads %d does not divide --d-model %d", *heads, *dModel)
	}
	if *threads > 0 {
		kernels.SetThreads(*threads)
	}
	f, err := readFrame(*df.csv)
	if err != nil {
		return fmt.Errorf("--csv: %w", err)
	}
	d, err := series.Prepare(f, series.Spec{Features: *df.features, Target: *df.target, Split: *df.split, Lookback: *lookback, Horizon: 1})
	if err != nil {
		return fmt.Errorf("--csv %s: %w", *df.csv, err)
	}
	ctx, stop := interruptible(stderr)
	defer stop()
	r, err := timeseries.FitImputer(d, timeseries.ImputeOptions{Arch: *arch, MaskRatio: *ratio, DModel: *dModel, Heads: *heads, Layers: *layers, Dropout: 0.1,
		Epochs: *epochs, Batch: *batch, LR: *lr, Seed: *seed, MaskSeed: *maskSeed, Progress: stderr, Context: ctx})
	if err != nil {
		return err
	}
	if *asJSON {
		js, err := json.MarshalIndent(map[string]any{"csv": *df.csv, "columns": d.Inputs, "mask_ratio": *ratio, "lookback": *lookback, "result": r}, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, string(js))
		return nil
	}
	fmt.Fprintf(stdout, "%s: %d variates (%s), windows of %d: %d train, %d validation, %d test; %.1f %% of entries masked\n", f.Name, d.N, strings.Join(d.Inputs, ", "), *lookback,
		d.Len(series.Train), d.Len(series.Val), d.Len(series.Test), 100**ratio)
	if r.Params > 0 {
		fmt.Fprintf(stdout, "%s: %d parameters, epoch %d kept, %.1f s\n", *arch, r.Params, r.BestEpoch, r.Seconds)
	}
	fmt.Fprintf(stdout, "masked entries (scaled data): validation MSE %.4f MAE %.4f; test MSE %.4f MAE %.4f (%d entries)\n", r.Val.MSE, r.Val.MAE, r.Test.MSE, r.Test.MAE, r.Test.Masked)
	return nil
}
