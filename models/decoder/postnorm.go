package decoder

// The original Transformer's post-norm block ("Attention Is All You Need",
// arXiv 1706.03762), as fairseq writes it with normalize_before off and as
// the Macaron Net code (zhuohan123/macaron-net) keeps it for its post-norm
// baseline: each sublayer reads the stream as it is, and the norm is
// applied after the residual add,
//
//	x = Norm₁(x + Attn(x));  x = Norm₂(x + FFN(x))
//
// so the stream leaving every layer is normalized. Selected with
// loom.layout "postnorm"; it has the parameters of the pre-norm block.
//
// Checkpoint names: attention and FFN keep Llama's (self_attn, mlp); the
// norms are named for the residual add they follow: Norm₁ is
// model.layers.<i>.post_attention_layernorm (it normalizes the sum after
// attention, which is also what the FFN reads, as Llama's norm of that name
// feeds its MLP) and Norm₂ is model.layers.<i>.post_feedforward_layernorm.
// There is no input_layernorm: the attention of layer i reads layer i−1's
// Norm₂ (layer 0 reads the embeddings as they are, as in the original).
//
// The final norm: fairseq's post-norm decoder has none (its final
// LayerNorm exists only with normalize_before), since the last layer's
// Norm₂ has already normalized the stream. loom's decoder keeps
// model.norm for every layout (the checkpoint's names and lm_head's input
// do not depend on the layout); after a post-norm stack it normalizes an
// already normalized stream, so it adds only a per-channel gain (D
// parameters) and is, at initialisation, the identity up to eps.
//
// No export format holds it (Llama's block is pre-norm), and sublayer
// pruning is refused: the norms sit on the residual stream itself, so
// removing a sublayer cannot leave the stream passing through unchanged.

import (
	"fmt"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
)

// PostNorm is the original Transformer's block.
type PostNorm struct {
	Attn     Attention
	AttnNorm nn.Norm // post_attention_layernorm: after attention's residual add
	FFN      nn.FFN
	FFNNorm  nn.Norm // post_feedforward_layernorm: after the FFN's residual add
}

// Forward applies the block to x [B, T, D].
func (b *PostNorm) Forward(ctx *nn.Ctx, x *autograd.Var) *autograd.Var {
	x = postNormAdd(x, b.AttnNorm, func(h *autograd.Var) *autograd.Var { return b.Attn.Forward(ctx, h) })
	return postNormAdd(x, b.FFNNorm, func(h *autograd.Var) *autograd.Var { return nn.ApplyFFN(ctx, b.FFN, h) })
}

// postNormAdd is one post-norm sublayer step: Norm(x + f(x)).
func postNormAdd(x *autograd.Var, norm nn.Norm, f func(*autograd.Var) *autograd.Var) *autograd.Var {
	return norm.Forward(autograd.Add(x, f(x)))
}

// NewKVCache returns the attention's cache.
func (b *PostNorm) NewKVCache(batch, capacity int) nn.KVCache {
	return b.Attn.NewKVCache(batch, capacity)
}

// Params returns the parameters in block order.
func (b *PostNorm) Params() []*autograd.Var {
	return nn.Collect(b.Attn, b.AttnNorm, b.FFN, b.FFNNorm)
}

// noPruning refuses loom.removed for a layout whose norms sit on the
// residual stream.
func noPruning(p Parts, layout string) error {
	if p.Config.Loom.Removed.Count() > 0 {
		return fmt.Errorf("loom.layout %s: sublayer pruning (loom.removed) is not supported: its norms sit on the residual stream, so removing a sublayer cannot leave the stream unchanged", layout)
	}
	return nil
}

func init() {
	RegisterLayout("postnorm", func(p Parts) (Block, error) {
		if err := noPruning(p, "postnorm"); err != nil {
			return nil, err
		}
		b := &PostNorm{}
		var err error
		if b.Attn, err = p.Attention(); err != nil {
			return nil, err
		}
		if b.AttnNorm, err = p.Norm("post_attention_layernorm"); err != nil {
			return nil, err
		}
		if b.FFN, err = p.FFN("mlp", p.Config.IntermediateSizeAt(p.Layer)); err != nil {
			return nil, err
		}
		if b.FFNNorm, err = p.Norm("post_feedforward_layernorm"); err != nil {
			return nil, err
		}
		return b, nil
	})
}
