package optim

import (
	"fmt"
	"math"
	"sort"
	"strconv"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/internal/kernels"
	"github.com/loomml/loom/tensor"
)

// Group is a set of parameters sharing a learning rate and weight decay, as
// a PyTorch parameter group.
type Group struct {
	Params      []*autograd.Var
	LR          float64 // base learning rate, scaled by the schedule
	WeightDecay float64
}

// Optimizer updates parameters from their gradients.
type Optimizer interface {
	// Step applies one update to every parameter that has a gradient.
	Step()
	// ZeroGrad drops every parameter's gradient.
	ZeroGrad()
	// SetLRScale sets the factor (from a Schedule) applied to every group's
	// base learning rate from the next Step on.
	SetLRScale(f float64)
	// Groups returns the parameter groups.
	Groups() []*Group
	// StepCount returns the number of steps taken.
	StepCount() int
	// State returns the optimizer's per-parameter buffers and step count,
	// keyed by parameter name, for checkpoints.
	State() map[string]*tensor.Tensor
	// LoadState restores buffers saved by State; it names any buffer that is
	// missing or has the wrong shape.
	LoadState(map[string]*tensor.Tensor) error
}

// base holds what every optimizer shares.
type base struct {
	groups  []*Group
	scale   float64
	steps   int
	buffers map[*autograd.Var][]*tensor.Tensor // per parameter, per slot
	slots   []string                           // names of the buffers
}

func newBase(groups []*Group, slots ...string) base {
	return base{groups: groups, scale: 1, buffers: map[*autograd.Var][]*tensor.Tensor{}, slots: slots}
}

func (b *base) Groups() []*Group     { return b.groups }
func (b *base) SetLRScale(f float64) { b.scale = f }
func (b *base) StepCount() int       { return b.steps }

func (b *base) ZeroGrad() {
	for _, g := range b.groups {
		autograd.ZeroGrads(g.Params)
	}
}

// bufs returns the zero-initialised buffers of p, creating them on first use.
func (b *base) bufs(p *autograd.Var) []*tensor.Tensor {
	bs, ok := b.buffers[p]
	if !ok {
		bs = make([]*tensor.Tensor, len(b.slots))
		for i := range bs {
			bs[i] = tensor.ZerosLike(p.Value)
		}
		b.buffers[p] = bs
	}
	return bs
}

// key names a parameter in the saved state: its Name, or its position.
func key(gi, pi int, p *autograd.Var) string {
	if p.Name != "" {
		return p.Name
	}
	return "group" + strconv.Itoa(gi) + ".param" + strconv.Itoa(pi)
}

func (b *base) State() map[string]*tensor.Tensor {
	st := map[string]*tensor.Tensor{"step": tensor.FromFloat64([]float64{float64(b.steps)})}
	for gi, g := range b.groups {
		for pi, p := range g.Params {
			bs, ok := b.buffers[p]
			if !ok {
				continue
			}
			for si, s := range b.slots {
				st[key(gi, pi, p)+"."+s] = bs[si].Clone()
			}
		}
	}
	return st
}

func (b *base) LoadState(st map[string]*tensor.Tensor) error {
	step, ok := st["step"]
	if !ok || step.Numel() != 1 {
		return fmt.Errorf("optim: state has no step count")
	}
	buffers := map[*autograd.Var][]*tensor.Tensor{}
	for gi, g := range b.groups {
		for pi, p := range g.Params {
			k := key(gi, pi, p)
			var bs []*tensor.Tensor
			for _, s := range b.slots {
				t, ok := st[k+"."+s]
				if !ok {
					if bs == nil && s == b.slots[0] {
						break // this parameter had no update yet
					}
					return fmt.Errorf("optim: state has no %q", k+"."+s)
				}
				if !tensor.SameShape(t, p.Value) {
					return fmt.Errorf("optim: state %q has shape %v, parameter has %v", k+"."+s, t.Shape(), p.Shape())
				}
				bs = append(bs, t.To(p.Value.DType()).Clone())
			}
			if bs != nil {
				buffers[p] = bs
			}
		}
	}
	b.buffers = buffers
	b.steps = int(step.Item())
	return nil
}

// each calls f for every parameter with a gradient, with its group.
func (b *base) each(f func(g *Group, p *autograd.Var)) {
	for _, g := range b.groups {
		for _, p := range g.Params {
			if p.Grad != nil {
				f(g, p)
			}
		}
	}
}

// SGD is stochastic gradient descent with momentum, Nesterov momentum and L2
// weight decay, as torch.optim.SGD (dampening 0).
type SGD struct {
	base
	Momentum float64
	Nesterov bool
}

// NewSGD returns SGD over the groups.
func NewSGD(groups []*Group, momentum float64, nesterov bool) *SGD {
	return &SGD{base: newBase(groups, "momentum_buffer"), Momentum: momentum, Nesterov: nesterov}
}

// Step applies p ← p − lr·d with d = g + wd·p, or with momentum
// buf ← μ·buf + d (buf = d at the first step) and d = buf (or d + μ·buf
// with Nesterov).
func (o *SGD) Step() {
	o.each(func(g *Group, p *autograd.Var) {
		lr := g.LR * o.scale
		if p.Value.DType() == tensor.Float32 {
			sgdStep[float32](o, g, p, lr)
		} else {
			sgdStep[float64](o, g, p, lr)
		}
	})
	o.steps++
}

