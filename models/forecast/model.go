// Package forecast holds loom's multivariate time-series forecasters and
// the harness that trains and scores them: iTransformer (arXiv 2310.06625,
// itransformer.go), a vanilla Transformer on temporal tokens
// (transformer.go), DLinear (dlinear.go) and repeat-the-last-value
// (naive.go), all behind one Model interface and trained the way
// Time-Series-Library's long-term forecasting experiment trains them (MSE,
// Adam, learning rate halved every epoch, early stopping on validation).
//
//	d, _ := series.Prepare(series.ReadETTh1(), series.Spec{Lookback: 96, Horizon: 96})
//	m, _ := forecast.New(forecast.Defaults("itransformer", d))
//	res, _ := forecast.Fit(m, d, forecast.FitOptions{})
//	fmt.Println(res.Test.MSE, res.Test.MAE)
package forecast

import (
	"fmt"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/internal/registry"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// Model forecasts Horizon steps of N variates from Lookback steps.
type Model interface {
	nn.Module
	// Forward maps x [B, L, N] (scaled) and its time features marks
	// [B, L, F] (may be nil) to forecasts [B, S, N]. A training ctx with
	// an RNG applies dropout; a nil ctx is evaluation.
	Forward(ctx *nn.Ctx, x, marks *autograd.Var) *autograd.Var
	// Config returns the model's configuration.
	Config() Config
}

// Config describes a forecaster; it is saved as config.json.
type Config struct {
	Arch     string  `json:"arch"` // itransformer, transformer, dlinear, naive
	Lookback int     `json:"lookback"`
	Horizon  int     `json:"horizon"`
	Variates int     `json:"variates"`      // N (architectures that fix it: transformer)
	Marks    int     `json:"time_features"` // F
	DModel   int     `json:"d_model,omitempty"`
	DFF      int     `json:"d_ff,omitempty"`
	Heads    int     `json:"n_heads,omitempty"`
	Layers   int     `json:"e_layers,omitempty"`
	Dropout  float64 `json:"dropout,omitempty"`
	UseNorm  bool    `json:"use_norm,omitempty"` // per-sample, per-variate normalisation
	Kernel   int     `json:"moving_avg,omitempty"`
	Seed     uint64  `json:"seed"`
}

var archs = registry.New[func(c Config, rng *tensor.RNG) (Model, error)]("arch")

// Register makes an architecture constructible by name (from init).
func Register(name string, ctor func(c Config, rng *tensor.RNG) (Model, error)) {
	archs.Register(name, ctor)
}

// Archs lists the registered architectures.
func Archs() []string { return archs.Names() }

// New builds c's model with weights drawn from a generator seeded c.Seed.
func New(c Config) (Model, error) {
	ctor, err := archs.Get(c.Arch)
	if err != nil {
		return nil, err
	}
	if c.Lookback < 1 || c.Horizon < 1 {
		return nil, fmt.Errorf("lookback %d and horizon %d must be positive", c.Lookback, c.Horizon)
	}
	return ctor(c, tensor.NewRNG(c.Seed))
}

// normalise subtracts each sample's per-variate mean over time and divides
// by √(var + 1e-5) (population variance), the statistics detached, as the
// official iTransformer does; restore undoes it on [B, S, N] forecasts.
func normalise(x *autograd.Var) (*autograd.Var, func(*autograd.Var) *autograd.Var) {
	var means, std *tensor.Tensor
	autograd.NoGrad(func() {
		m := autograd.Mean(x, true, 1) // [B, 1, N]
		v := autograd.Variance(autograd.Sub(x, m), 0, true, 1)
		means, std = m.Value, autograd.Sqrt(autograd.AddScalar(v, 1e-5)).Value
	})
	y := autograd.Div(autograd.Sub(x, autograd.Const(means)), autograd.Const(std))
	return y, func(out *autograd.Var) *autograd.Var {
		return autograd.Add(autograd.Mul(out, autograd.Const(std)), autograd.Const(means))
	}
}

func (c Config) checkTransformer() error {
	switch {
	case c.DModel < 1 || c.DFF < 1 || c.Layers < 1 || c.Heads < 1:
		return fmt.Errorf("%s: d_model %d, d_ff %d, e_layers %d and n_heads %d must be positive", c.Arch, c.DModel, c.DFF, c.Layers, c.Heads)
	case c.DModel%c.Heads != 0:
		return fmt.Errorf("%s: n_heads %d does not divide d_model %d", c.Arch, c.Heads, c.DModel)
	case c.Dropout < 0 || c.Dropout >= 1:
		return fmt.Errorf("%s: dropout %v, want [0, 1)", c.Arch, c.Dropout)
	}
	return nil
}
