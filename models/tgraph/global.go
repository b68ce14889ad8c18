package tgraph

import (
	"math"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// GlobalLayer is one layer of the global encoder: a pre-norm Transformer
// encoder layer run over each node's sequence of tokens, one token per
// patch the node occurs in (Todyformer's node packing: the tokens of one
// node across patches form a sequence; different nodes never attend to
// each other). With x [B, T, D] (B sequences, right-padded to T):
//
//	x ← x + Dropout(W_o MHA(LN₁(x)))     (keys past each sequence's length hidden)
//	x ← x + Dropout(W₂ ReLU(W₁ LN₂(x)))  (width FFN)
//
// The temporal positional encoding is added to the tokens before the
// first layer of each global encoder (Model.Forward).
type GlobalLayer struct {
	LN1, LN2           *nn.LayerNorm
	QKV, Out, FF1, FF2 *nn.Linear
	Heads              int
}

func newGlobalLayer(prefix string, dim, ffn, heads int, rng *tensor.RNG) *GlobalLayer {
	return &GlobalLayer{
		LN1:   nn.NewLayerNorm(nn.Join(prefix, "ln1"), dim, 1e-5, true),
		LN2:   nn.NewLayerNorm(nn.Join(prefix, "ln2"), dim, 1e-5, true),
		QKV:   nn.NewTorchLinear(nn.Join(prefix, "qkv"), dim, 3*dim, true, rng),
		Out:   nn.NewTorchLinear(nn.Join(prefix, "out"), dim, dim, true, rng),
		FF1:   nn.NewTorchLinear(nn.Join(prefix, "ff1"), dim, ffn, true, rng),
		FF2:   nn.NewTorchLinear(nn.Join(prefix, "ff2"), ffn, dim, true, rng),
		Heads: heads,
	}
}

// Forward maps the sequences x [B, T, D], sequence b holding lens[b] ≥ 1
// tokens, to [B, T, D] (the padding rows are not meaningful).
func (g *GlobalLayer) Forward(ctx *nn.Ctx, x *autograd.Var, lens []int, dropout float64) *autograd.Var {
	B, T, D := x.Dim(0), x.Dim(1), x.Dim(2)
	H := g.Heads
	dh := D / H
	qkv := autograd.Split(g.QKV.Forward(g.LN1.Forward(x)), 2, D, D, D)
	heads := func(y *autograd.Var) *autograd.Var {
		return autograd.Permute(autograd.Reshape(y, B, T, H, dh), 0, 2, 1, 3) // [B, H, T, dh]
	}
	o := autograd.FlashAttention(heads(qkv[0]), heads(qkv[1]), heads(qkv[2]),
		tensor.FlashOptions{KeyLens: lens, Scale: 1 / math.Sqrt(float64(dh))})
	o = autograd.Reshape(autograd.Permute(o, 0, 2, 1, 3), B, T, D)
	x = autograd.Add(x, ctx.Dropout(g.Out.Forward(o), dropout))
	f := g.FF2.Forward(autograd.Relu(g.FF1.Forward(g.LN2.Forward(x))))
	return autograd.Add(x, ctx.Dropout(f, dropout))
}

// Params returns the layer's weights.
func (g *GlobalLayer) Params() []*autograd.Var {
	return nn.Collect(g.LN1, g.LN2, g.QKV, g.Out, g.FF1, g.FF2)
}
