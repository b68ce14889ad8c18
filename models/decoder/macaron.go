package decoder

// Macaron blocks, from "Understanding and Improving Transformer From a
// Multi-Particle Dynamic System Point of View" (arXiv 1906.02762; official
// code zhuohan123/macaron-net): the attention sublayer is sandwiched
// between two half-step FFNs,
//
//	x += ½·FFN₁(Norm₁ x);  x += Attn(Norm₂ x);  x += ½·FFN₂(Norm₃ x)
//
// Each FFN has half of intermediate_size, so a Macaron model has the
// parameters of the pre-norm model with the same config (plus one norm per
// layer). Selected with loom.layout "macaron". Checkpoint names: FFN₁ is
// model.layers.<i>.macaron_mlp after model.layers.<i>.macaron_layernorm;
// attention and FFN₂ keep Llama's names.

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
}

// Forward applies the block to x [B, T, D].
func (b *Macaron) Forward(ctx *nn.Ctx, x *autograd.Var) *autograd.Var {
	x = autograd.Add(x, autograd.MulScalar(b.PreFFN.Forward(b.PreFFNNorm.Forward(x)), 0.5))
	x = autograd.Add(x, b.Attn.Forward(ctx, b.AttnNorm.Forward(x)))
	return autograd.Add(x, autograd.MulScalar(b.FFN.Forward(b.FFNNorm.Forward(x)), 0.5))
}

// NewKVCache returns the attention's cache.
func (b *Macaron) NewKVCache(batch, capacity int) nn.KVCache {
	return b.Attn.NewKVCache(batch, capacity)
}

// Params returns the parameters in block order.
func (b *Macaron) Params() []*autograd.Var {
	return nn.Collect(b.PreFFNNorm, b.PreFFN, b.AttnNorm, b.Attn, b.FFNNorm, b.FFN)
}

// FFNs returns both feed-forward networks.
func (b *Macaron) FFNs() []nn.FFN { return []nn.FFN{b.PreFFN, b.FFN} }

func init() {
	RegisterLayout("macaron", func(p Parts) (Block, error) {
		c := p.Config
		if c.Loom.Removed.Count() > 0 {
			return nil, fmt.Errorf("loom.layout macaron: sublayer pruning (loom.removed) is not supported for Macaron blocks")
		}
		hidden := c.IntermediateSizeAt(p.Layer)
		if hidden%2 != 0 {
			return nil, fmt.Errorf("loom.layout macaron: intermediate_size %d must be even (each of the two FFNs takes half)", hidden)
		}
		b := &Macaron{}
		var err error
		if b.PreFFNNorm, err = p.Norm("macaron_layernorm"); err != nil {
			return nil, err
		}
		if b.PreFFN, err = p.FFN("macaron_mlp", hidden/2); err != nil {
			return nil, err
		}
		if b.AttnNorm, err = p.Norm("input_layernorm"); err != nil {
			return nil, err
		}
		if b.Attn, err = p.Attention(); err != nil {
			return nil, err
		}
		if b.FFNNorm, err = p.Norm("post_attention_layernorm"); err != nil {
			return nil, err
		}
		if b.FFN, err = p.FFN("mlp", hidden/2); err != nil {
			return nil, err
		}
		return b, nil
	})
}
