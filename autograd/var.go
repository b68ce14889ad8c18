package autograd

import (
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/loomml/loom/tensor"
)

// Var is a tensor in a computation that may be differentiated: its value,
// and for leaves that require gradients, the gradient accumulated by
// Backward. Vars made by operations remember how they were made (a node of
// the graph) while gradients are being recorded.
type Var struct {
	// Value is the tensor this Var holds.
	Value *tensor.Tensor
	// Grad is the gradient accumulated into a leaf by Backward calls (nil
	// until the first one); call ZeroGrad to reset it.
	Grad *tensor.Tensor
	// Name is the parameter's checkpoint name (HF naming), empty otherwise.
	Name string
	// Role, LRScale and InitScale describe a parameter for optimizers,
	// loaders and exporters (param.go); the code that builds the parameter
	// sets them, nothing guesses them later.
	Role Role
	// LRScale multiplies the learning rate of this parameter (μP's
	// per-parameter rates); 0 means 1.
	LRScale float64
	// InitScale multiplies the standard deviation this parameter is
	// initialised with (μP's init multipliers); 0 means 1.
	InitScale float64

	requiresGrad bool
	node         *node

	// During Backward: the gradient gathered so far for a non-leaf, and
	// whether this Var allocated it (and may therefore add into it in place).
	pending      *tensor.Tensor
	pendingOwned bool
	// freed is set when Backward has consumed the node that made this Var.
	freed bool
}

// node records the operation that produced a Var.
type node struct {
	op     string
	inputs []*Var
	// backward maps the gradient of the output to the gradients of the
	// inputs (nil for inputs that need none).
	backward func(g *tensor.Tensor) []*tensor.Tensor
	// ho is backward as differentiable operations, for Grad with
	// CreateGraph (see higher.go); nil for ops without higher-order support.
	ho higher
}

// noGradDepth counts active NoGrad scopes; it is process-wide.
var noGradDepth atomic.Int64

// GradEnabled reports whether operations currently record the graph.
func GradEnabled() bool { return noGradDepth.Load() == 0 }

// NoGrad runs f with graph recording off: operations inside compute values
// only, as inference needs. The setting is process-wide (like a global
// torch.no_grad), so do not train in one goroutine while another runs
// NoGrad. NoGrad scopes nest.
func NoGrad(f func()) {
	noGradDepth.Add(1)
	defer noGradDepth.Add(-1)
	f()
}

// Const wraps a tensor as a Var that needs no gradient.
func Const(t *tensor.Tensor) *Var { return &Var{Value: t} }

// Leaf wraps a tensor as a leaf Var that requires a gradient.
func Leaf(t *tensor.Tensor) *Var { return &Var{Value: t, requiresGrad: true} }

// Param wraps a tensor as a named trainable parameter (a leaf that requires
// a gradient) of role RoleOther. name is its checkpoint name, e.g.
// "model.layers.0.self_attn.q_proj.weight". Model code builds parameters
// with NewParam, which also sets the role.
func Param(name string, t *tensor.Tensor) *Var {
	return &Var{Value: t, Name: name, requiresGrad: true}
}

// RequiresGrad reports whether gradients flow to this Var.
func (v *Var) RequiresGrad() bool { return v.requiresGrad }

// SetRequiresGrad marks a leaf as (not) requiring a gradient, e.g. to freeze
// a parameter. It panics for non-leaves.
func (v *Var) SetRequiresGrad(b bool) {
	if v.node != nil {
		panic("autograd: SetRequiresGrad on a non-leaf Var")
	}
	v.requiresGrad = b
}

// IsLeaf reports whether v was not produced by a recorded operation.
func (v *Var) IsLeaf() bool { return v.node == nil }

// Detach returns a Var sharing v's value with no history and no gradient.
func (v *Var) Detach() *Var { return &Var{Value: v.Value} }

// ZeroGrad drops the accumulated gradient.
func (v *Var) ZeroGrad() { v.Grad = nil }

// Shape returns the shape of the value.
func (v *Var) Shape() []int { return v.Value.Shape() }

// Dim returns the size of dimension d (negative counts from the end).
func (v *Var) Dim(d int) int { return v.Value.Dim(d) }

// NDim returns the number of dimensions.
func (v *Var) NDim() int { return v.Value.NDim() }

// Item returns the value of a one-element Var.
func (v *Var) Item() float64 { return v.Value.Item() }

// Op names the operation that produced v ("" for leaves and after Backward
// freed the graph).
func (v *Var) Op() string {
	if v.node == nil {
		return ""
	}
	return v.node.op
}

func (v *Var) String() string {
	if v.Name != "" {
		return fmt.Sprintf("Var(%s %v)", v.Name, v.Value.Shape())
	}
	return fmt.Sprintf("Var(%v)", v.Value)
}

// record returns the Var holding out and, when gradients are enabled and an
// input requires one, the node that differentiates it.
func record(op string, out *tensor.Tensor, backward func(g *tensor.Tensor) []*tensor.Tensor, ho higher, inputs ...*Var) *Var {
	v := &Var{Value: out}
	if !GradEnabled() {
		return v
	}
	for _, in := range inputs {
		if in != nil && in.requiresGrad {
			v.requiresGrad = true
			v.node = &node{op: op, inputs: inputs, backward: backward, ho: ho}
			break
		}
	}
	return v
}

// Backward computes the gradient of the scalar v with respect to every leaf
// that requires one, adding it into the leaf's Grad. The graph behind v is
// freed afterwards; call the forward again before another Backward.
func (v *Var) Backward() {
	if v.Value.Numel() != 1 {
		panic(fmt.Sprintf("autograd: Backward from a non-scalar of shape %v; use BackwardWith", v.Shape()))
	}
	g := tensor.New(v.Value.DType(), v.Shape()...)
	g.Set(1, make([]int, v.NDim())...)
	v.BackwardWith(g)
}

