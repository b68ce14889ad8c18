package autograd

import (
	"errors"
	"fmt"
	"math"

	"github.com/loomml/loom/tensor"
)

// Higher-order gradients. Every op keeps its tensor-level backward for
// Backward; for Grad with CreateGraph it also has its backward written in
// differentiable operations (vjpFunc, linear), or its forward re-expressed
// in them (composed), which Grad differentiates in place of a fused kernel.
// Either way the gradient Grad returns is itself a recorded Var.

// higher is how an op differentiates with CreateGraph: it returns the
// gradients of node n's inputs given its output and the output's gradient
// g, as recorded Vars, computing only those marked in need (nil
// elsewhere). A nil higher marks an op without higher-order support. The
// implementations are func types, so that an op records its higher at the
// cost of at most the one closure it captures its parameters in.
type higher interface {
	grads(n *node, out, g *Var, need []bool) ([]*Var, error)
}

// vjpFunc is an op's backward written in differentiable operations, given
// the op's inputs.
type vjpFunc func(in []*Var, out, g *Var, need []bool) []*Var

func (f vjpFunc) grads(n *node, out, g *Var, need []bool) ([]*Var, error) {
	return f(n.inputs, out, g, need), nil
}

// linear is the gradient of a single-input op that is a fixed linear map of
// g (a view, a sum, a mask).
type linear func(g *Var) *Var

func (f linear) grads(_ *node, _, g *Var, _ []bool) ([]*Var, error) { return []*Var{f(g)}, nil }

// composed is a fused op recomputed from its inputs in differentiable
// operations: Grad differentiates that in place of the fused kernel.
type composed func(in []*Var) *Var

func (f composed) grads(n *node, out, g *Var, need []bool) ([]*Var, error) {
	// Differentiate the composition on stand-ins for the inputs, so that each
	// input gets its own partial derivative even when one Var is passed
	// twice, and the traversal stops there; then make each stand-in an
	// identity on its input, which joins the result to the real graph.
	proxies := make([]*Var, len(n.inputs))
	var wrt []*Var
	for i, x := range n.inputs {
		if x != nil {
			proxies[i] = &Var{Value: x.Value, requiresGrad: x.requiresGrad}
			if need[i] {
				wrt = append(wrt, proxies[i])
			}
		}
	}
	y := f(proxies)
	if !tensor.SameShape(y.Value, out.Value) {
		panic(fmt.Sprintf("autograd: %s composition has shape %v, the op %v", n.op, y.Shape(), out.Shape()))
	}
	gw, err := grad(y, wrt, g, true, false, true)
	if err != nil {
		return nil, fmt.Errorf("%w (in the composition of %s)", err, n.op)
	}
	grads := make([]*Var, len(n.inputs))
	for i, p := range proxies {
		if p != nil && p.requiresGrad {
			p.node = &node{op: "identity", inputs: []*Var{n.inputs[i]}, backward: identityBackward, ho: vjpFunc(identityVJP)}
		}
		if need[i] {
			grads[i], gw = gw[0], gw[1:]
		}
	}
	return grads, nil
}

func identityBackward(g *tensor.Tensor) []*tensor.Tensor { return []*tensor.Tensor{g} }

func identityVJP(_ []*Var, _, g *Var, _ []bool) []*Var { return []*Var{g} }

// GradOptions configures Grad.
type GradOptions struct {
	// Seed is the gradient of some scalar with respect to y (y's shape),
	// torch.autograd.grad's grad_outputs: Grad returns Seed·∂y/∂x. nil means
	// 1, for a y with one element. With CreateGraph the results are
	// differentiable with respect to Seed too.
	Seed *Var
	// CreateGraph records the computation of the gradients, so that they
	// are Vars that can be differentiated again (with respect to the inputs,
	// parameters or Seed), as PyTorch's create_graph. The graph behind y is
	// kept. Without it (or under NoGrad) the gradients are constants,
	// computed by the same kernels as Backward.
	CreateGraph bool
	// RetainGraph keeps the graph behind y after a Grad without
	// CreateGraph, which otherwise frees it as Backward does.
	RetainGraph bool
	// AllowUnused returns nil for an input y does not depend on, rather
	// than an error.
	AllowUnused bool
}

