package petl

import (
	"fmt"
	"math"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// Prefix tuning (Li and Liang, arXiv 2101.00190), in the form PETL-AST
// compares (src/AST_prompt_tuning.py, ASTSelfAttention_PT): every attention
// layer gets P trainable key and value vectors, in the space of its key and
// value projections (after them, shared by the heads' slices as the
// projections' outputs are), that every query attends to before the
// tokens; queries are not extended and no reparametrisation network is
// used. Initialised as the official code does, uniform in ±√(6/(3·256+768))
// ≈ ±0.0625. Works for encoders and decoders alike: a causal layer's
// queries see every prefix vector and the tokens up to their own, and with
// a key/value cache the prefix stays in front of the cached tokens (the
// cache holds only the tokens). Parameters are named <attention>.prefix_k
// and <attention>.prefix_v, [P, key/value heads × head dim].

// prefixInit is the official code's bound of the uniform initialisation.
var prefixInit = math.Sqrt(6.0 / (3*256 + 768))

// PrefixAttention is an attention layer with trainable key and value
// prefixes.
type PrefixAttention struct {
	Inner *nn.Attention
	K, V  *autograd.Var // [P, KVHeads·HeadDim]
}

// Forward attends x [B, T, D] over the prefix and the tokens.
func (a *PrefixAttention) Forward(ctx *nn.Ctx, x *autograd.Var) *autograd.Var {
	in := a.Inner
	if ctx.RowPositions() != nil {
		panic("petl: prefix tuning does not run batches of separate sequences (continuous batching)")
	}
	B, T := x.Dim(0), x.Dim(1)
	H, Hk, hd, P := in.Heads, in.KVHeads, in.HeadDim, a.K.Dim(0)
	heads := func(y *autograd.Var, b, t, n int) *autograd.Var {
		return autograd.Permute(autograd.Reshape(y, b, t, n, hd), 0, 2, 1, 3) // [b, n, t, hd]
	}
	q, k, v := heads(in.Q.Forward(x), B, T, H), heads(in.K.Forward(x), B, T, Hk), heads(in.V.Forward(x), B, T, Hk)
	if in.QNorm != nil {
		q, k = in.QNorm.Forward(q), in.KNorm.Forward(k)
	}
	if in.Rope != nil {
		cos, sin := in.Rope.Tables(ctx.Position(), T)
		q, k = in.Rope.Apply(q, cos, sin), in.Rope.Apply(k, cos, sin)
	}
	if kv := ctx.KV(in.Layer); kv != nil {
		ks, vs := kv.Append(k.Value.Contiguous(), v.Value.Contiguous())
		k, v = autograd.Const(ks), autograd.Const(vs)
	}
	S := k.Dim(2)
	pk := autograd.Expand(heads(a.K, 1, P, Hk), B, Hk, P, hd)
	pv := autograd.Expand(heads(a.V, 1, P, Hk), B, Hk, P, hd)
	k = autograd.Concat(2, pk, k)
	v = autograd.Concat(2, pv, v)
	var extra nn.Mask
	if ctx != nil {
		extra = ctx.Mask
	}
	var mask *tensor.Tensor
	if lens := extra.KeyLengths; lens != nil {
		mask = tensor.KeyLengthMask(shifted(lens, P), B, P+S)
	}
	if extra.Bias != nil {
		panic("petl: prefix tuning takes no attention bias mask")
	}
	o := autograd.Attention(q, k, v, mask, in.Kind == nn.Causal, in.Scale()) // [B, H, T, hd]
	o = autograd.Reshape(autograd.Contiguous(autograd.Permute(o, 0, 2, 1, 3)), B, T, H*hd)
	return in.O.Forward(o)
}

// NewKVCache is the attention's.
func (a *PrefixAttention) NewKVCache(batch, capacity int) nn.KVCache {
	return a.Inner.NewKVCache(batch, capacity)
}

// Params returns the attention's parameters, then the prefixes.
func (a *PrefixAttention) Params() []*autograd.Var { return append(a.Inner.Params(), a.K, a.V) }

// ApplyPrefix freezes model and gives every attention layer P key and
// value prefixes; it returns how many layers it changed. Layers with a
// sliding window or soft-capped scores are refused.
func ApplyPrefix(model nn.Module, P int, seed uint64) (int, error) {
	if P < 1 {
		return 0, fmt.Errorf("petl: prefix length %d, want at least 1", P)
	}
	nn.Freeze(model)
	r := tensor.NewRNG(seed)
	count, err := nn.ReplaceAll(model, func(n *nn.Node) bool {
		_, ok := n.Module.(*nn.Attention)
		return ok
	}, func(n *nn.Node) (nn.Module, error) {
		a := n.Module.(*nn.Attention)
		if a.Window > 0 || a.Softcap > 0 {
			return nil, fmt.Errorf("petl: prefix tuning of a layer with a sliding window or soft-capped scores is not supported")
		}
		w := a.KVHeads * a.HeadDim
		return &PrefixAttention{Inner: a,
			K: autograd.NewParam(nn.Join(n.Name, "prefix_k"), autograd.RoleEmbedding, tensor.Uniform(r, -prefixInit, prefixInit, P, w)),
			V: autograd.NewParam(nn.Join(n.Name, "prefix_v"), autograd.RoleEmbedding, tensor.Uniform(r, -prefixInit, prefixInit, P, w)),
		}, nil
	})
	if err == nil && count == 0 {
		err = fmt.Errorf("petl: the model has no attention layer for prefix tuning")
	}
	return count, err
}

// shifted returns key lengths with p more keys in front of each row.
func shifted(lens []int, p int) []int {
	out := make([]int, len(lens))
	for i, l := range lens {
		out[i] = l + p
	}
	return out
}
