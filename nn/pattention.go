package nn

// Pattention, TokenFormer's token–parameter attention ("TokenFormer:
// Rethinking Transformer Scaling with Tokenized Model Parameters",
// arXiv 2410.23168; official code Haiyang-W/TokenFormer,
// megatron/model/tokenformer.py, class Pattention): a projection whose
// weights are n key–value parameter tokens that the input attends to,
//
//	Pattention(X) = Θ(X·Kᵀ)·V      K [n, in], V [n, out]
//	Θ(A) = GELU(A / ‖A‖₂ · √τ)     per row of A over the n slots
//
// (the official norm_activation_type "l2_norm_gelu", exact GELU). τ is the
// slot count the layer was made with: the official code takes √n of the
// current n, and loom keeps τ when slots are appended (Grow), so that a
// grown layer with zero keys computes exactly the old function: the new
// slots' scores are 0, they leave ‖A‖ unchanged, and GELU(0) = 0.
// Registered as the FFN "pattention" (the FFN's Hidden is the slot count).

import (
	"fmt"
	"math"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/tensor"
)

// Pattention is one token–parameter attention layer, an nn.Layer.
type Pattention struct {
	Keys   *autograd.Var // [n, in] key parameter tokens
	Values *autograd.Var // [n, out] value parameter tokens
	// Tau is τ of Θ's √τ: the slot count when the layer was made (0: the
	// current slot count).
	Tau int
}

// PattentionConfig describes a layer to build.
type PattentionConfig struct {
	Prefix  string // checkpoint prefix; the tokens are <Prefix>.key_param_tokens and .value_param_tokens
	In, Out int
	Slots   int // n
	Tau     int // 0: Slots
	// Init draws keys and values from N(0, Init.Std²) (placeholders when
	// Init.Empty).
	Init Init
}

// NewPattention builds a layer.
func NewPattention(c PattentionConfig) (*Pattention, error) {
	if c.In <= 0 || c.Out <= 0 || c.Slots <= 0 || c.Tau < 0 {
		return nil, fmt.Errorf("pattention %s: widths %d → %d with %d slots (τ %d): want positive widths and slots", c.Prefix, c.In, c.Out, c.Slots, c.Tau)
	}
	return &Pattention{
		Keys:   autograd.NewParam(Join(c.Prefix, "key_param_tokens"), autograd.RoleMatrix, c.Init.Normal(c.Slots, c.In)),
		Values: autograd.NewParam(Join(c.Prefix, "value_param_tokens"), autograd.RoleMatrix, c.Init.Normal(c.Slots, c.Out)),
		Tau:    c.Tau,
	}, nil
}

// Slots returns the number of key–value parameter tokens.
func (p *Pattention) Slots() int { return p.Keys.Dim(0) }

// InFeatures returns the input width.
func (p *Pattention) InFeatures() int { return p.Keys.Dim(1) }

// OutFeatures returns the output width.
func (p *Pattention) OutFeatures() int { return p.Values.Dim(1) }

// tau returns τ.
func (p *Pattention) tau() int {
	if p.Tau > 0 {
		return p.Tau
	}
	return p.Slots()
}

// Forward maps x [..., in] to [..., out].
func (p *Pattention) Forward(x *autograd.Var) *autograd.Var {
	a := autograd.Linear(x, p.Keys, nil) // [..., n]
	// A/‖A‖₂·√τ in one fused pass; the epsilon keeps an all-zero row (no
	// key yet) at 0 instead of the official code's 0/0, and appended zero
	// scores leave the row exactly as it was.
	an := autograd.L2Scale(a, math.Sqrt(float64(p.tau())), 1e-30)
	return autograd.MatMul(autograd.Gelu(an), p.Values, false, false)
}

// Params returns the key and value tokens.
func (p *Pattention) Params() []*autograd.Var { return []*autograd.Var{p.Keys, p.Values} }

// Grow appends extra slots: zero keys (so the layer computes exactly what
// it did: τ is kept) and values drawn N(0, valueStd²) from rng — not zero,
// or the new slots' gradients would be zero for ever (a zero key scores 0,
// GELU'(0) = ½, so the keys' gradient is ½·(∂L/∂out·V_newᵀ)ᵀ·X/‖A‖·√τ,
// non-zero only when the new values are). The tokens are replaced by new
// parameters of the same names and roles; an optimizer built before must
// be rebuilt.
func (p *Pattention) Grow(extra int, valueStd float64, rng *tensor.RNG) error {
	if extra < 1 {
		return fmt.Errorf("pattention %s: grow by %d slots, want at least 1", p.Keys.Name, extra)
	}
	p.Tau = p.tau()
	in, out := p.Keys.Dim(1), p.Values.Dim(1)
	k := tensor.Concat(0, p.Keys.Value.To(tensor.Float32), tensor.Zeros(extra, in))
	v := tensor.Concat(0, p.Values.Value.To(tensor.Float32), tensor.Normal(rng, 0, valueStd, extra, out))
	p.Keys = autograd.NewParam(p.Keys.Name, p.Keys.Role, k)
	p.Values = autograd.NewParam(p.Values.Name, p.Values.Role, v)
	return nil
}

// PattentionFFN is TokenFormer's feed-forward network: one Pattention of
// Hidden slots from the model width to itself (the official layer's
// "mlp"; no activation of its own: Θ's GELU is the nonlinearity).
type PattentionFFN struct{ *Pattention }

// Forward maps x [..., D] to [..., D].
func (f PattentionFFN) Forward(x *autograd.Var) *autograd.Var { return f.Pattention.Forward(x) }

func init() {
	RegisterFFN("pattention", func(c FFNConfig) (FFN, error) {
		if c.Bias {
			return nil, fmt.Errorf("ffn %s: pattention has no biases (mlp_bias must be false)", c.Prefix)
		}
		p, err := NewPattention(PattentionConfig{Prefix: c.Prefix, In: c.Dim, Out: c.Dim, Slots: c.Hidden, Tau: c.Tau, Init: c.Init})
		if err != nil {
			return nil, err
		}
		return PattentionFFN{p}, nil
	})
	RegisterNorm("layernorm_nonparam", func(c NormConfig) (Norm, error) {
		if c.Dim <= 0 {
			return nil, fmt.Errorf("layernorm_nonparam %s: width %d", c.Prefix, c.Dim)
		}
		return &LayerNorm{Eps: c.Eps}, nil
	})
}
