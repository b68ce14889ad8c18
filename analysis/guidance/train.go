package guidance

import (
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/optim"
	"github.com/loomml/loom/tensor"
)

// Batch is inputs and one target per logit row (Ignore: not scored).
type Batch struct {
	In      Input
	Targets []int
}

// Dataset is a labelled set of feature vectors (Dim values each).
type Dataset struct {
	X      []float32
	Labels []int
	Dim    int
}

// Len is the number of examples.
func (d Dataset) Len() int { return len(d.Labels) }

// Validate checks the shapes.
func (d Dataset) Validate() error {
	if d.Dim < 1 || len(d.Labels) == 0 || len(d.X) != d.Dim*len(d.Labels) {
		return fmt.Errorf("guidance: dataset of %d values, %d labels and dimension %d", len(d.X), len(d.Labels), d.Dim)
	}
	return nil
}

// Batches returns the examples in batches of size: shuffled by rng (nil:
// in order); dropLast drops a final partial batch.
func (d Dataset) Batches(size int, rng *tensor.RNG, dropLast bool) []Batch {
	order := make([]int, d.Len())
	for i := range order {
		order[i] = i
	}
	if rng != nil {
		order = rng.Perm(d.Len())
	}
	var out []Batch
	for lo := 0; lo < len(order); lo += size {
		hi := min(lo+size, len(order))
		if dropLast && hi-lo < size {
			break
		}
		x := make([]float32, 0, (hi-lo)*d.Dim)
		y := make([]int, 0, hi-lo)
		for _, i := range order[lo:hi] {
			x = append(x, d.X[i*d.Dim:(i+1)*d.Dim]...)
			y = append(y, d.Labels[i])
		}
		out = append(out, Batch{In: Input{X: tensor.FromFloat32(x, hi-lo, d.Dim), B: hi - lo}, Targets: y})
	}
	return out
}

// Config is one training run.
type Config struct {
	Epochs, StepsPerEpoch int
	LR                    float64
	// WeightDecay is decoupled (AdamW) when AdamW is set, else Adam's L2.
	WeightDecay float64
	AdamW       bool
	// Alpha weighs the alignment term (the paper's α = 1); unused without
	// a guide.
	Alpha     float64
	Estimator Estimator
	// ClipNorm clips the gradient's global norm (0: no clipping).
	ClipNorm float64
	Name     string
	Progress io.Writer // per-epoch lines (nil: none)
}

// Validate reports the first bad setting, naming it.
func (c Config) Validate() error {
	switch {
	case c.Epochs < 1:
		return fmt.Errorf("guidance: epochs %d, want ≥ 1", c.Epochs)
	case c.StepsPerEpoch < 1:
		return fmt.Errorf("guidance: steps per epoch %d, want ≥ 1", c.StepsPerEpoch)
	case !(c.LR > 0) || math.IsInf(c.LR, 0):
		return fmt.Errorf("guidance: learning rate %g, want > 0", c.LR)
	case c.WeightDecay < 0 || c.ClipNorm < 0:
		return fmt.Errorf("guidance: weight decay %g and clip norm %g must be ≥ 0", c.WeightDecay, c.ClipNorm)
	case c.Alpha < 0 || math.IsNaN(c.Alpha) || math.IsInf(c.Alpha, 0):
		return fmt.Errorf("guidance: α = %g, want a finite value ≥ 0", c.Alpha)
	}
	return nil
}

// Epoch is what one epoch measured: the mean cross-entropy and alignment
// term (Σ(1 − CKA); 0 unguided) over its training steps, then the test
// set's loss and accuracy after it.
type Epoch struct {
	TrainCE, TrainAlign float64
	TestLoss, TestAcc   float64
	Seconds             float64
}

// History is a run's record: the test set before training (Initial) and
// after every epoch.
type History struct {
	Initial Eval
	Epochs  []Epoch
}

// Final returns the last epoch.
func (h *History) Final() Epoch { return h.Epochs[len(h.Epochs)-1] }

// Eval is a model's mean cross-entropy and accuracy over scored targets.
type Eval struct{ Loss, Acc float64 }