// Grad returns the gradients of y with respect to each of xs, as
// torch.autograd.grad: xs may be leaves or intermediate Vars, each must
// require a gradient, and the result for x is the total derivative of
// Σ Seed⊙y with respect to x. It does not touch any Var's Grad.
//
// With CreateGraph the results are recorded Vars (see GradOptions): a loss
// made from them can be differentiated by Backward or Grad, which gives
// second derivatives (∂/∂θ of a gradient with respect to x, Hessian-vector
// products). Grad differentiates only the ops through which y depends on
// xs; one of them without a differentiable backward (a Custom op) makes it
// fail with an error naming the op. Without CreateGraph the results equal what BackwardWith
// would accumulate.
func Grad(y *Var, xs []*Var, o GradOptions) ([]*Var, error) {
	if y.freed {
		return nil, errors.New("autograd: Grad through a graph that an earlier Backward already freed; run the forward again")
	}
	if !y.requiresGrad {
		return nil, errors.New("autograd: Grad of a Var that does not require a gradient (no input behind it, or made under NoGrad)")
	}
	for i, x := range xs {
		if x == nil || !x.requiresGrad {
			return nil, fmt.Errorf("autograd: Grad with respect to input %d, which does not require a gradient", i)
		}
	}
	seed := o.Seed
	if seed == nil {
		if y.Value.Numel() != 1 {
			return nil, fmt.Errorf("autograd: Grad of a non-scalar of shape %v needs a Seed", y.Shape())
		}
		one := tensor.New(y.Value.DType(), y.Shape()...)
		one.Set(1, make([]int, y.NDim())...)
		seed = Const(one)
	} else if !tensor.SameShape(seed.Value, y.Value) || seed.Value.DType() != y.Value.DType() {
		return nil, fmt.Errorf("autograd: Grad seed of shape %v (%v) for a Var of shape %v (%v)", seed.Shape(), seed.Value.DType(), y.Shape(), y.Value.DType())
	}
	create := o.CreateGraph && GradEnabled()
	return grad(y, xs, seed, create, !o.CreateGraph && !o.RetainGraph, o.AllowUnused)
}

// grad is Grad after the checks: with create the ops' vjps run (recorded),
// otherwise their backward closures; free releases the graph as it goes.
func grad(y *Var, xs []*Var, seed *Var, create, free, allowUnused bool) ([]*Var, error) {
	target := make(map[*Var]bool, len(xs))
	for _, x := range xs {
		target[x] = true
	}
	var order []*Var
	if y.node != nil {
		order = topoOrder(y)
	}
	// leads marks the non-leaves through which a gradient reaches an x;
	// Grad differentiates only those.
	leads := map[*Var]bool{}
	for _, u := range order {
		for _, in := range u.node.inputs {
			if in != nil && in.requiresGrad && (target[in] || leads[in]) {
				leads[u] = true
				break
			}
		}
		if create && leads[u] && u.node.ho == nil {
			return nil, fmt.Errorf("autograd: Grad with CreateGraph through op %q, which has no higher-order gradient", u.node.op)
		}
	}
	sum := map[*Var]*Var{y: seed}
	owned := map[*Var]bool{} // without create: sums this call allocated
	for i := len(order) - 1; i >= 0; i-- {
		u := order[i]
		n := u.node
		g := sum[u]
		if !target[u] {
			delete(sum, u)
		}
		if free {
			u.node, u.freed = nil, true
		}
		if g == nil || !leads[u] {
			continue
		}
		need := make([]bool, len(n.inputs))
		for j, in := range n.inputs {
			need[j] = in != nil && in.requiresGrad && (target[in] || leads[in])
		}
		var gs []*Var
		if create {
			var err error
			if gs, err = n.ho.grads(n, u, g, need); err != nil {
				return nil, err
			}
		} else {
			for _, t := range n.backward(g.Value) {
				gs = append(gs, &Var{Value: t})
			}
		}
		for j, in := range n.inputs {
			if !need[j] || j >= len(gs) || gs[j] == nil || gs[j].Value == nil {
				continue
			}
			gi := gs[j]
			if !tensor.SameShape(gi.Value, in.Value) {
				panic(fmt.Sprintf("autograd: %s gradient of shape %v for input %d of shape %v", n.op, gi.Shape(), j, in.Shape()))
			}
			if in.freed {
				return nil, errors.New("autograd: Grad through a graph that an earlier Backward already freed; run the forward again")
			}
			switch prev := sum[in]; {
			case prev == nil:
				sum[in] = gi
			case create:
				sum[in] = Add(prev, gi)
			case owned[in]:
				tensor.AddInPlace(prev.Value, gi.Value)
			default:
				sum[in], owned[in] = Const(tensor.Add(prev.Value, gi.Value)), true
			}
		}
	}
	out := make([]*Var, len(xs))
	for i, x := range xs {
		g := sum[x]
		switch {
		case g == nil && !allowUnused:
			return nil, fmt.Errorf("autograd: Grad with respect to input %d, which y does not depend on (set AllowUnused)", i)
		case g != nil && !create && !owned[x]:
			g = Const(g.Value.Clone())
		}
		out[i] = g
	}
	return out, nil
}

