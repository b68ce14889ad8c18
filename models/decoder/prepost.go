package decoder

import (
	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
)

// Sandwich is Gemma 2/3's block (transformers' Gemma3DecoderLayer.forward):
// each sublayer is normed before and after, inside its residual branch,
//
//	x += PostAttnNorm(Attn(AttnNorm x));  x += PostFFNNorm(FFN(FFNNorm x))
//
// with Gemma's checkpoint names: input_layernorm, post_attention_layernorm
// (after attention, not before the MLP as in Llama),
// pre_feedforward_layernorm and post_feedforward_layernorm. Selected with
// loom.layout "prepost" (model_types gemma2 and gemma3_text imply it); a nil Attn or
// FFN is a removed sublayer whose branch is skipped.
type Sandwich struct {
	AttnNorm, PostAttnNorm nn.Norm
	Attn                   Attention
	FFNNorm, PostFFNNorm   nn.Norm
	FFN                    nn.FFN
}

// Forward applies the block.
func (b *Sandwich) Forward(ctx *nn.Ctx, x *autograd.Var) *autograd.Var {
	if b.Attn != nil {
		x = autograd.Add(x, b.PostAttnNorm.Forward(b.Attn.Forward(ctx, b.AttnNorm.Forward(x))))
	}
	if b.FFN != nil {
		x = autograd.Add(x, b.PostFFNNorm.Forward(nn.ApplyFFN(ctx, b.FFN, b.FFNNorm.Forward(x))))
	}
	return x
}

// NewKVCache returns the attention's store.
func (b *Sandwich) NewKVCache(batch, capacity int) nn.KVCache {
	if b.Attn == nil {
		return nil
	}
	return b.Attn.NewKVCache(batch, capacity)
}

// Params returns the block's parameters in checkpoint order.
func (b *Sandwich) Params() []*autograd.Var {
	var out []*autograd.Var
	if b.Attn != nil {
		out = append(out, nn.Collect(b.AttnNorm, b.Attn, b.PostAttnNorm)...)
	}
	if b.FFN != nil {
		out = append(out, nn.Collect(b.FFNNorm, b.FFN, b.PostFFNNorm)...)
	}
	return out
}

func init() {
	// No format holds it for a Llama: Gemma's classes export it (their
	// model_type implies it, options.go).
	RegisterLayout("prepost", func(p Parts) (Block, error) {
		b := &Sandwich{}
		norm := func(dst *nn.Norm, name string) error {
			n, err := p.Norm(name)
			*dst = n
			return err
		}
		if p.Present(SublayerAttention) {
			if err := norm(&b.AttnNorm, "input_layernorm"); err != nil {
				return nil, err
			}
			a, err := p.Attention()
			if err != nil {
				return nil, err
			}
			b.Attn = a
			if err := norm(&b.PostAttnNorm, "post_attention_layernorm"); err != nil {
				return nil, err
			}
		}
		if p.Present(SublayerFFN) {
			if err := norm(&b.FFNNorm, "pre_feedforward_layernorm"); err != nil {
				return nil, err
			}
			f, err := p.FFN("mlp", p.Config.IntermediateSizeAt(p.Layer))
			if err != nil {
				return nil, err
			}
			b.FFN = f
			if err := norm(&b.PostFFNNorm, "post_feedforward_layernorm"); err != nil {
				return nil, err
			}
		}
		return b, nil
	})
}
