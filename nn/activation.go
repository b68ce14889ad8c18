package nn

import (
	"github.com/loomml/loom/autograd"
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

var activations = newRegistry[func(ActivationConfig) (Activation, error)]("activation")

// RegisterActivation makes an activation constructible by name.
func RegisterActivation(name string, ctor func(ActivationConfig) (Activation, error)) {
	activations.register(name, ctor)
}

// NewActivation builds the activation registered as name.
func NewActivation(name string, c ActivationConfig) (Activation, error) {
	ctor, err := activations.get(name)
	if err != nil {
		return nil, err
	}
	return ctor(c)
}

// ActivationNames lists the registered activations.
func ActivationNames() []string { return activations.names() }

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
