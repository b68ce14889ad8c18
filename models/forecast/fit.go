package forecast

import (
	"fmt"
	"io"
	"math"
	"time"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/data/series"
	"github.com/loomml/loom/internal/progress"
	"github.com/loomml/loom/optim"
	"github.com/loomml/loom/tensor"
)

// Defaults returns the official settings of arch for data d (the
// iTransformer scripts for ETTh1: 2 layers, 8 heads, d_model = d_ff = 256
// up to horizon 192 and 512 beyond, dropout 0.1). The temporal Transformer
// gets the same depth, heads and dropout at d_model = d_ff = 128: its 96
// tokens per window cost ~9× iTransformer's 11 at equal width, and the
// smaller width keeps the four models' training at horizon 96 within ten
// minutes on two cores. DLinear gets its kernel of 25.
func Defaults(arch string, d *series.Dataset) Config {
	c := Config{Arch: arch, Lookback: d.Spec.Lookback, Horizon: d.Spec.Horizon, Variates: d.N, Marks: d.F, Seed: 1}
	switch arch {
	case "itransformer", "transformer":
		c.DModel, c.DFF = 256, 256
		if d.Spec.Horizon > 192 {
			c.DModel, c.DFF = 512, 512
		}
		c.Heads, c.Layers, c.Dropout, c.UseNorm = 8, 2, 0.1, true
		if arch == "transformer" {
			c.DModel, c.DFF = 128, 128
		}
	case "dlinear":
		c.Kernel = 25
	}
	return c
}

// DefaultLR is the learning rate of arch's official ETTh1 script.
func DefaultLR(arch string) float64 {
	if arch == "dlinear" {
		return 0.005
	}
	return 1e-4
}

// FitOptions configure Fit; zero values take the defaults shown.
type FitOptions struct {
	Epochs   int     // 10
	Batch    int     // 32
	LR       float64 // DefaultLR(arch)
	Patience int     // 3: epochs without a better validation loss before stopping
	Seed     uint64  // batch order and dropout
	Progress io.Writer
}

// Metrics are errors on scaled data over the scored columns.
type Metrics struct {
	MSE     float64 `json:"mse"`
	MAE     float64 `json:"mae"`
	Windows int     `json:"windows"`
}

// Result is what Fit reports.
type Result struct {
	Epochs    int       `json:"epochs"`     // epochs run
	BestEpoch int       `json:"best_epoch"` // 1-based epoch whose weights were kept
	TrainLoss []float64 `json:"train_loss"` // mean training loss per epoch
	ValLoss   []float64 `json:"val_loss"`   // validation MSE per epoch
	Val       Metrics   `json:"val"`
	Test      Metrics   `json:"test"`
	Seconds   float64   `json:"seconds"`
}

// scored selects the columns d scores from [B, S, N] forecasts.
func scored(y *autograd.Var, d *series.Dataset) *autograd.Var {
	if len(d.Outputs) == d.N {
		return y
	}
	o := d.Outputs[0] // S and MS: the target, last
	return autograd.Slice(y, 2, o, o+1)
}

// Fit trains m on d's training windows as Time-Series-Library's long-term
// forecasting experiment does (MSE on the scored columns, Adam, the
// learning rate halved after every epoch, early stopping on the validation
// MSE with the best epoch's weights restored) and scores it on the
// validation and test windows.
func Fit(m Model, d *series.Dataset, o FitOptions) (*Result, error) {
	start := time.Now()
	cfg := m.Config()
	if o.Epochs == 0 {
		o.Epochs = 10
	}
	if o.Batch == 0 {
		o.Batch = 32
	}
	if o.LR == 0 {
		o.LR = DefaultLR(cfg.Arch)
	}
	if o.Patience == 0 {
		o.Patience = 3
	}
	if cfg.Lookback != d.Spec.Lookback || cfg.Horizon != d.Spec.Horizon {
		return nil, fmt.Errorf("model for lookback %d, horizon %d; data cut for %d, %d", cfg.Lookback, cfg.Horizon, d.Spec.Lookback, d.Spec.Horizon)
	}
	res := &Result{}
	params := m.Params()
	if len(params) > 0 {
		opt := optim.NewAdam([]*optim.Group{{Params: params, LR: o.LR}})
		rng := tensor.NewRNG(o.Seed)
		drop := tensor.NewRNG(o.Seed + 1)
		n := d.Len(series.Train)
		steps := n / o.Batch // the last partial batch is dropped, as drop_last
		if steps == 0 {
			return nil, fmt.Errorf("%d training windows, fewer than one batch of %d", n, o.Batch)
		}
		best := math.Inf(1)
		var bestVals []*tensor.Tensor
		bad := 0
		for epoch := range o.Epochs {
			opt.SetLRScale(math.Pow(0.5, float64(epoch))) // lr·0.5^(epoch−1), Time-Series-Library's "type1"
			perm := rng.Perm(n)
			bar := progress.New(orDiscard(o.Progress), fmt.Sprintf("%s epoch %d/%d", cfg.Arch, epoch+1, o.Epochs), steps)
			var sum float64
			for s := range steps {
				x, marks, y := d.Batch(series.Train, perm[s*o.Batch:(s+1)*o.Batch])
				autograd.ZeroGrads(params)
				out := m.Forward(autograd.Const(x), autograd.Const(marks), drop)
				loss := autograd.MSELoss(scored(out, d), scored(autograd.Const(y), d))
				loss.Backward()
				opt.Step()
				sum += loss.Item()
				bar.Update(s+1, fmt.Sprintf("loss %.4f", sum/float64(s+1)))
			}
			val := Evaluate(m, d, series.Val)
			res.TrainLoss = append(res.TrainLoss, sum/float64(steps))
			res.ValLoss = append(res.ValLoss, val.MSE)
			res.Epochs = epoch + 1
			bar.Done(fmt.Sprintf("loss %.4f", sum/float64(steps)), fmt.Sprintf("val %.4f", val.MSE))
			if val.MSE < best {
				best, bad, res.BestEpoch = val.MSE, 0, epoch+1
				bestVals = bestVals[:0]
				for _, p := range params {
					bestVals = append(bestVals, p.Value.Clone())
				}
			} else if bad++; bad >= o.Patience {
				break
			}
		}
		for i, p := range params {
			p.Value = bestVals[i]
		}
	}
	res.Val = Evaluate(m, d, series.Val)
	res.Test = Evaluate(m, d, series.Test)
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// Evaluate returns the MSE and MAE of m's forecasts over every window of
// part p (scaled data, scored columns).
func Evaluate(m Model, d *series.Dataset, p series.Part) Metrics {
	n := d.Len(p)
	var se, ae float64
	var count int
	autograd.NoGrad(func() {
		for lo := 0; lo < n; lo += 256 {
			idx := make([]int, 0, 256)
			for i := lo; i < min(n, lo+256); i++ {
				idx = append(idx, i)
			}
			x, marks, y := d.Batch(p, idx)
			out := scored(m.Forward(autograd.Const(x), autograd.Const(marks), nil), d).Value.Contiguous()
			want := scored(autograd.Const(y), d).Value.Contiguous()
			wv := want.Float64s()
			for i, v := range out.Float64s() {
				e := v - wv[i]
				se += e * e
				ae += math.Abs(e)
			}
			count += out.Numel()
		}
	})
	return Metrics{MSE: se / float64(count), MAE: ae / float64(count), Windows: n}
}