// BackwardWith is Backward seeded with the gradient g of some scalar with
// respect to v (g has v's shape).
func (v *Var) BackwardWith(g *tensor.Tensor) {
	if v.freed {
		panic("autograd: Backward through a graph that an earlier Backward already freed; run the forward again")
	}
	if !v.requiresGrad {
		panic("autograd: Backward through a Var that does not require a gradient (no parameter behind it, or made under NoGrad)")
	}
	if !tensor.SameShape(g, v.Value) {
		panic(fmt.Sprintf("autograd: seed gradient shape %v for a Var of shape %v", g.Shape(), v.Shape()))
	}
	if v.node == nil { // a leaf
		accumulateLeaf(v, g)
		return
	}
	order := topoOrder(v)
	v.pending = g
	for i := len(order) - 1; i >= 0; i-- {
		u := order[i]
		n := u.node
		gu := u.pending
		u.pending, u.pendingOwned, u.node, u.freed = nil, false, nil, true // free the graph as we go
		if gu == nil {
			continue // no path from v's gradient reached u
		}
		grads := n.backward(gu)
		for j, in := range n.inputs {
			if in == nil || !in.requiresGrad || j >= len(grads) || grads[j] == nil {
				continue
			}
			gi := grads[j]
			if !tensor.SameShape(gi, in.Value) {
				panic(fmt.Sprintf("autograd: %s backward gave a gradient of shape %v for input %d of shape %v", n.op, gi.Shape(), j, in.Shape()))
			}
			if in.freed {
				panic("autograd: Backward through a graph that an earlier Backward already freed; run the forward again")
			}
			if in.node == nil {
				accumulateLeaf(in, gi)
			} else {
				accumulatePending(in, gi)
			}
		}
	}
}

func accumulateLeaf(v *Var, g *tensor.Tensor) {
	if v.Grad == nil {
		v.Grad = g.Clone()
		return
	}
	tensor.AddInPlace(v.Grad, g)
}

func accumulatePending(v *Var, g *tensor.Tensor) {
	switch {
	case v.pending == nil:
		v.pending = g
	case v.pendingOwned:
		tensor.AddInPlace(v.pending, g)
	default:
		v.pending = tensor.Add(v.pending, g)
		v.pendingOwned = true
	}
}

// topoOrder returns the non-leaf Vars reachable from v, each after all of
// its inputs (so the reverse order is a valid order for backward).
func topoOrder(v *Var) []*Var {
	var order []*Var
	visited := map[*Var]bool{}
	type frame struct {
		v *Var
		i int
	}
	stack := []frame{{v, 0}}
	visited[v] = true
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		if top.i < len(top.v.node.inputs) {
			in := top.v.node.inputs[top.i]
			top.i++
			if in != nil && in.node != nil && !visited[in] {
				visited[in] = true
				stack = append(stack, frame{in, 0})
			}
			continue
		}
		order = append(order, top.v)
		stack = stack[:len(stack)-1]
	}
	return order
}

// ZeroGrads drops the gradients of all params.
func ZeroGrads(params []*Var) {
	for _, p := range params {
		p.Grad = nil
	}
}

// NumParams returns the total number of elements in params.
func NumParams(params []*Var) int {
	n := 0
	for _, p := range params {
		n += p.Value.Numel()
	}
	return n
}

// Custom records an operation defined outside this package (a fused kernel
// such as nn's PolyNorm): out is its value, backward maps the output's
// gradient to one gradient per input (nil where an input needs none), in
// the order of inputs. Inputs may be nil. Grad with CreateGraph fails on
// such an op; CustomComposite records one that supports it.
func Custom(op string, out *tensor.Tensor, backward func(g *tensor.Tensor) []*tensor.Tensor, inputs ...*Var) *Var {
	return record(op, out, backward, nil, inputs...)
}

// CustomComposite is Custom for an op that can also be written in this
// package's differentiable operations: compose computes the same output from
// the inputs (in the order of inputs, nil where an input is nil) and is used
// only by Grad with CreateGraph, which differentiates it to get the op's
// gradient as a differentiable function (so the op has derivatives of every
// order). The fused kernel and backward still serve ordinary training.
func CustomComposite(op string, out *tensor.Tensor, backward func(g *tensor.Tensor) []*tensor.Tensor, compose func(in []*Var) *Var, inputs ...*Var) *Var {
	return record(op, out, backward, composed(compose), inputs...)
}

// RecycleAll is Recycle for several dead temporaries, any of which may be
// views of another (tensor.RecycleAll).
func RecycleAll(vs []*Var, keep ...*Var) {
	if GradEnabled() || !slices.ContainsFunc(vs, recyclable) {
		return // nothing to give back (decoding: every tensor is small)
	}
	var dead []*tensor.Tensor
	for _, v := range vs {
		if v != nil && !v.requiresGrad && v.node == nil && v.Name == "" {
			dead = append(dead, v.Value)
		}
	}
	tensor.RecycleAll(dead, values(keep)...)
}

// recyclable reports whether Recycle could take v's storage.
func recyclable(v *Var) bool {
	return v != nil && !v.requiresGrad && v.node == nil && v.Name == "" && tensor.Recyclable(v.Value)
}

// Recycle gives the storage of v, a dead temporary of a forward pass run
// without gradients, to later allocations (tensor.Recycle), unless it is a
// parameter, part of a graph, or shares storage with one of keep. The
// caller promises that v and its views are not used afterwards. It does
// nothing while gradients are recorded.
func Recycle(v *Var, keep ...*Var) {
	if GradEnabled() || !recyclable(v) {
		return
	}
	tensor.Recycle(v.Value, values(keep)...)
}
