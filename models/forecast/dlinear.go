package forecast

// DLinear, from "Are Transformers Effective for Time Series Forecasting?"
// (arXiv 2205.13504; Time-Series-Library models/DLinear.py): a moving
// average (kernel 25, edges padded by repeating the first and last values)
// splits each variate into trend and remainder; one Linear(L → S) for each,
// shared by all variates, initialised to 1/L; their sum is the forecast.

import (
	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// DLinear is the shared-weight (individual = False) DLinear.
type DLinear struct {
	Cfg             Config
	Seasonal, Trend *nn.Linear // Linear_Seasonal, Linear_Trend
	// Class is the classification head over the L·N outputs of the two
	// linears (which then map L → L), Linear(L·N → classes).
	Class *nn.Linear
	avg   *tensor.Tensor
}

func init() {
	Register("dlinear", func(c Config, rng *tensor.RNG) (Model, error) {
		k := c.Kernel
		if k == 0 {
			k = 25
		}
		S := c.Horizon
		if c.Task == TaskClassification {
			S = c.Lookback // Time-Series-Library sets pred_len = seq_len for classification
		}
		m := &DLinear{Cfg: c,
			Seasonal: nn.NewTorchLinear("Linear_Seasonal", c.Lookback, S, true, rng),
			Trend:    nn.NewTorchLinear("Linear_Trend", c.Lookback, S, true, rng)}
		for _, l := range []*nn.Linear{m.Seasonal, m.Trend} {
			l.Weight.Value = tensor.Full(1/float32(c.Lookback), S, c.Lookback)
		}
		if c.Task == TaskClassification {
			m.Class = nn.NewTorchLinear("projection", c.Variates*c.Lookback, c.Classes, true, rng)
		}
		// The moving average as a fixed [L, L] matrix: trend_t is the mean of
		// x over t−(k−1)/2 … t+(k−1)/2 with indices clamped to the window
		// (edge replication).
		L, h := c.Lookback, (k-1)/2
		avg := tensor.New(tensor.Float32, L, L)
		for t := range L {
			for j := t - h; j <= t+h; j++ {
				s := min(max(j, 0), L-1)
				avg.Set(avg.At(t, s)+1/float64(2*h+1), t, s)
			}
		}
		m.avg = avg
		return m, nil
	})
}

// Params returns both linears.
func (m *DLinear) Params() []*autograd.Var { return nn.Collect(m.Seasonal, m.Trend, m.Class) }

// Classify maps x [B, L, N] to logits [B, classes]: the decomposition's
// [B, L, N] output flattened, as Time-Series-Library's classification.
func (m *DLinear) Classify(_ *nn.Ctx, x *autograd.Var, _ *tensor.Tensor) *autograd.Var {
	B, L, N := x.Dim(0), x.Dim(1), x.Dim(2)
	y := autograd.Contiguous(m.decompose(x, L)) // [B, L, N]
	return m.Class.Forward(autograd.Reshape(y, B, L*N))
}

// Forward maps x [B, L, N] to [B, S, N]; time features are not used.
func (m *DLinear) Forward(_ *nn.Ctx, x, _ *autograd.Var) *autograd.Var {
	if m.Class != nil {
		notForecasting(m.Cfg)
	}
	return m.decompose(x, m.Cfg.Horizon)
}

// decompose is the two linears on trend and remainder, [B, S, N].
func (m *DLinear) decompose(x *autograd.Var, S int) *autograd.Var {
	B, L, N := x.Dim(0), x.Dim(1), x.Dim(2)
	xs := autograd.Reshape(autograd.Contiguous(autograd.Permute(x, 0, 2, 1)), B*N, L) // [(B N), L]
	trend := autograd.MatMul(xs, autograd.Const(m.avg), false, true)                  // [(B N), L]
	season := autograd.Sub(xs, trend)
	y := autograd.Add(m.Seasonal.Forward(season), m.Trend.Forward(trend)) // [(B N), S]
	return autograd.Permute(autograd.Reshape(y, B, N, S), 0, 2, 1)
}

// Config returns the configuration.
func (m *DLinear) Config() Config { return m.Cfg }
