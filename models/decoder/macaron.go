package decoder

// Macaron blocks, from "Understanding and Improving Transformer From a
// Multi-Particle Dynamic System Point of View" (arXiv 1906.02762; official
// code zhuohan123/macaron-net): the attention sublayer is sandwiched
// between two half-step FFNs. Like the official code (fairseq's
// normalize_before switch), each comes pre-norm and post-norm:
//
//	macaron:          x += ½·FFN₁(Norm₁ x);  x += Attn(Norm₂ x);  x += ½·FFN₂(Norm₃ x)
//	macaron_postnorm: x = Norm₁(x + ½·FFN₁(x));  x = Norm₂(x + Attn(x));  x = Norm₃(x + ½·FFN₂(x))
//
// Each FFN has half of intermediate_size (the official configs halve
// ffn_embed_dim for Macaron), so a Macaron model has the parameters of the
// pre-norm (or post-norm) model with the same config plus one norm per
// layer. Checkpoint names: FFN₁ is model.layers.<i>.macaron_mlp; attention
// and FFN₂ keep Llama's names (self_attn, mlp). The norms of "macaron" sit
// before their sublayers: macaron_layernorm, input_layernorm,
// post_attention_layernorm. Those of "macaron_postnorm" are named, as in
// the "postnorm" layout (postnorm.go, which says why the decoder keeps
// model.norm), for the residual add they follow: post_macaron_layernorm,
// post_attention_layernorm, post_feedforward_layernorm.

import (
	"fmt"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
)

// Macaron is the FFN–attention–FFN block.
type Macaron struct {
	PreFFNNorm nn.Norm
	PreFFN     nn.FFN // FFN₁, scaled by ½
	AttnNorm   nn.Norm
	Attn       Attention
	FFNNorm    nn.Norm
	FFN        nn.FFN // FFN₂, scaled by ½
	// Post places each norm after its sublayer's residual add
	// (macaron_postnorm) instead of before the sublayer.
	Post bool
}

// Forward applies the block to x [B, T, D].
func (b *Macaron) Forward(ctx *nn.Ctx, x *autograd.Var) *autograd.Var {
	x = b.add(x, b.PreFFNNorm, func(h *autograd.Var) *autograd.Var { return autograd.MulScalar(nn.ApplyFFN(ctx, b.PreFFN, h), 0.5) })
	x = b.add(x, b.AttnNorm, func(h *autograd.Var) *autograd.Var { return b.Attn.Forward(ctx, h) })
	return b.add(x, b.FFNNorm, func(h *autograd.Var) *autograd.Var { return autograd.MulScalar(nn.ApplyFFN(ctx, b.FFN, h), 0.5) })
}

// add is one sublayer step: x + f(Norm x), or Norm(x + f(x)) when Post.
func (b *Macaron) add(x *autograd.Var, norm nn.Norm, f func(*autograd.Var) *autograd.Var) *autograd.Var {
	if b.Post {
		return postNormAdd(x, norm, f)
	}
	return autograd.Add(x, f(norm.Forward(x)))
}

// NewKVCache returns the attention's cache.
func (b *Macaron) NewKVCache(batch, capacity int) nn.KVCache {
	return b.Attn.NewKVCache(batch, capacity)
}

// Params returns the parameters in block order.
func (b *Macaron) Params() []*autograd.Var {
	if b.Post {
		return nn.Collect(b.PreFFN, b.PreFFNNorm, b.Attn, b.AttnNorm, b.FFN, b.FFNNorm)
	}
	return nn.Collect(b.PreFFNNorm, b.PreFFN, b.AttnNorm, b.Attn, b.FFNNorm, b.FFN)
}

// FFNs returns both feed-forward networks.
func (b *Macaron) FFNs() []nn.FFN { return []nn.FFN{b.PreFFN, b.FFN} }

// macaronLayout builds the block with its three norms named norms (in
// block order); post selects the post-norm form.
func macaronLayout(name string, post bool, norms [3]string) func(Parts) (Block, error) {
	return func(p Parts) (Block, error) {
		c := p.Config
		if c.Loom.Removed.Count() > 0 {
			return nil, fmt.Errorf("loom.layout %s: sublayer pruning (loom.removed) is not supported for Macaron blocks", name)
		}
		hidden := c.IntermediateSizeAt(p.Layer)
		if hidden%2 != 0 {
			return nil, fmt.Errorf("loom.layout %s: intermediate_size %d must be even (each of the two FFNs takes half)", name, hidden)
		}
		b := &Macaron{Post: post}
		var err error
		if b.PreFFNNorm, err = p.Norm(norms[0]); err != nil {
			return nil, err
		}
		if b.PreFFN, err = p.FFN("macaron_mlp", hidden/2); err != nil {
			return nil, err
		}
		if b.AttnNorm, err = p.Norm(norms[1]); err != nil {
			return nil, err
		}
		if b.Attn, err = p.Attention(); err != nil {
			return nil, err
		}
		if b.FFNNorm, err = p.Norm(norms[2]); err != nil {
			return nil, err
		}
		if b.FFN, err = p.FFN("mlp", hidden/2); err != nil {
			return nil, err
		}
		return b, nil
	}
}

func init() {
	RegisterLayout("macaron", macaronLayout("macaron", false, [3]string{"macaron_layernorm", "input_layernorm", "post_attention_layernorm"}))
	RegisterLayout("macaron_postnorm", macaronLayout("macaron_postnorm", true, [3]string{"post_macaron_layernorm", "post_attention_layernorm", "post_feedforward_layernorm"}))
}
