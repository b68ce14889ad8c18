package decoder_test

import (
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/decoder/decodertest"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// halfFFN scales an FFN's output by ½.
type halfFFN struct{ nn.FFN }

func (h halfFFN) Forward(x *autograd.Var) *autograd.Var {
	return autograd.MulScalar(h.FFN.Forward(x), 0.5)
}

// With FFN₁'s output projection zeroed, a decoder.Macaron layer equals a pre-norm
// block (same attention, norms and FFN₂) whose FFN output is scaled by ½.
func TestMacaronWithoutFirstFFNIsHalfStepPreNorm(t *testing.T) {
	m, err := decoder.New(decodertest.TinyConfig(func(c *decoder.Config) { c.Loom.Layout = "macaron" }), 31)
	if err != nil {
		t.Fatal(err)
	}
	b := m.Layers[0].(*decoder.Macaron)
	down := b.PreFFN.(*nn.GatedMLP).Down.(*nn.Linear)
	down.Weight.Value = tensor.ZerosLike(down.Weight.Value)
	ref := &decoder.PreNorm{AttnNorm: b.AttnNorm, Attn: b.Attn, FFNNorm: b.FFNNorm, FFN: halfFFN{b.FFN}}
	x := autograd.Const(tensor.RandN(tensor.NewRNG(2), 2, 7, 32))
	var got, want *autograd.Var
	autograd.NoGrad(func() { got, want = b.Forward(nil, x), ref.Forward(nil, x) })
	decodertest.EqualLogits(t, "macaron vs half-step pre-norm", got.Value.F32(), want.Value.F32())
}

// With FFN₁'s output projection zeroed, a post-norm Macaron layer
// (macaron_postnorm) is its first norm followed by a post-norm block (same
// attention, norms and FFN₂) whose FFN output is scaled by ½: the paper's
// half step on the original Transformer, applied to a normalized input.
func TestPostNormMacaronWithoutFirstFFNIsHalfStepPostNorm(t *testing.T) {
	m, err := decoder.New(decodertest.TinyConfig(func(c *decoder.Config) { c.Loom.Layout = "macaron_postnorm" }), 35)
	if err != nil {
		t.Fatal(err)
	}
	randomNormGains(m, 5)
	b := m.Layers[1].(*decoder.Macaron)
	down := b.PreFFN.(*nn.GatedMLP).Down.(*nn.Linear)
	down.Weight.Value = tensor.ZerosLike(down.Weight.Value)
	ref := &decoder.PostNorm{Attn: b.Attn, AttnNorm: b.AttnNorm, FFN: halfFFN{b.FFN}, FFNNorm: b.FFNNorm}
	x := autograd.Const(tensor.RandN(tensor.NewRNG(2), 2, 7, 32))
	var got, want *autograd.Var
	autograd.NoGrad(func() { got, want = b.Forward(nil, x), ref.Forward(nil, b.PreFFNNorm.Forward(x)) })
	decodertest.EqualLogits(t, "post-norm macaron vs half-step post-norm", want.Value.F32(), got.Value.F32())
}

// Parameters match the pre-norm model's, plus one norm per layer; names
// follow Llama's for attention and FFN₂.
func TestMacaronParams(t *testing.T) {
	pre, _ := decoder.New(decodertest.TinyConfig(nil), 32)
	mac, err := decoder.New(decodertest.TinyConfig(func(c *decoder.Config) { c.Loom.Layout = "macaron" }), 32)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := mac.NumParams(), pre.NumParams()+2*32; got != want {
		t.Fatalf("macaron has %d parameters, want %d", got, want)
	}
	names, _ := nn.ParamMap(mac.Params())
	for _, n := range []string{"model.layers.1.macaron_layernorm.weight", "model.layers.1.macaron_mlp.down_proj.weight",
		"model.layers.1.self_attn.q_proj.weight", "model.layers.1.mlp.up_proj.weight", "model.layers.1.post_attention_layernorm.weight"} {
		if names[n] == nil {
			t.Errorf("no parameter %s", n)
		}
	}
	if _, err := decoder.New(decodertest.TinyConfig(func(c *decoder.Config) { c.Loom.Layout = "macaron"; c.IntermediateSize = 63 }), 1); err == nil {
		t.Error("odd intermediate_size accepted")
	}
	// Incremental decoding with the KV cache matches the full forward.
	decodertest.CachedMatchesFull(t, mac, decodertest.IDs(9, 50), 1e-5)
}
