package timeseries

import (
	"context"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/data/series"
	"github.com/loomml/loom/models/forecast"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/train"
)

// ImputeOptions configure imputation as Time-Series-Library's imputation
// task runs it: windows of the data set's Lookback (96), a fresh random
// mask of MaskRatio of the entries per training batch, MSE on the masked
// entries; zero values take the defaults shown.
type ImputeOptions struct {
	Arch      string  // transformer, itransformer, dlinear, patchtst
	MaskRatio float64 // in (0, 1)
	DModel    int     // 64
	Heads     int     // 4
	Layers    int     // 2
	Dropout   float64 // 0.1 by the caller's choice
	Epochs    int     // 10
	Batch     int     // 32
	LR        float64 // 1e-3
	Patience  int     // 3 epochs without a lower validation MSE
	Seed      uint64  // weights, batches, training masks
	// MaskSeed draws the validation and test masks, so that every model
	// (and the interpolation baseline) meets the same ones (0: 1).
	MaskSeed uint64
	Progress io.Writer
	Context  context.Context
}

func (o ImputeOptions) withDefaults() ImputeOptions {
	o.Epochs = or(o.Epochs, 10)
	o.Batch = or(o.Batch, 32)
	o.LR = or(o.LR, 1e-3)
	o.Patience = or(o.Patience, 3)
	o.MaskSeed = or(o.MaskSeed, 1)
	return o
}

// ImputeMetrics are errors on the masked entries (scaled data).
type ImputeMetrics struct {
	MSE    float64 `json:"mse"`
	MAE    float64 `json:"mae"`
	Masked int     `json:"masked"`
}

// ImputeResult is a run's outcome.
type ImputeResult struct {
	Arch      string        `json:"arch"`
	Params    int           `json:"params,omitempty"`
	Steps     int           `json:"steps,omitempty"`
	BestEpoch int           `json:"best_epoch,omitempty"`
	Seconds   float64       `json:"seconds"`
	Val       ImputeMetrics `json:"val"`
	Test      ImputeMetrics `json:"test"`
}

// RandomMask draws a mask [B, L, N] with each entry missing (0) with
// probability ratio, as Time-Series-Library draws its masks.
func RandomMask(rng *tensor.RNG, ratio float64, shape ...int) *tensor.Tensor {
	m := tensor.Ones(shape...)
	v := m.F32()
	for i := range v {
		if rng.Float64() <= ratio {
			v[i] = 0
		}
	}
	return m
}

// imputeWith reconstructs x under mask: the model's Impute, or Forward on
// the zero-filled input.
func imputeWith(m forecast.Model, ctx *nn.Ctx, x, marks, mask *tensor.Tensor) *autograd.Var {
	xm := autograd.Const(tensor.Mul(x, mask))
	var mk *autograd.Var
	if marks != nil && marks.Dim(2) > 0 {
		mk = autograd.Const(marks)
	}
	if im, ok := m.(forecast.Imputer); ok {
		return im.Impute(ctx, xm, mk, mask)
	}
	return m.Forward(ctx, xm, mk)
}

// maskedLoss is the MSE over the masked entries.
func maskedLoss(out *autograd.Var, x, mask *tensor.Tensor) *autograd.Var {
	miss := autograd.Const(tensor.AddScalar(tensor.MulScalar(mask, -1), 1)) // 1 where masked
	d := autograd.Mul(autograd.Sub(out, autograd.Const(x)), miss)
	n := max(1.0, tensor.Sum(miss.Value, false).Float64s()[0])
	return autograd.MulScalar(autograd.Sum(autograd.Mul(d, d), false), 1/n)
}

// imputeBatches serves training windows.
type imputeBatches struct{ d *series.Dataset }

func (b imputeBatches) Len() int { return b.d.Len(series.Train) }

func (b imputeBatches) Batch(idx []int) [2]*tensor.Tensor {
	x, marks, _ := b.d.Batch(series.Train, idx)
	return [2]*tensor.Tensor{x, marks}
}

// imputeObjective draws a fresh mask per batch from the loop's RNG.
type imputeObjective struct {
	m     forecast.Model
	ratio float64
}

func (o imputeObjective) Params() []*autograd.Var { return o.m.Params() }

func (o imputeObjective) Buffers() []*autograd.Var { return forecast.Buffers(o.m) }

func (o imputeObjective) Loss(ctx *nn.Ctx, b [2]*tensor.Tensor) *autograd.Var {
	mask := RandomMask(ctx.RNG, o.ratio, b[0].Shape()...)
	return maskedLoss(imputeWith(o.m, ctx, b[0], b[1], mask), b[0], mask)
}

