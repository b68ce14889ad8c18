package atoms

import (
	"context"
	"fmt"
	"io"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/train"
)

// Trainer adapts a Model to train.Loop[*Batch]: its objective is
// Model.Loss, on each batch turned by random rotations (Config.Rotate)
// drawn from the loop's random stream (ctx.RNG, checkpointed with the
// run).
type Trainer struct{ M *Model }

// Params returns the model's parameters.
func (t Trainer) Params() []*autograd.Var { return t.M.Params() }

// Loss is the model's objective on b, rotated in training when the
// configuration asks.
func (t Trainer) Loss(ctx *nn.Ctx, b *Batch) *autograd.Var {
	if err := t.M.Ref.Check(b); err != nil {
		panic(err)
	}
	if t.M.Config.Rotate && ctx.Training() {
		rng := ctx.RNG
		if rng == nil {
			panic("atoms: rotation augmentation needs the loop's RNG (train.Loop.RNG)")
		}
		b = b.Rotated(rng)
	}
	return t.M.Loss(ctx, b)
}

// RunConfig is everything a training run of a model on atoms needs
// besides the data: the model, the optimiser's settings (AdamW with warmup
// and cosine decay; BatchSize is in molecules) and how often to evaluate
// on the validation set. Model.Seed seeds the initialisation, the
// sampler's shuffles (Seed+1) and the rotations (Seed+2).
type RunConfig struct {
	Model     Config      `json:"model"`
	Train     train.Hyper `json:"train"`
	EvalEvery int         `json:"eval_every"` // steps between validations (0: at the end)
	EvalBatch int         `json:"eval_batch"` // molecules per validation batch (0: 64)
}

// DefaultRun returns a run of arch (ArchTransformer or ArchSchNet) with
// the defaults of Config and 2,000 steps of 32 molecules at a learning
// rate of 1e-3 (100 warmup steps, cosine to a tenth, gradient norm clipped
// at 10), validating every 200 steps. The Transformer trains with
// rotations and an auxiliary direct force head of weight 10 (see the
// package documentation: without it, forces by −∂E/∂x did not leave their
// initial plateau).
func DefaultRun(arch string) RunConfig {
	c := Config{Arch: arch}
	if arch == ArchTransformer {
		c.Rotate, c.AuxForceWeight = true, 10
	}
	c = c.Defaults()
	return RunConfig{
		Model:     c,
		Train:     train.Hyper{Steps: 2000, BatchSize: 32, LR: 1e-3, MinLRFactor: 0.1, Warmup: 100, Clip: 10},
		EvalEvery: 200,
	}
}

// FitOptions are where a run writes and how it reports.
type FitOptions struct {
	OutDir   string    // checkpoint, metrics.jsonl, loss.png ("": none)
	Progress io.Writer // progress bar (nil: none)
	Context  context.Context
	// Resume continues from OutDir's checkpoint when there is one.
	Resume bool
}

// Fit trains a model of rc on trainSet (fitting its reference energies
// there), validating on valSet (none when empty) with the objective
// (Evaluate's Loss) and keeping the weights of the best validation. It
// returns the model and the loop's metrics.
func Fit(rc RunConfig, trainSet, valSet []Molecule, o FitOptions) (*Model, []train.Metric, error) {
	ref, err := FitReference(trainSet)
	if err != nil {
		return nil, nil, err
	}
	m, err := New(rc.Model, ref)
	if err != nil {
		return nil, nil, err
	}
	for i := range valSet {
		if err := ref.Check(Collate(valSet[i : i+1])); err != nil {
			return nil, nil, fmt.Errorf("validation molecule %d: %w", i, err)
		}
	}
	if rc.Train.BatchSize <= 0 || rc.Train.Steps <= 0 {
		return nil, nil, fmt.Errorf("atoms: batch size %d and steps %d must be positive", rc.Train.BatchSize, rc.Train.Steps)
	}
	seed := m.Config.Seed
	loop := &train.Loop[*Batch]{
		Model:     Trainer{m},
		Data:      train.NewEpochSampler[*Batch](Set(trainSet), rc.Train.BatchSize, seed+1),
		Hyper:     rc.Train,
		RNG:       tensor.NewRNG(seed + 2),
		EvalEvery: rc.EvalEvery,
		OutDir:    o.OutDir,
		Progress:  o.Progress,
		Context:   o.Context,
		SaveModel: func(dir string) error { return SaveInto(m, dir) },
		Meta:      map[string]string{"family": "atoms", "arch": m.Config.Arch},
	}
	if len(valSet) > 0 {
		bs := rc.EvalBatch
		if bs <= 0 {
			bs = 64
		}
		loop.Validate = func() (float64, error) {
			r, err := Evaluate(m, valSet, bs)
			return r.Loss, err
		}
		loop.RestoreBest = true
	}
	if o.Resume && o.OutDir != "" {
		if _, ok, err := train.CheckpointStep(o.OutDir); err != nil {
			return nil, nil, err
		} else if ok {
			if err := loop.Resume(); err != nil {
				return nil, nil, err
			}
		}
	}
	if err := loop.Train(); err != nil {
		return m, loop.Metrics(), err
	}
	return m, loop.Metrics(), nil
}
