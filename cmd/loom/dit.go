package main

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/loomml/loom/data/digits"
	"github.com/loomml/loom/internal/kernels"
	"github.com/loomml/loom/models/dit"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/train"
)

func init() {
	register("dit", "Diffusion transformer: `loom dit train` (class-conditional DiT on the embedded 8×8 digits) and `loom dit sample` (a PNG grid).", withSubcommands("dit", ditUsage, map[string]command{"train": ditTrain, "sample": ditSample}))
}

const ditUsage = `usage: loom dit train --out DIR [flags]    train a class-conditional DiT on the embedded 8×8 digits
       loom dit sample --model DIR --out FILE.png [flags]    draw a grid of samples, one row per class`

func ditTrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("dit train", "--out DIR [flags]", stderr)
	out := fs.String("out", "", "directory for the run: checkpoint/, metrics.jsonl, loss.png, samples.png (required; new or empty unless --force)")
	force := fs.Bool("force", false, forceHelp)
	steps := intFlag(fs, "steps", 6000, "optimizer steps", atLeast(1))
	batch := intFlag(fs, "batch", 64, "images per step", atLeast(1))
	lr := floatFlag(fs, "lr", 1e-3, "peak learning rate (AdamW, warmup a twentieth of the steps, cosine to 0.1×)", above(0))
	hidden := intFlag(fs, "hidden", 96, "width", atLeast(2))
	depth := intFlag(fs, "depth", 4, "blocks", atLeast(1))
	heads := intFlag(fs, "heads", 4, "attention heads (dividing --hidden)", atLeast(1))
	patch := intFlag(fs, "patch", 2, "patch side (dividing 8)", atLeast(1))
	diffSteps := intFlag(fs, "diffusion-steps", 200, "DDPM steps (the linear β schedule of 1000 steps rescaled)", atLeast(2))
	seed := fs.Uint64("seed", 1, "seed of the weights, batches, timesteps and noise")
	threads := intFlag(fs, "threads", 0, "threads", atLeast(1), sp{0, "all cores"})
	param := choice(fs, "param", dit.ParamSP, "parametrisation: sp (standard) or mup (μP: a learning rate tuned at --base-width transfers to this width)", dit.ParamSP, dit.ParamMuP)
	baseWidth := intFlag(fs, "base-width", 0, "μP's base width (with --param mup; a multiple of --heads)", atLeast(1), sp{0, "--hidden"})
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		fmt.Fprintln(stderr, "loom dit train: --out is required")
		fs.Usage()
		return errUsage
	}
	if err := checkOut(*out, true, *force); err != nil {
		return err
	}
	if *threads > 0 {
		kernels.SetThreads(*threads)
	}
	cfg := dit.Config{ImageSize: digits.Size, Channels: 1, PatchSize: *patch, Hidden: *hidden, Depth: *depth, Heads: *heads,
		MLPRatio: 4, Classes: digits.Classes, ClassDropout: 0.1, Diffusion: dit.Schedule{Steps: *diffSteps}}
	switch {
	case *param == dit.ParamMuP:
		cfg.Param, cfg.BaseWidth = dit.ParamMuP, cmp.Or(*baseWidth, *hidden)
	case *baseWidth != 0:
		return fmt.Errorf("--base-width applies to --param mup")
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("--patch/--hidden/--heads/--diffusion-steps/--base-width: %w", err)
	}
	m, err := dit.New(cfg, *seed)
	if err != nil {
		return err
	}
	x, y, err := digits.Load()
	if err != nil {
		return err
	}
	if *force {
		os.RemoveAll(*out)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	h := train.Hyper{Steps: *steps, BatchSize: *batch, LR: *lr, Warmup: max(1, *steps/20), MinLRFactor: 0.1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Clip: 1}
	loop := &train.Loop[dit.Batch]{Model: dit.Trainer{M: m}, Data: train.NewEpochSampler[dit.Batch](dit.Set{X: x, Y: y}, *batch, *seed), Hyper: h,
		RNG: tensor.NewRNG(*seed + 1), OutDir: *out, Progress: stderr, SaveModel: func(dir string) error { return dit.SaveInto(m, dir) },
		Meta: map[string]string{"data": "digits (embedded)"}, Plot: train.PlotLossAs("noise-prediction MSE")}
	if err := loop.Train(); err != nil {
		return err
	}
	grid := filepath.Join(*out, "samples.png")
	if err := writeSampleGrid(m, grid, 8, 2, *seed); err != nil {
		return err
	}
	ms := loop.Metrics()
	fmt.Fprintf(stdout, "trained %d steps on %d digits (%d parameters): loss %.4f at the end; checkpoint: %s; samples: %s\n",
		*steps, len(y), numParams(m), ms[len(ms)-1].Loss, filepath.Join(*out, "checkpoint"), grid)
	return nil
}

func numParams(m *dit.Model) int {
	n := 0
	for _, p := range m.Params() {
		n += p.Value.Numel()
	}
	return n
}

func ditSample(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("dit sample", "--model DIR --out FILE.png [flags]", stderr)
	model := fs.String("model", "", "a `loom dit train` run directory or its checkpoint directory (required)")
	out := fs.String("out", "", "PNG file to write (required)")
	per := intFlag(fs, "per-class", 8, "samples of each class (one row per class)", atLeast(1))
	guidance := floatFlag(fs, "guidance", 2, "classifier-free guidance scale (1: none)", atLeast(0))
	seed := fs.Uint64("seed", 1, "seed of the noise")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *model == "" || *out == "" {
		fmt.Fprintln(stderr, "loom dit sample: --model and --out are required")
		fs.Usage()
		return errUsage
	}
	dir := *model
	if _, err := os.Stat(filepath.Join(dir, "checkpoint", dit.ConfigFile)); err == nil {
		dir = filepath.Join(dir, "checkpoint")
	}
	m, err := dit.Load(dir)
	if err != nil {
		return err
	}
	if err := writeSampleGrid(m, *out, *per, *guidance, *seed); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d classes × %d samples (guidance %g)\n", *out, m.Cfg.Classes, *per, *guidance)
	return nil
}

// writeSampleGrid samples per images of each class and writes them as a
// PNG grid, one row per class, each pixel 4×4, values −1…1 as black…white.
func writeSampleGrid(m *dit.Model, path string, per int, guidance float64, seed uint64) error {
	s := m.Sample(m.ClassLabels(per), guidance, tensor.NewRNG(seed))
	return dit.WriteGrid(path, []*tensor.Tensor{s}, m.Cfg.Classes, per)
}
