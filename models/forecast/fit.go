package forecast

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/data/series"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/optim"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/train"
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
	// OutDir, when set, receives the training loop's checkpoint/ (after
	// every epoch), metrics.jsonl and loss.png; with Resume a run with a
	// checkpoint there continues exactly where it stopped.
	OutDir string
	Resume bool
	// Context, when canceled, stops training after the step under way
	// with a checkpoint in OutDir; Fit returns the *train.Interrupted.
	Context context.Context
	// ProgressEvery is the least time between progress lines off a
	// terminal (0: the progress package's default).
	ProgressEvery time.Duration
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

// Batch is a batch of training windows: inputs [B, L, N], their time
// features [B, L, F] and targets [B, S, N].
type Batch struct {
	X, Marks, Y *tensor.Tensor
}

// Objective is a forecaster's training objective on a dataset: the MSE of
// its forecasts on the scored columns. It is what train.Loop trains.
type Objective struct {
	Model
	Data *series.Dataset
}

// Buffers returns the model's buffers (none for most), so that the
// training loop's checkpoints and best-weights copies carry them.
func (o Objective) Buffers() []*autograd.Var { return Buffers(o.Model) }

// Loss returns the MSE of the batch's forecasts on the scored columns.
func (o Objective) Loss(ctx *nn.Ctx, b Batch) *autograd.Var {
	out := o.Model.Forward(ctx, autograd.Const(b.X), autograd.Const(b.Marks))
	return autograd.MSELoss(scored(out, o.Data), scored(autograd.Const(b.Y), o.Data))
}

// EpochSampler yields the training windows of a dataset in batches, in a
// new random order every epoch (the last partial batch is dropped, as
// drop_last), as Time-Series-Library's loader does.
type EpochSampler struct {
	data  *series.Dataset
	batch int
	rng   *tensor.RNG
	perm  []int
	next  int // batches of this epoch drawn
}

// NewEpochSampler returns a sampler of d's training windows seeded with
// seed.
func NewEpochSampler(d *series.Dataset, batch int, seed uint64) *EpochSampler {
	return &EpochSampler{data: d, batch: batch, rng: tensor.NewRNG(seed)}
}

// Steps returns the batches of an epoch.
func (s *EpochSampler) Steps() int { return s.data.Len(series.Train) / s.batch }

// Next returns the next batch, drawing a new order at each epoch's start.
func (s *EpochSampler) Next() Batch {
	if s.perm == nil || s.next == s.Steps() {
		s.perm, s.next = s.rng.Perm(s.data.Len(series.Train)), 0
	}
	idx := s.perm[s.next*s.batch : (s.next+1)*s.batch]
	s.next++
	x, marks, y := s.data.Batch(series.Train, idx)
	return Batch{X: x, Marks: marks, Y: y}
}

// State returns the position: the RNG, this epoch's order and how far into
// it the sampler is.
func (s *EpochSampler) State() ([]byte, error) {
	r, err := s.rng.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return json.Marshal(epochState{RNG: r, Perm: s.perm, Next: s.next, Windows: s.data.Len(series.Train), Batch: s.batch})
}

type epochState struct {
	RNG     []byte `json:"rng"`
	Perm    []int  `json:"perm"`
	Next    int    `json:"next"`
	Windows int    `json:"windows"`
	Batch   int    `json:"batch"`
}

// SetState restores a position saved by State for the same data and batch.
func (s *EpochSampler) SetState(b []byte) error {
	var st epochState
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("not an epoch sampler state: %w", err)
	}
	if st.Windows != s.data.Len(series.Train) || st.Batch != s.batch {
		return fmt.Errorf("the state is for %d training windows in batches of %d; this run has %d in batches of %d", st.Windows, st.Batch, s.data.Len(series.Train), s.batch)
	}
	if err := s.rng.UnmarshalBinary(st.RNG); err != nil {
		return err
	}
	s.perm, s.next = st.Perm, st.Next
	return nil
}

// Fit trains m on d's training windows as Time-Series-Library's long-term
// forecasting experiment does (MSE on the scored columns, Adam, the
// learning rate halved after every epoch, early stopping on the validation
// MSE with the best epoch's weights restored), through train.Loop, and
// scores it on the validation and test windows.
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
	if params := m.Params(); len(params) > 0 {
		sampler := NewEpochSampler(d, o.Batch, o.Seed)
		steps := sampler.Steps()
		if steps == 0 {
			return nil, fmt.Errorf("%d training windows, fewer than one batch of %d", d.Len(series.Train), o.Batch)
		}
		loop := &train.Loop[Batch]{
			Model: Objective{m, d}, Data: sampler,
			Hyper:     train.Hyper{Steps: o.Epochs * steps, BatchSize: o.Batch, LR: o.LR},
			Optimizer: optim.NewAdam([]*optim.Group{{Params: nn.Trainable(params), LR: o.LR}}),
			Schedule:  optim.StepDecay{Every: steps, Gamma: 0.5}, // lr·0.5^(epoch−1), Time-Series-Library's "type1"
			RNG:       tensor.NewRNG(o.Seed + 1),
			Validate:  func() (float64, error) { return Evaluate(m, d, series.Val).MSE, nil },
			EvalEvery: steps, Patience: o.Patience, RestoreBest: true, StepsPerEpoch: steps,
			OutDir: o.OutDir, Progress: o.Progress, CheckpointEvery: steps,
			Context: o.Context, ProgressEvery: o.ProgressEvery,
		}
		if o.Resume && o.OutDir != "" {
			if _, err := os.Stat(filepath.Join(o.OutDir, train.CheckpointDir, train.StateFile)); err == nil {
				if err := loop.Resume(); err != nil {
					return nil, err
				}
			}
		}
		if err := loop.Train(); err != nil {
			return nil, err
		}
		for _, mt := range loop.Metrics() {
			e := mt.Step / steps
			for len(res.TrainLoss) <= e {
				res.TrainLoss = append(res.TrainLoss, 0)
			}
			res.TrainLoss[e] += mt.Loss // summed, then divided, as the official loop averages
			if mt.ValLoss != 0 {
				res.ValLoss = append(res.ValLoss, mt.ValLoss)
			}
		}
		for e := range res.TrainLoss {
			res.TrainLoss[e] /= float64(steps)
		}
		res.Epochs = len(res.TrainLoss)
		best, _ := loop.BestStep()
		res.BestEpoch = best / steps
	}
	res.Val = Evaluate(m, d, series.Val)
	res.Test = Evaluate(m, d, series.Test)
	res.Seconds = time.Since(start).Seconds()
	return res, nil
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
			out := scored(m.Forward(nil, autograd.Const(x), autograd.Const(marks)), d).Value.Contiguous()
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
