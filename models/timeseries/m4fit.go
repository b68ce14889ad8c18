package timeseries

import (
	"context"
	"encoding/json"
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

// M4Options configure short-term forecasting with Time-Series-Library's
// M4 protocol; zero values take the defaults shown.
type M4Options struct {
	Arch    string  // transformer, itransformer, dlinear, patchtst
	Horizon int     // 48 (M4 Hourly)
	Period  int     // 24
	DModel  int     // 64
	Heads   int     // 4
	Layers  int     // 2
	Dropout float64 // 0.1 by the caller's choice
	Epochs  int     // 10
	Batch   int     // 16
	LR      float64 // 1e-3
	// History is how far back from a series' end training windows end, in
	// horizons (0: 10, TSLib's history_size for Hourly).
	History  int
	Seed     uint64
	Progress io.Writer
	Context  context.Context
}

func (o M4Options) withDefaults() M4Options {
	o.Horizon = or(o.Horizon, series.M4Horizon)
	o.Period = or(o.Period, series.M4Period)
	o.Epochs = or(o.Epochs, 10)
	o.Batch = or(o.Batch, 16)
	o.LR = or(o.LR, 1e-3)
	o.History = or(o.History, 10)
	return o
}

// M4Result is a run's outcome: its scores and Naive2's on the test
// horizon, the validation sMAPE of the epoch kept, and the forecasts.
type M4Result struct {
	Arch      string         `json:"arch"`
	Params    int            `json:"params"`
	Steps     int            `json:"steps"`
	BestEpoch int            `json:"best_epoch"`
	ValSMAPE  float64        `json:"val_smape"`
	Test      M4Score        `json:"test"`
	Naive2    M4Score        `json:"naive2"`
	Seconds   float64        `json:"seconds"`
	Forecasts [][]float64    `json:"-"`
	Model     forecast.Model `json:"-"`
}

// m4Windows samples training windows as TSLib's Dataset_M4 does: per
// series, a cut point uniform in the last History·Horizon values (leaving
// a whole horizon after it, here), the Lookback values before it as input
// (zero-padded on the left with a mask) and the Horizon after it as target.
type m4Windows struct {
	series      [][]float64
	L, H, limit int
	rng         *tensor.RNG
	perm        []int
	pos, batch  int
}

type m4Batch struct{ x, y, ymask *tensor.Tensor }

func (w *m4Windows) next() m4Batch {
	B := w.batch
	xs, ys := make([]float32, B*w.L), make([]float32, B*w.H)
	ms := make([]float32, B*w.H)
	for b := range B {
		if w.pos == len(w.perm) {
			w.perm, w.pos = w.rng.Perm(len(w.series)), 0
		}
		s := w.series[w.perm[w.pos]]
		w.pos++
		hi := len(s) - w.H // the cut leaves a whole horizon after it
		lo := max(1, len(s)-w.limit)
		cut := hi
		if hi > lo {
			cut = lo + int(w.rng.Uint64()%uint64(hi-lo+1))
		}
		for t := range w.L {
			if i := cut - w.L + t; i >= 0 {
				xs[b*w.L+t] = float32(s[i])
			}
		}
		for t := range w.H {
			if i := cut + t; i < len(s) {
				ys[b*w.H+t], ms[b*w.H+t] = float32(s[i]), 1
			}
		}
	}
	return m4Batch{tensor.FromFloat32(xs, B, w.L, 1), tensor.FromFloat32(ys, B, w.H, 1), tensor.FromFloat32(ms, B, w.H, 1)}
}

// m4Sampler adapts m4Windows to train.Loop's sampler (state: the random
// stream and the position in the current permutation).
type m4Sampler struct{ w *m4Windows }

func (s m4Sampler) Next() m4Batch { return s.w.next() }

// m4State is the sampler's checkpointed state.
type m4State struct {
	RNG  []byte `json:"rng"`
	Perm []int  `json:"perm"`
	Pos  int    `json:"pos"`
}

func (s m4Sampler) State() ([]byte, error) {
	r, err := s.w.rng.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return json.Marshal(m4State{r, s.w.perm, s.w.pos})
}

func (s m4Sampler) SetState(b []byte) error {
	var st m4State
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("timeseries: M4 sampler state: %w", err)
	}
	if st.Pos > len(st.Perm) {
		return fmt.Errorf("timeseries: M4 sampler state: position %d past %d series", st.Pos, len(st.Perm))
	}
	s.w.perm, s.w.pos = st.Perm, st.Pos
	return s.w.rng.UnmarshalBinary(st.RNG)
}

// m4Objective is TSLib's sMAPE loss: 200·mean(|f − y|/(|f| + |y|)) over
// the target's observed steps (0 where both are 0).
type m4Objective struct{ m forecast.Model }

func (o m4Objective) Params() []*autograd.Var { return o.m.Params() }

func (o m4Objective) Buffers() []*autograd.Var { return forecast.Buffers(o.m) }

