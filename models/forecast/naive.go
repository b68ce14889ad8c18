package forecast

import (
	"fmt"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// Naive repeats the last observed value of every variate over the horizon.
// It has no parameters; Fit only scores it.
type Naive struct{ Cfg Config }

func init() {
	Register("naive", func(c Config, _ *tensor.RNG) (Model, error) {
		if c.Task == TaskClassification {
			return nil, fmt.Errorf("naive: no classification head (it has no parameters)")
		}
		return &Naive{Cfg: c}, nil
	})
}

// Params returns nothing.
func (*Naive) Params() []*autograd.Var { return nil }

// Forward maps x [B, L, N] to [B, S, N] (x's last row, repeated).
func (m *Naive) Forward(_ *nn.Ctx, x, _ *autograd.Var) *autograd.Var {
	B, L, N := x.Dim(0), x.Dim(1), x.Dim(2)
	last := autograd.Slice(x, 1, L-1, L) // [B, 1, N]
	return autograd.Contiguous(autograd.Expand(last, B, m.Cfg.Horizon, N))
}

// Config returns the configuration.
func (m *Naive) Config() Config { return m.Cfg }