// FitImputer trains arch to fill masked entries of d's training windows
// and scores it on the validation and test windows under masks drawn
// from o.MaskSeed; Arch "linear" is linear interpolation (no training).
func FitImputer(d *series.Dataset, o ImputeOptions) (*ImputeResult, error) {
	o = o.withDefaults()
	if !(o.MaskRatio > 0 && o.MaskRatio < 1) {
		return nil, fmt.Errorf("mask ratio %v, want (0, 1)", o.MaskRatio)
	}
	res := &ImputeResult{Arch: o.Arch}
	start := time.Now()
	if o.Arch == "linear" {
		res.Val, res.Test = ScoreImputation(nil, d, series.Val, o.MaskRatio, o.MaskSeed), ScoreImputation(nil, d, series.Test, o.MaskRatio, o.MaskSeed)
		res.Seconds = time.Since(start).Seconds()
		return res, nil
	}
	L := d.Spec.Lookback
	c := backbone(o.Arch, forecast.TaskReconstruction, L, d.N, d.F, o.DModel, o.Heads, o.Layers, o.Dropout, o.Seed)
	m, err := forecast.New(c)
	if err != nil {
		return nil, err
	}
	perEpoch := max(1, d.Len(series.Train)/o.Batch)
	steps := o.Epochs * perEpoch
	loop := &train.Loop[[2]*tensor.Tensor]{
		Model:         imputeObjective{m, o.MaskRatio},
		Data:          train.NewEpochSampler[[2]*tensor.Tensor](imputeBatches{d}, o.Batch, o.Seed+1),
		Hyper:         train.Hyper{Steps: steps, BatchSize: o.Batch, LR: o.LR, MinLRFactor: 0.1, Warmup: steps / 20, Clip: 1},
		RNG:           tensor.NewRNG(o.Seed + 2),
		StepsPerEpoch: perEpoch,
		EvalEvery:     perEpoch,
		Patience:      o.Patience,
		RestoreBest:   true,
		Validate:      func() (float64, error) { return ScoreImputation(m, d, series.Val, o.MaskRatio, o.MaskSeed).MSE, nil },
		Progress:      o.Progress,
		Context:       o.Context,
	}
	if err := loop.Train(); err != nil {
		return nil, err
	}
	best, bestLoss := 0, math.Inf(1)
	for _, x := range loop.Metrics() {
		if x.ValLoss > 0 && x.ValLoss < bestLoss {
			best, bestLoss = x.Step, x.ValLoss
		}
	}
	res.Params, res.Steps, res.BestEpoch = autograd.NumParams(m.Params()), steps, (best+perEpoch-1)/perEpoch
	res.Val, res.Test = ScoreImputation(m, d, series.Val, o.MaskRatio, o.MaskSeed), ScoreImputation(m, d, series.Test, o.MaskRatio, o.MaskSeed)
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// ScoreImputation fills masked entries of every window of part p (masks
// drawn in window order from maskSeed, so the same for every model) by m,
// or by linear interpolation when m is nil, and returns the errors on
// them.
func ScoreImputation(m forecast.Model, d *series.Dataset, p series.Part, ratio float64, maskSeed uint64) ImputeMetrics {
	rng := tensor.NewRNG(maskSeed)
	var sq, abs float64
	n := 0
	total := d.Len(p)
	const bs = 64
	for lo := 0; lo < total; lo += bs {
		idx := make([]int, 0, bs)
		for i := lo; i < min(total, lo+bs); i++ {
			idx = append(idx, i)
		}
		x, marks, _ := d.Batch(p, idx)
		mask := RandomMask(rng, ratio, x.Shape()...)
		var out []float64
		if m == nil {
			out = interpolate(x, mask)
		} else {
			autograd.NoGrad(func() { out = imputeWith(m, nil, x, marks, mask).Value.Float64s() })
		}
		xv, mv := x.Float64s(), mask.Float64s()
		for i, keep := range mv {
			if keep == 0 {
				e := out[i] - xv[i]
				sq, abs, n = sq+e*e, abs+math.Abs(e), n+1
			}
		}
	}
	if n == 0 {
		return ImputeMetrics{}
	}
	return ImputeMetrics{MSE: sq / float64(n), MAE: abs / float64(n), Masked: n}
}

// interpolate fills the masked entries of each window and variate of x
// [B, L, N] linearly between the nearest observed entries in time (the
// nearest one at the ends; the variate's window mean, 0 after scaling,
// when nothing is observed).
func interpolate(x, mask *tensor.Tensor) []float64 {
	B, L, N := x.Dim(0), x.Dim(1), x.Dim(2)
	xv, mv := x.Float64s(), mask.Float64s()
	out := make([]float64, len(xv))
	col := make([]float64, L)
	for b := range B {
		for k := range N {
			for t := range L {
				i := (b*L+t)*N + k
				col[t] = math.NaN()
				if mv[i] != 0 {
					col[t] = xv[i]
				}
			}
			f, err := FillMissing(col)
			for t := range L {
				v := 0.0
				if err == nil {
					v = f[t]
				}
				out[(b*L+t)*N+k] = v
			}
		}
	}
	return out
}