func (o m4Objective) Loss(ctx *nn.Ctx, b m4Batch) *autograd.Var {
	f := o.m.Forward(ctx, autograd.Const(b.x), nil)
	y, mask := autograd.Const(b.y), autograd.Const(b.ymask)
	den := autograd.AddScalar(autograd.Add(autograd.Abs(f), autograd.Abs(y)), 1e-8)
	r := autograd.Mul(autograd.Div(autograd.Abs(autograd.Sub(f, y)), den), mask)
	return autograd.MulScalar(autograd.Sum(r, false), 200/float64(b.y.Numel()))
}

// forecastLast forecasts Horizon steps after each series from its last
// Lookback values.
func forecastLast(m forecast.Model, ss [][]float64, L, H int) [][]float64 {
	out := make([][]float64, len(ss))
	autograd.NoGrad(func() {
		for lo := 0; lo < len(ss); lo += 128 {
			hi := min(len(ss), lo+128)
			xs := make([]float32, (hi-lo)*L)
			for b, s := range ss[lo:hi] {
				for t := range L {
					if i := len(s) - L + t; i >= 0 {
						xs[b*L+t] = float32(s[i])
					}
				}
			}
			y := m.Forward(nil, autograd.Const(tensor.FromFloat32(xs, hi-lo, L, 1)), nil).Value.Float64s()
			for b := range hi - lo {
				out[lo+b] = append([]float64(nil), y[b*H:(b+1)*H]...)
			}
		}
	})
	return out
}

// FitM4 trains arch on the series' training values without their last
// horizon, keeps the epoch whose forecasts of that held-out horizon have
// the lowest sMAPE (TSLib validates on the test horizon; loom does not
// look at it), then forecasts the test horizon from the whole training
// series and scores it against Naive2. Input windows are two horizons
// long (TSLib's seq_len = 2·pred_len); every model normalises each window
// (PatchTST always, iTransformer and the Transformer by UseNorm; DLinear
// is linear).
func FitM4(ss []series.M4Series, o M4Options) (*M4Result, error) {
	o = o.withDefaults()
	H, L := o.Horizon, 2*o.Horizon
	train_, val := make([][]float64, len(ss)), make([]series.M4Series, len(ss))
	full := make([][]float64, len(ss))
	for i, s := range ss {
		if len(s.Train) < 2*H+1 {
			return nil, fmt.Errorf("timeseries: %s has %d training values, fewer than two horizons and one (%d)", s.ID, len(s.Train), 2*H+1)
		}
		if len(s.Test) != H {
			return nil, fmt.Errorf("timeseries: %s has %d test values, want the horizon %d", s.ID, len(s.Test), H)
		}
		train_[i] = s.Train[:len(s.Train)-H]
		val[i] = series.M4Series{ID: s.ID, Train: train_[i], Test: s.Train[len(s.Train)-H:]}
		full[i] = s.Train
	}
	c := backbone(o.Arch, forecast.TaskForecast, L, 1, 0, o.DModel, o.Heads, o.Layers, o.Dropout, o.Seed)
	c.Horizon = H
	c.UseNorm = c.UseNorm || o.Arch == "transformer" // M4's levels span orders of magnitude; loom normalises its Transformer's windows too
	m, err := forecast.New(c)
	if err != nil {
		return nil, err
	}
	perEpoch := max(1, len(ss)/o.Batch)
	steps := o.Epochs * perEpoch
	w := &m4Windows{series: train_, L: L, H: H, limit: o.History * H, rng: tensor.NewRNG(o.Seed + 1), batch: o.Batch}
	valSMAPE := func() (float64, error) {
		f := forecastLast(m, train_, L, H)
		s := 0.0
		for i, v := range val {
			s += SMAPE(v.Test, f[i])
		}
		return s / float64(len(val)), nil
	}
	loop := &train.Loop[m4Batch]{
		Model:         m4Objective{m},
		Data:          m4Sampler{w},
		Hyper:         train.Hyper{Steps: steps, BatchSize: o.Batch, LR: o.LR, MinLRFactor: 0.1, Warmup: steps / 20, Clip: 1},
		RNG:           tensor.NewRNG(o.Seed + 2),
		StepsPerEpoch: perEpoch,
		EvalEvery:     perEpoch,
		RestoreBest:   true,
		Validate:      valSMAPE,
		Progress:      o.Progress,
		Context:       o.Context,
	}
	start := time.Now()
	if err := loop.Train(); err != nil {
		return nil, err
	}
	res := &M4Result{Arch: o.Arch, Params: autograd.NumParams(m.Params()), Steps: steps, Model: m}
	best := math.Inf(1)
	for _, x := range loop.Metrics() {
		if x.ValLoss > 0 && x.ValLoss < best {
			best, res.BestEpoch = x.ValLoss, (x.Step+perEpoch-1)/perEpoch
		}
	}
	res.ValSMAPE = best
	res.Forecasts = forecastLast(m, full, L, H)
	if res.Test, res.Naive2, err = ScoreM4(ss, res.Forecasts, o.Period); err != nil {
		return nil, err
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}
