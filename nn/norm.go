package nn

import (
	"fmt"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/internal/registry"
	"github.com/loomml/loom/tensor"
)

// Norm normalises the last dimension of its input.
type Norm interface {
	Module
	Forward(x *autograd.Var) *autograd.Var
}

// NormConfig describes a norm to build.
type NormConfig struct {
	Prefix string  // checkpoint prefix, e.g. "model.layers.0.input_layernorm"
	Dim    int     // normalised width
	Eps    float64 // added to the variance
	Bias   bool    // LayerNorm's additive bias
}

var norms = registry.New[func(NormConfig) (Norm, error)]("norm")

// RegisterNorm makes a norm constructible by name from configs.
func RegisterNorm(name string, ctor func(NormConfig) (Norm, error)) { norms.Register(name, ctor) }

// NewNorm builds the norm registered as name.
func NewNorm(name string, c NormConfig) (Norm, error) {
	ctor, err := norms.Get(name)
	if err != nil {
		return nil, err
	}
	return ctor(c)
}

// NormNames lists the registered norms.
func NormNames() []string { return norms.Names() }

// RMSNorm is Llama's norm: x/√(mean(x²)+eps)·w.
type RMSNorm struct {
	Weight *autograd.Var
	Eps    float64
}

// Forward normalises x [..., D].
func (n *RMSNorm) Forward(x *autograd.Var) *autograd.Var { return autograd.RMSNorm(x, n.Weight, n.Eps) }

// Params returns the gain.
func (n *RMSNorm) Params() []*autograd.Var { return []*autograd.Var{n.Weight} }

// OffsetRMSNorm is Gemma's norm, x/√(mean(x²)+eps)·(1+w), its gains
// stored as offsets from 1 (transformers' Gemma2RMSNorm / Gemma3RMSNorm,
// whose weights start at zero).
type OffsetRMSNorm struct {
	Weight *autograd.Var
	Eps    float64
}

// Forward normalises x [..., D].
func (n *OffsetRMSNorm) Forward(x *autograd.Var) *autograd.Var {
	return autograd.RMSNorm(x, autograd.AddScalar(n.Weight, 1), n.Eps)
}

// Params returns the gain offsets.
func (n *OffsetRMSNorm) Params() []*autograd.Var { return []*autograd.Var{n.Weight} }

// LayerNorm is (x−mean)/√(var+eps)·w + b; without Weight (and Bias) it is
// non-parametric ("layernorm_nonparam", TokenFormer's).
type LayerNorm struct {
	Weight, Bias *autograd.Var // Bias may be nil
	Eps          float64
}

// Forward normalises x [..., D].
func (n *LayerNorm) Forward(x *autograd.Var) *autograd.Var {
	return autograd.LayerNorm(x, n.Weight, n.Bias, n.Eps)
}

// Params returns the gain and bias.
func (n *LayerNorm) Params() []*autograd.Var {
	if n.Weight == nil {
		return nil
	}
	if n.Bias == nil {
		return []*autograd.Var{n.Weight}
	}
	return []*autograd.Var{n.Weight, n.Bias}
}

// NewLayerNorm returns a LayerNorm named prefix with gain 1 (and bias 0).
func NewLayerNorm(prefix string, dim int, eps float64, bias bool) *LayerNorm {
	n := &LayerNorm{Weight: autograd.NewParam(Join(prefix, "weight"), autograd.RoleNorm, tensor.Ones(dim)), Eps: eps}
	if bias {
		n.Bias = autograd.NewParam(Join(prefix, "bias"), autograd.RoleBias, tensor.Zeros(dim))
	}
	return n
}

func init() {
	RegisterNorm("rmsnorm", func(c NormConfig) (Norm, error) {
		if c.Dim <= 0 {
			return nil, fmt.Errorf("rmsnorm %s: width %d", c.Prefix, c.Dim)
		}
		return &RMSNorm{Weight: autograd.NewParam(Join(c.Prefix, "weight"), autograd.RoleNorm, tensor.Ones(c.Dim)), Eps: c.Eps}, nil
	})
	RegisterNorm("gemma_rmsnorm", func(c NormConfig) (Norm, error) {
		if c.Dim <= 0 {
			return nil, fmt.Errorf("gemma_rmsnorm %s: width %d", c.Prefix, c.Dim)
		}
		return &OffsetRMSNorm{Weight: autograd.NewParam(Join(c.Prefix, "weight"), autograd.RoleNorm, tensor.Zeros(c.Dim)), Eps: c.Eps}, nil
	})
	RegisterNorm("layernorm", func(c NormConfig) (Norm, error) {
		if c.Dim <= 0 {
			return nil, fmt.Errorf("layernorm %s: width %d", c.Prefix, c.Dim)
		}
		return NewLayerNorm(c.Prefix, c.Dim, c.Eps, c.Bias), nil
	})
}