// The ops below exist for the gradients of others: each is the adjoint of
// an op of the package, and that op is its gradient in turn.

// sumTo sums x down to shape, a broadcast operand's gradient; its gradient
// broadcasts back.
func sumTo(x *Var, shape []int) *Var {
	if tensor.EqualShape(x.Shape(), shape) {
		return x
	}
	in := x.Shape()
	return record("sum_to", tensor.SumTo(x.Value, shape), func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{g.Expand(in...).Contiguous()}
	}, linear(func(g *Var) *Var { return Contiguous(Expand(g, in...)) }), x)
}

// expandBackVar is expandBack for Vars: g, reduced over axes, broadcast
// back to shape (Sum's gradient).
func expandBackVar(g *Var, shape, axes []int) *Var {
	return Contiguous(Expand(Reshape(g, tensor.ReducedShape(shape, axes, true)...), shape...))
}

// indexAddTo is a zero tensor of shape into which src is added at positions
// idx along dim (IndexSelect's gradient).
func indexAddTo(src *Var, shape []int, dim int, idx []int) *Var {
	out := tensor.New(src.Value.DType(), shape...)
	tensor.IndexAdd(out, dim, idx, src.Value)
	return record("index_add", out, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.IndexSelect(g, dim, idx)}
	}, linear(func(g *Var) *Var { return IndexSelect(g, dim, idx) }), src)
}

// scatterAddTo is a zero tensor of shape into which src is added as
// torch.scatter_add along dim (Gather's gradient).
func scatterAddTo(src *Var, shape []int, dim int, idx, idxShape []int) *Var {
	out := tensor.New(src.Value.DType(), shape...)
	tensor.ScatterAdd(out, dim, idx, idxShape, src.Value)
	return record("scatter_add", out, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.Gather(g, dim, idx, idxShape)}
	}, linear(func(g *Var) *Var { return Gather(g, dim, idx, idxShape) }), src)
}

// padTo places src in a zero tensor of shape at start along dim (Slice's
// gradient).
func padTo(src *Var, shape []int, dim, start int) *Var {
	out := tensor.New(src.Value.DType(), shape...)
	end := start + src.Dim(dim)
	out.Slice(dim, start, end).CopyFrom(src.Value)
	return record("pad", out, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{g.Slice(dim, start, end).Contiguous()}
	}, linear(func(g *Var) *Var { return Slice(g, dim, start, end) }), src)
}

// reverseCumsum is the running sum along axis from the end (Cumsum's
// gradient).
func reverseCumsum(x *Var, axis int) *Var {
	return record("reverse_cumsum", tensor.ReverseCumsum(x.Value, axis), func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.Cumsum(g, axis)}
	}, linear(func(g *Var) *Var { return Cumsum(g, axis) }), x)
}

// erf is the error function, for the composition of exact GELU.
func erf(x *Var) *Var {
	return unary("erf", x, tensor.Map(x.Value, func(v float32) float32 { return float32(math.Erf(float64(v))) }, math.Erf),
		func(x, _ float64) float64 { return 2 / math.SqrtPi * math.Exp(-x*x) }, erfVJP)
}
