package nn

import (
	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/internal/kernels"
	"github.com/loomml/loom/internal/registry"
	"github.com/loomml/loom/tensor"
)

// Activation is an elementwise (or per-token) nonlinearity, possibly with
// learnable parameters of its own.
type Activation interface {
	Module
	Apply(x *autograd.Var) *autograd.Var
}

// ActivationConfig describes an activation to build.
type ActivationConfig struct {
	Prefix string // checkpoint prefix of its parameters, if any
	Dim    int    // width of the input's last dimension
	Init   Init
}

var activations = registry.New[func(ActivationConfig) (Activation, error)]("activation")

// RegisterActivation makes an activation constructible by name.
func RegisterActivation(name string, ctor func(ActivationConfig) (Activation, error)) {
	activations.Register(name, ctor)
}

// NewActivation builds the activation registered as name.
func NewActivation(name string, c ActivationConfig) (Activation, error) {
	ctor, err := activations.Get(name)
	if err != nil {
		return nil, err
	}
	return ctor(c)
}

// ActivationNames lists the registered activations.
func ActivationNames() []string { return activations.Names() }

// Func is a parameter-free activation.
type Func func(*autograd.Var) *autograd.Var

// Apply applies the function.
func (f Func) Apply(x *autograd.Var) *autograd.Var { return f(x) }

// Params returns nothing.
func (Func) Params() []*autograd.Var { return nil }

func init() {
	for name, f := range map[string]Func{
		"relu":              autograd.Relu,
		"gelu":              autograd.Gelu,
		"gelu_new":          autograd.GeluTanh, // HF's name for GPT-2's tanh GELU
		"gelu_pytorch_tanh": autograd.GeluTanh,
		"gelu_tanh":         autograd.GeluTanh,
		"silu":              autograd.Silu,
		"swish":             autograd.Silu,
		"tanh":              autograd.Tanh,
		"sigmoid":           autograd.Sigmoid,
	} {
		RegisterActivation(name, func(ActivationConfig) (Activation, error) { return f, nil })
	}
}

// elementwiseRows is how many elements one parallel work item of an
// elementwise activation takes.
const elementwiseRows = 4096

// scalarAct records y = f(x; θ) applied elementwise, where θ are scalar
// parameters (each a one-element Var). grad returns ∂y/∂x and adds ∂y/∂θᵢ
// into dθ. Values are computed in float64 and saturate at float32's range.
// Parameter gradients are summed in a fixed order, so results do not depend
// on the thread count.
func scalarAct(op string, x *autograd.Var, params []*autograd.Var,
	f func(x float64, θ []float64) float64,
	grad func(x float64, θ, dθ []float64) float64) *autograd.Var {
	xv := x.Value.Contiguous()
	θ := make([]float64, len(params))
	for i, p := range params {
		θ[i] = p.Value.Float64s()[0]
	}
	out := tensor.New(xv.DType(), xv.Shape()...)
	if xv.DType() == tensor.Float32 {
		scalarForward(tensor.Data[float32](xv), tensor.Data[float32](out), θ, f)
	} else {
		scalarForward(tensor.Data[float64](xv), tensor.Data[float64](out), θ, f)
	}
	inputs := append([]*autograd.Var{x}, params...)
	return autograd.Custom(op, out, func(g *tensor.Tensor) []*tensor.Tensor {
		g = g.Contiguous()
		dx := tensor.New(xv.DType(), xv.Shape()...)
		var dθ []float64
		if xv.DType() == tensor.Float32 {
			dθ = scalarBackward(tensor.Data[float32](xv), tensor.Data[float32](g), tensor.Data[float32](dx), θ, grad)
		} else {
			dθ = scalarBackward(tensor.Data[float64](xv), tensor.Data[float64](g), tensor.Data[float64](dx), θ, grad)
		}
		gs := []*tensor.Tensor{dx}
		for i, p := range params {
			gs = append(gs, scalars(p.Value, dθ[i]))
		}
		return gs
	}, inputs...)
}

func scalarForward[T tensor.Float](x, y []T, θ []float64, f func(float64, []float64) float64) {
	kernels.Parallel((len(x)+elementwiseRows-1)/elementwiseRows, func(c int) {
		lo, hi := c*elementwiseRows, min(len(x), (c+1)*elementwiseRows)
		for j := lo; j < hi; j++ {
			y[j] = sat[T](f(float64(x[j]), θ))
		}
	})
}

func scalarBackward[T tensor.Float](x, g, dx []T, θ []float64, grad func(float64, []float64, []float64) float64) []float64 {
	chunks := (len(x) + elementwiseRows - 1) / elementwiseRows
	part := make([][]float64, chunks)
	kernels.Parallel(chunks, func(c int) {
		lo, hi := c*elementwiseRows, min(len(x), (c+1)*elementwiseRows)
		acc, d := make([]float64, len(θ)), make([]float64, len(θ))
		for j := lo; j < hi; j++ {
			clear(d)
			gj := float64(g[j])
			dx[j] = sat[T](gj * grad(float64(x[j]), θ, d))
			for i, v := range d {
				acc[i] += gj * v
			}
		}
		part[c] = acc
	})
	out := make([]float64, len(θ))
	for _, p := range part {
		for i, v := range p {
			out[i] += v
		}
	}
	return out
}

// scalarParam is a one-element parameter named prefix.name drawn from
// N(0, 1) (or a placeholder for a loader to fill).
func scalarParam(prefix, name string, in Init) *autograd.Var {
	if in.Empty {
		return autograd.NewParam(Join(prefix, name), autograd.RoleScalar, tensor.Empty(tensor.Float32, 1))
	}
	return autograd.NewParam(Join(prefix, name), autograd.RoleScalar, tensor.RandN(in.RNG, 1))
}
