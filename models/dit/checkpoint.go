package dit

import (
	"fmt"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// A checkpoint is a directory of config.json (Config, with DiT's key names)
// and model.safetensors (the parameters under their names: the official
// ones, with the attention's q/k/v/o split as loom's attention names them,
// and the patch embedding as a Linear; testdata/gen_dit.py converts).
const (
	ConfigFile  = nn.ModelConfigFile
	WeightsFile = nn.ModelWeightsFile
)

// Save writes m into dir (atomically: a new directory replaces dir).
func Save(m *Model, dir string) error {
	return fsutil.ReplaceDir(dir, fsutil.Options{Force: true}, func(tmp string) error { return SaveInto(m, tmp) })
}

// SaveInto writes m's two files into the existing directory dir (a
// training checkpoint's).
func SaveInto(m *Model, dir string) error {
	return nn.SaveModelDir(dir, m.Cfg, m.Params(), map[string]string{"format": "pt", "loom": "dit"})
}

// Load reads a checkpoint directory; errors name the file.
func Load(dir string) (*Model, error) {
	var c Config
	path, dir, err := nn.ReadModelConfig(dir, &c)
	if err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m, err := New(c, 0)
	if err != nil {
		return nil, err
	}
	if err := nn.LoadModelWeights(dir, m.Params()); err != nil {
		return nil, err
	}
	return m, nil
}

// Batch is images [B, C, S, S] with their labels.
type Batch struct {
	X *tensor.Tensor
	Y []int
}

// Set is a labelled image set as train.Examples.
type Set struct {
	X *tensor.Tensor
	Y []int
}

// Len returns the number of images.
func (s Set) Len() int { return len(s.Y) }

// Batch gathers images idx.
func (s Set) Batch(idx []int) Batch {
	y := make([]int, len(idx))
	for i, j := range idx {
		y[i] = s.Y[j]
	}
	return Batch{X: tensor.IndexSelect(s.X, 0, idx), Y: y}
}

// Trainer adapts m to train.Loop: its objective on a batch draws the
// timesteps, noise and label drops from the loop's random stream
// (ctx.RNG, checkpointed with the run).
type Trainer struct{ M *Model }

// Params returns the model's parameters.
func (t Trainer) Params() []*autograd.Var { return t.M.Params() }

// Loss is the model's noise-prediction loss on b.
func (t Trainer) Loss(ctx *nn.Ctx, b Batch) *autograd.Var {
	rng := ctx.RNG
	if rng == nil {
		rng = tensor.NewRNG(0)
	}
	return t.M.Loss(ctx, b.X, b.Y, rng)
}