// Evaluate runs m on batches without gradients.
func Evaluate(m Model, batches []Batch) (Eval, error) {
	var sum float64
	var n, correct int
	var err error
	autograd.NoGrad(func() {
		for _, b := range batches {
			in := b.In
			in.Train = false
			logits, _, e := m.Forward(in)
			if e != nil {
				err = e
				return
			}
			C := logits.Dim(logits.NDim() - 1)
			lv := logits.Value.Float64s()
			if len(lv) != C*len(b.Targets) {
				err = fmt.Errorf("guidance: %d logit rows for %d targets", len(lv)/C, len(b.Targets))
				return
			}
			for i, t := range b.Targets {
				if t == Ignore {
					continue
				}
				row := lv[i*C : (i+1)*C]
				best, mx := 0, math.Inf(-1)
				for c, v := range row {
					if v > mx {
						best, mx = c, v
					}
				}
				lse := 0.0
				for _, v := range row {
					lse += math.Exp(v - mx)
				}
				sum += mx + math.Log(lse) - row[t]
				n++
				if best == t {
					correct++
				}
			}
		}
	})
	if err != nil {
		return Eval{}, err
	}
	if n == 0 {
		return Eval{}, errors.New("guidance: no scored targets to evaluate")
	}
	return Eval{Loss: sum / float64(n), Acc: float64(correct) / float64(n)}, nil
}

// Train trains target with Adam(W) on next(epoch, step)'s batches and
// evaluates it on test after every epoch. With a guide, the loss is
// CE + α·Σ(1 − CKA) against the guide's representations, computed without
// gradients: the guide is frozen (no gradients, no optimiser state).
func Train(target, guide Model, cfg Config, next func(epoch, step int) Batch, test []Batch) (*History, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	params := target.Params()
	g := &optim.Group{Params: params, LR: cfg.LR, WeightDecay: cfg.WeightDecay}
	opt := optim.NewAdam([]*optim.Group{g})
	if cfg.AdamW {
		opt = optim.NewAdamW([]*optim.Group{g})
	}
	h := &History{}
	var err error
	if h.Initial, err = Evaluate(target, test); err != nil {
		return nil, err
	}
	for ep := range cfg.Epochs {
		start := time.Now()
		var ce, al float64
		for s := range cfg.StepsPerEpoch {
			b := next(ep, s)
			autograd.ZeroGrads(params)
			in := b.In
			in.Train = true
			logits, reps, err := target.Forward(in)
			if err != nil {
				return nil, err
			}
			C := logits.Dim(logits.NDim() - 1)
			loss := autograd.CrossEntropy(autograd.Reshape(logits, len(b.Targets), C), b.Targets, Ignore, 0)
			ce += loss.Item()
			if guide != nil {
				var greps []*autograd.Var
				gin := b.In
				gin.Train = false // the guide runs in evaluation mode
				autograd.NoGrad(func() { _, greps, err = guide.Forward(gin) })
				if err != nil {
					return nil, err
				}
				var align *autograd.Var
				if loss, align, err = Loss(loss, reps, greps, cfg.Alpha, cfg.Estimator); err != nil {
					return nil, err
				}
				al += align.Item()
			}
			if v := loss.Item(); math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("guidance: %s: loss %v at epoch %d, step %d", cfg.Name, v, ep+1, s)
			}
			loss.Backward()
			if cfg.ClipNorm > 0 {
				optim.ClipGradNorm(params, cfg.ClipNorm)
			}
			opt.Step()
		}
		e := Epoch{TrainCE: ce / float64(cfg.StepsPerEpoch), TrainAlign: al / float64(cfg.StepsPerEpoch)}
		ev, err := Evaluate(target, test)
		if err != nil {
			return nil, err
		}
		e.TestLoss, e.TestAcc, e.Seconds = ev.Loss, ev.Acc, time.Since(start).Seconds()
		h.Epochs = append(h.Epochs, e)
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, "%s: epoch %d: train CE %.4f, align %.4f, test loss %.4f, acc %.4f (%.1fs)\n", cfg.Name, ep+1, e.TrainCE, e.TrainAlign, e.TestLoss, e.TestAcc, e.Seconds)
		}
	}
	return h, nil
}
