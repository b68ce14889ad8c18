package nn

import (
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/tensor"
)

// The modules models are built from have second derivatives: a pre-norm
// decoder layer made of nn's RMSNorm, Attention (rotary, grouped-query,
// causal, fused kernel) and GatedMLP passes GradGradCheck in its input and
// every weight, so ∂²f/∂x² and ∂/∂θ(∂f/∂x) are right through the real
// layers (the autograd tests check the same on the ops themselves and
// against PyTorch).
func TestLayerSecondDerivatives(t *testing.T) {
	const D, H = 8, 12
	r := tensor.NewRNG(11)
	attn, err := NewAttention(AttentionConfig{Prefix: "a", Dim: D, Heads: 2, KVHeads: 1, RopeTheta: 10000, Init: Init{RNG: r, Std: 0.4}})
	if err != nil {
		t.Fatal(err)
	}
	ffn, err := NewFFN("gated", FFNConfig{Prefix: "m", Dim: D, Hidden: H, Act: "silu", Init: Init{RNG: r, Std: 0.4}})
	if err != nil {
		t.Fatal(err)
	}
	n1, _ := NewNorm("rmsnorm", NormConfig{Prefix: "n1", Dim: D, Eps: 1e-6})
	n2, _ := NewNorm("rmsnorm", NormConfig{Prefix: "n2", Dim: D, Eps: 1e-6})
	params := Collect(n1, attn, n2, ffn)
	inputs := []*tensor.Tensor{tensor.RandN(r, 1, 5, D)}
	for _, p := range params {
		v := p.Value.Clone()
		if p.Role == autograd.RoleNorm {
			v = tensor.Add(v, tensor.MulScalar(tensor.RandN(r, v.Shape()...), 0.1)) // not all ones
		}
		inputs = append(inputs, v)
	}
	f := func(xs []*autograd.Var) *autograd.Var {
		// The weights are the check's inputs, in Collect's order.
		n1.(*RMSNorm).Weight = xs[1]
		attn.Q, attn.K, attn.V, attn.O = &Linear{Weight: xs[2]}, &Linear{Weight: xs[3]}, &Linear{Weight: xs[4]}, &Linear{Weight: xs[5]}
		n2.(*RMSNorm).Weight = xs[6]
		g := ffn.(*GatedMLP)
		g.Gate, g.Up, g.Down = &Linear{Weight: xs[7]}, &Linear{Weight: xs[8]}, &Linear{Weight: xs[9]}
		x := xs[0]
		x = autograd.Add(x, attn.Forward(nil, n1.Forward(x)))
		return autograd.Add(x, ffn.Forward(n2.Forward(x)))
	}
	if err := autograd.GradGradCheck(f, inputs, autograd.CheckOptions{Atol: 1e-5, Rtol: 1e-3}); err != nil {
		t.Fatal(err)
	}
}
