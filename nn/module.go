package nn

import (
	"fmt"
	"strings"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/tensor"
)

// Module is anything with trainable parameters.
type Module interface {
	// Params returns the parameters in a fixed order, each named with its
	// checkpoint name.
	Params() []*autograd.Var
}

// Layer maps [..., in] to [..., out]: a dense Linear, or a variant such as a
// parameterised hypercomplex layer.
type Layer interface {
	Module
	Forward(x *autograd.Var) *autograd.Var
	InFeatures() int
	OutFeatures() int
}

// Mixer is a token-mixing sublayer [B, T, D] → [B, T, D] with a
// key/value store of its own: an Attention, or a module wrapping one (an
// adapter, a prefix). Decoder and encoder layers hold theirs as a Mixer.
type Mixer interface {
	Module
	// Forward mixes x [B, T, D]; ctx gives the position of x's first
	// token, the cache its keys and values are appended to and any mask.
	Forward(ctx *Ctx, x *autograd.Var) *autograd.Var
	// NewKVCache returns an empty key/value store for this layer.
	NewKVCache(batch, capacity int) KVCache
}

// Collect concatenates the parameters of modules, skipping nil ones.
func Collect(mods ...Module) []*autograd.Var {
	var out []*autograd.Var
	for _, m := range mods {
		if m == nil {
			continue
		}
		out = append(out, m.Params()...)
	}
	return out
}

// ParamMap indexes params by name, failing on duplicates.
func ParamMap(params []*autograd.Var) (map[string]*autograd.Var, error) {
	m := make(map[string]*autograd.Var, len(params))
	for _, p := range params {
		if p.Name == "" {
			return nil, fmt.Errorf("nn: parameter of shape %v has no name", p.Shape())
		}
		if _, dup := m[p.Name]; dup {
			return nil, fmt.Errorf("nn: two parameters named %q", p.Name)
		}
		m[p.Name] = p
	}
	return m, nil
}

// Join builds a dotted checkpoint name from non-empty parts.
func Join(parts ...string) string {
	var nonEmpty []string
	for _, p := range parts {
		if p != "" {
			nonEmpty = append(nonEmpty, p)
		}
	}
	return strings.Join(nonEmpty, ".")
}

// Init is how a model initialises new weights.
type Init struct {
	RNG *tensor.RNG
	Std float64 // standard deviation of weights (HF initializer_range, 0.02)
	// Empty makes weight matrices storage-less placeholders
	// (tensor.Empty) for a loader to fill: no memory, no random draws.
	Empty bool
	// Layer, when set, builds the projections of attention and FFNs in
	// place of Linear (a paper's layer, e.g. PHM); nil: Linear.
	Layer func(prefix string, in, out int, bias bool, init Init) (Layer, error)
}

// NewLayer builds a projection [..., in] → [..., out] named prefix: in.Layer
// when set, a Linear otherwise.
func (in Init) NewLayer(prefix string, inF, outF int, bias bool) (Layer, error) {
	if in.Layer != nil {
		return in.Layer(prefix, inF, outF, bias, in)
	}
	return NewLinear(prefix, inF, outF, bias, in), nil
}

// Normal returns a new [shape] tensor drawn from N(0, Std²), or an empty
// placeholder when in.Empty.
func (in Init) Normal(shape ...int) *tensor.Tensor {
	if in.Empty {
		return tensor.Empty(tensor.Float32, shape...)
	}
	return tensor.Normal(in.RNG, 0, in.Std, shape...)
}

// Reinit draws the parameters of m again by role, each scaled by its
// InitMult (so a parametrisation such as μP sets InitScale and calls it):
// matrices, embeddings, heads, experts and factors from N(0, (init.Std ×
// InitMult)²), norm gains 1, biases 0. Scalars keep the values their
// builders chose. Draws follow m.Params() order from init.RNG.
func Reinit(m Module, init Init) {
	for _, p := range m.Params() {
		switch {
		case p.Role.Decays():
			p.Value = tensor.Normal(init.RNG, 0, init.Std*p.InitMult(), p.Shape()...)
		case p.Role == autograd.RoleNorm:
			p.Value = tensor.Ones(p.Shape()...)
		case p.Role == autograd.RoleBias:
			p.Value = tensor.Zeros(p.Shape()...)
		}
	}
}