func sgdStep[T tensor.Float](o *SGD, g *Group, p *autograd.Var, lr float64) {
	w, gr := tensor.Data[T](p.Value), tensor.Data[T](p.Grad)
	wd, mu := T(g.WeightDecay), T(o.Momentum)
	var buf []T
	first := false
	if o.Momentum != 0 {
		_, had := o.buffers[p]
		buf = tensor.Data[T](o.bufs(p)[0])
		first = !had
	}
	for i := range w {
		d := gr[i]
		if wd != 0 {
			d += wd * w[i]
		}
		if buf != nil {
			if first {
				buf[i] = d
			} else {
				buf[i] = mu*buf[i] + d
			}
			if o.Nesterov {
				d += mu * buf[i]
			} else {
				d = buf[i]
			}
		}
		w[i] -= T(lr) * d
	}
}

// Adam is torch.optim.Adam: L2 weight decay added to the gradient, bias
// corrected moments. With Decoupled it is torch.optim.AdamW: the weights
// decay by lr·wd directly and the gradient is left alone.
type Adam struct {
	base
	Beta1, Beta2, Eps float64
	Decoupled         bool
}

// NewAdam returns Adam with PyTorch's defaults (β = 0.9, 0.999; ε = 1e-8).
func NewAdam(groups []*Group) *Adam {
	return &Adam{base: newBase(groups, "exp_avg", "exp_avg_sq"), Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
}

// NewAdamW returns AdamW (decoupled weight decay) with PyTorch's defaults.
func NewAdamW(groups []*Group) *Adam {
	a := NewAdam(groups)
	a.Decoupled = true
	return a
}

// Step applies one Adam(W) update, in the order of PyTorch's single-tensor
// implementation.
func (o *Adam) Step() {
	o.steps++
	t := float64(o.steps)
	bc1 := 1 - math.Pow(o.Beta1, t)
	bc2 := 1 - math.Pow(o.Beta2, t)
	o.each(func(g *Group, p *autograd.Var) {
		lr := g.LR * o.scale
		if p.Value.DType() == tensor.Float32 {
			adamStep[float32](o, g, p, lr, bc1, bc2)
		} else {
			adamStep[float64](o, g, p, lr, bc1, bc2)
		}
	})
}

func adamStep[T tensor.Float](o *Adam, g *Group, p *autograd.Var, lr, bc1, bc2 float64) {
	w, gr := tensor.Data[T](p.Value), tensor.Data[T](p.Grad.Contiguous())
	bs := o.bufs(p)
	if w32, ok := any(w).([]float32); ok {
		kp := &kernels.AdamParams{B1: float32(o.Beta1), C1: float32(1 - o.Beta1), B2: float32(o.Beta2), C2: float32(1 - o.Beta2),
			BC2: float32(math.Sqrt(bc2)), Eps: float32(o.Eps), Step: float32(lr / bc1), Decay: 1}
		if o.Decoupled {
			kp.Decay = float32(1 - lr*g.WeightDecay)
		} else {
			kp.WD = float32(g.WeightDecay)
		}
		kernels.Adam(w32, any(gr).([]float32), bs[0].F32(), bs[1].F32(), kp)
		return
	}
	m, v := tensor.Data[T](bs[0]), tensor.Data[T](bs[1])
	b1, b2 := T(o.Beta1), T(o.Beta2)
	c1, c2 := T(1-o.Beta1), T(1-o.Beta2)
	wd := T(g.WeightDecay)
	decay := T(1 - lr*g.WeightDecay)
	stepSize := T(lr / bc1)
	bc2s := T(math.Sqrt(bc2))
	eps := T(o.Eps)
	for i := range w {
		d := gr[i]
		if o.Decoupled {
			w[i] *= decay
		} else if wd != 0 {
			d += wd * w[i]
		}
		m[i] = m[i]*b1 + d*c1
		v[i] = v[i]*b2 + d*d*c2
		denom := T(math.Sqrt(float64(v[i])))/bc2s + eps
		w[i] -= stepSize * (m[i] / denom)
	}
}

// ClipGradNorm scales the gradients of params so that their global L2 norm
// is at most maxNorm, as torch.nn.utils.clip_grad_norm_, and returns the norm
// before clipping.
func ClipGradNorm(params []*autograd.Var, maxNorm float64) float64 {
	var ss float64
	for _, p := range params {
		if p.Grad == nil {
			continue
		}
		for _, v := range p.Grad.Float64s() {
			ss += v * v
		}
	}
	total := math.Sqrt(ss)
	coef := maxNorm / (total + 1e-6)
	if coef < 1 {
		for _, p := range params {
			if p.Grad != nil {
				p.Grad = tensor.MulScalar(p.Grad, coef)
			}
		}
	}
	return total
}

// AllParams returns the parameters of every group, in order.
func AllParams(o Optimizer) []*autograd.Var {
	var out []*autograd.Var
	for _, g := range o.Groups() {
		out = append(out, g.Params...)
	}
	return out
}

// StateKeys returns the keys of a state map in sorted order (for saving).
func StateKeys(st map[string]*tensor.Tensor) []string {
	keys := make([]string, 0, len(st))
	for k := range st {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
