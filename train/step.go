package train

import (
	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/optim"
)

// Hyper are the optimisation settings of a run.
type Hyper struct {
	Steps       int     `json:"steps"`
	BatchSize   int     `json:"batch_size"`
	SeqLen      int     `json:"seq_len"`
	GradAccum   int     `json:"grad_accum"` // micro-batches per optimizer step
	LR          float64 `json:"lr"`
	MinLRFactor float64 `json:"min_lr_factor"` // final LR as a fraction of LR
	Warmup      int     `json:"warmup"`
	WeightDecay float64 `json:"weight_decay"` // on parameters whose role decays (matrices, embeddings)
	Beta1       float64 `json:"beta1"`
	Beta2       float64 `json:"beta2"`
	Eps         float64 `json:"eps"`
	Clip        float64 `json:"clip"` // global gradient-norm limit; 0 disables
}

// ParamGroups splits the trainable parameters of params into optimizer
// groups by what their builders set: weight decay for the roles that decay
// (matrices, embeddings, heads; not gains, biases or scalars, as nanoGPT
// does) and the learning rate lr times each parameter's multiplier (μP).
// A decaying parameter's weight decay is divided by that multiplier, so
// that its decay per step, lr·wd in AdamW (PyTorch's and loom's), stays
// the base rate's: microsoft/mup's MuAdamW does the same (lr / m and
// weight_decay × m for the hidden matrices; decoupled_wd=False, its
// setting for optimizers whose decay is lr·wd). Groups with decay come
// first, each kind in order of first appearance; frozen parameters are
// left out (no optimizer state).
func ParamGroups(params []*autograd.Var, lr, weightDecay float64) []*optim.Group {
	var decay, plain []*optim.Group
	find := func(gs *[]*optim.Group, lr, wd float64) *optim.Group {
		for _, g := range *gs {
			if g.LR == lr && g.WeightDecay == wd {
				return g
			}
		}
		g := &optim.Group{LR: lr, WeightDecay: wd}
		*gs = append(*gs, g)
		return g
	}
	for _, p := range params {
		if p.Frozen() {
			continue
		}
		var g *optim.Group
		if p.Decays() {
			g = find(&decay, lr*p.LRMult(), weightDecay/p.LRMult())
		} else {
			g = find(&plain, lr*p.LRMult(), 0)
		}
		g.Params = append(g.Params, p)
	}
	return append(decay, plain...)
}

// NewAdamW returns AdamW over params with h's settings.
func NewAdamW(params []*autograd.Var, h Hyper) *optim.Adam {
	o := optim.NewAdamW(ParamGroups(params, h.LR, h.WeightDecay))
	if h.Beta1 != 0 {
		o.Beta1 = h.Beta1
	}
	if h.Beta2 != 0 {
		o.Beta2 = h.Beta2
	}
	if h.Eps != 0 {
		o.Eps = h.Eps
	}
	return o
}

// Schedule returns warmup + cosine decay to MinLRFactor over Steps.
func (h Hyper) Schedule() optim.Schedule {
	return optim.WarmupCosine{Warmup: h.Warmup, Total: h.Steps, MinFactor: h.MinLRFactor}
}

// LossFunc computes the loss of one micro-batch (recording the graph).
type LossFunc func() *autograd.Var

// Step runs one optimizer step: GradAccum micro-batches through loss (each
// scaled by 1/GradAccum), clipping, the schedule's learning rate for step
// and the update. It returns the mean micro-batch loss and the gradient
// norm before clipping.
func Step(opt optim.Optimizer, sched optim.Schedule, step int, h Hyper, loss LossFunc) (float64, float64) {
	accum := max(1, h.GradAccum)
	var total float64
	for range accum {
		l := loss()
		total += l.Item()
		if accum > 1 {
			l = autograd.MulScalar(l, 1/float64(accum))
		}
		l.Backward()
	}
	params := optim.AllParams(opt)
	norm := 0.0
	if h.Clip > 0 {
		norm = optim.ClipGradNorm(params, h.Clip)
	} else {
		norm = optim.ClipGradNorm(params, 1e300)
	}
	opt.SetLRScale(sched.Factor(step))
	opt.Step()
	opt.ZeroGrad()
	return total / float64(accum), norm
}
