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
	// Task is what the model's head does: forecasting ("", Forward maps
	// Lookback steps to Horizon), TaskReconstruction (Forward maps a window
	// to itself, Horizon = Lookback: anomaly detection and imputation) or
	// TaskClassification (Classify, no forecasting head).
	Task string `json:"task_name,omitempty"`
	// Classes is the number of classes of TaskClassification.
	Classes int `json:"num_class,omitempty"`
	// TokenConv embeds the temporal Transformer's tokens as
	// Time-Series-Library's TokenEmbedding does, a Conv1d(N → D) of kernel
	// 3 over neighbouring steps with circular padding and no bias, instead
	// of Linear(N → D) on each step alone.
	TokenConv bool `json:"token_conv,omitempty"`
	// PatchLen and Stride cut PatchTST's patches (0: 16 and 8).
	PatchLen int    `json:"patch_len,omitempty"`
	Stride   int    `json:"stride,omitempty"`
	Seed     uint64 `json:"seed"`
}

// Tasks a model's head serves (Config.Task), as Time-Series-Library's
// task_name.
const (
	TaskForecast       = ""
	TaskReconstruction = "reconstruction"
	TaskClassification = "classification"
)

// Classifier is a model built for TaskClassification.
type Classifier interface {
	Model
	// Classify maps x [B, L, N] and its padding mask [B, L] (1 where a
	// step is observed, 0 where a shorter series was padded; nil: all
	// observed) to class logits [B, Classes].
	Classify(ctx *nn.Ctx, x *autograd.Var, mask *tensor.Tensor) *autograd.Var
}

// Imputer is a reconstruction model that takes the mask of observed
// inputs into account beyond their zeroed values (PatchTST normalises by
// the observed values' statistics, as Time-Series-Library's imputation
// does). Models without it impute by Forward on the zero-filled input.
type Imputer interface {
	Model
	// Impute maps x [B, L, N] with missing entries zeroed, its marks and
	// the mask [B, L, N] (1 observed, 0 missing) to the reconstruction.
	Impute(ctx *nn.Ctx, x, marks *autograd.Var, mask *tensor.Tensor) *autograd.Var
}

// maskedNormalise is normalise with the statistics of the observed
// entries (mask [B, L, N], 1 observed): mean Σx/Σmask and deviation
// √(Σ(x − mean)²·mask/Σmask + 1e-5), as Time-Series-Library's imputation
// computes them; the missing entries stay zero.
func maskedNormalise(x *autograd.Var, mask *tensor.Tensor) (*autograd.Var, func(*autograd.Var) *autograd.Var) {
	m := autograd.Const(mask.To(x.Value.DType()))
	var means, std *tensor.Tensor
	autograd.NoGrad(func() {
		cnt := autograd.Sum(m, true, 1) // [B, 1, N]
		mu := autograd.Div(autograd.Sum(autograd.Mul(x, m), true, 1), cnt)
		d := autograd.Mul(autograd.Sub(x, mu), m)
		v := autograd.Div(autograd.Sum(autograd.Mul(d, d), true, 1), cnt)
		means, std = mu.Value, autograd.Sqrt(autograd.AddScalar(v, 1e-5)).Value
	})
	y := autograd.Mul(autograd.Div(autograd.Sub(x, autograd.Const(means)), autograd.Const(std)), m)
	return y, func(out *autograd.Var) *autograd.Var {
		return autograd.Add(autograd.Mul(out, autograd.Const(std)), autograd.Const(means))
	}
}

// checkTask checks the task fields of c.
func (c Config) checkTask() error {
	switch c.Task {
	case TaskForecast:
	case TaskReconstruction:
		if c.Horizon != c.Lookback {
			return fmt.Errorf("%s: reconstruction needs horizon %d = lookback %d", c.Arch, c.Horizon, c.Lookback)
		}
	case TaskClassification:
		if c.Classes < 2 {
			return fmt.Errorf("%s: classification into %d classes, want at least 2", c.Arch, c.Classes)
		}
		if c.Variates < 1 {
			return fmt.Errorf("%s: classification needs the number of variates, have %d", c.Arch, c.Variates)
		}
	default:
		return fmt.Errorf("%s: task %q, want %q (forecasting), %q or %q", c.Arch, c.Task, TaskForecast, TaskReconstruction, TaskClassification)
	}
	return nil
}

// notForecasting panics: Forward on a classifier.
func notForecasting(c Config) {
	panic(fmt.Sprintf("forecast: the %s model is built for %s; call Classify", c.Arch, c.Task))
}

// padMask returns mask [B, L] as a constant [B, L, 1] of x's type.
func padMask(mask *tensor.Tensor, x *autograd.Var) *autograd.Var {
	return autograd.Const(mask.Reshape(mask.Dim(0), mask.Dim(1), 1).To(x.Value.DType()))
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
	if err := c.checkTask(); err != nil {
		return nil, err
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
