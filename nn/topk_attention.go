package nn

import (
	"errors"
	"math"
	"sort"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/tensor"
)

// TopKAttention is AxFormer's hard attention (arXiv 2010.03688;
// compress/axformer chooses k per layer, models/encoder loads it): each
// query attends with a softmax over only its K largest scores (after the
// causal and padding masks; ties at the K-th score are all kept), the
// rest get probability 0. With K at least the number of visible keys it
// equals the dense layer. It reuses Inner's projections, rotary
// embedding and QK norms; Inner's soft-capping and sliding window are not
// supported (NewTopK refuses them). Dropout on the probabilities is not
// applied: the layer is for inference on a pruned model.
type TopKAttention struct {
	Inner *Attention
	K     int
}

// NewTopK wraps a with top-k hard attention.
func NewTopK(a *Attention, k int) (*TopKAttention, error) {
	if a == nil {
		return nil, errors.New("nn: top-k attention needs an nn.Attention")
	}
	if k < 1 {
		return nil, errors.New("nn: top-k needs k ≥ 1")
	}
	if a.Softcap != 0 || a.Window != 0 {
		return nil, errors.New("nn: top-k attention does not support soft-capped or windowed attention")
	}
	return &TopKAttention{Inner: a, K: k}, nil
}

// Params returns the inner attention's parameters.
func (t *TopKAttention) Params() []*autograd.Var { return t.Inner.Params() }

// NewKVCache returns the inner attention's store.
func (t *TopKAttention) NewKVCache(b, capacity int) KVCache {
	return t.Inner.NewKVCache(b, capacity)
}

// Forward attends x [B, T, D].
func (t *TopKAttention) Forward(ctx *Ctx, x *autograd.Var) *autograd.Var {
	a := t.Inner
	B, T := x.Dim(0), x.Dim(1)
	H, Hk, hd := a.Heads, a.KVHeads, a.HeadDim
	heads := func(y *autograd.Var, n int) *autograd.Var {
		return autograd.Permute(autograd.Reshape(y, B, T, n, hd), 0, 2, 1, 3)
	}
	q, k, v := heads(a.Q.Forward(x), H), heads(a.K.Forward(x), Hk), heads(a.V.Forward(x), Hk)
	if a.QNorm != nil {
		q, k = a.QNorm.Forward(q), a.KNorm.Forward(k)
	}
	if a.Rope != nil {
		cos, sin := a.Rope.Tables(ctx.Position(), T)
		q, k = a.Rope.Apply(q, cos, sin), a.Rope.Apply(k, cos, sin)
	}
	if kv := ctx.KV(a.Layer); kv != nil {
		ks, vs := kv.Append(k.Value, v.Value)
		k, v = autograd.Const(ks), autograd.Const(vs)
	}
	var lens []int
	if ctx != nil {
		lens = ctx.Mask.KeyLengths
	}
	bias := TopKMask(q.Value, k.Value, lens, a.Kind == Causal, a.Scale(), t.K)
	if ctx != nil && ctx.Mask.Bias != nil {
		bias = tensor.Add(bias, ctx.Mask.Bias)
	}
	o := autograd.Attention(q, k, v, bias, false, a.Scale())
	o = autograd.Reshape(autograd.Contiguous(autograd.Permute(o, 0, 2, 1, 3)), B, T, H*hd)
	return a.O.Forward(o)
}

// TopKMask returns the additive mask [B, H, T, S] (0 or −∞) that keeps, for
// every query of q [B, H, T, d], its k largest scores q·k_s·scale among
// the keys of k [B, Hkv, S, d] it may see: keys before lens[b] (lens nil:
// all) and, when causal, at most its own position (queries aligned to the
// last T keys).
func TopKMask(q, k *tensor.Tensor, lens []int, causal bool, scale float64, topK int) *tensor.Tensor {
	sh, kh := q.Shape(), k.Shape()
	B, H, T, d := sh[0], sh[1], sh[2], sh[3]
	Hk, S := kh[1], kh[2]
	qs, ks := q.Float32s(), k.Float32s()
	out := tensor.Zeros(B, H, T, S)
	m := out.F32()
	ninf := float32(math.Inf(-1))
	g := H / Hk
	scores := make([]float64, S)
	var vis []float64
	for b := range B {
		n := S
		if lens != nil {
			n = min(lens[b], S)
		}
		for h := range H {
			kb := ((b*Hk + h/g) * S) * d
			for ti := range T {
				qb := ((b*H+h)*T + ti) * d
				row := m[((b*H+h)*T+ti)*S:][:S]
				last := n - 1
				if causal {
					last = min(last, ti+S-T)
				}
				vis = vis[:0]
				for s := range S {
					if s > last {
						row[s] = ninf
						continue
					}
					var dot float64
					for j := range d {
						dot += float64(qs[qb+j]) * float64(ks[kb+s*d+j])
					}
					scores[s] = dot * scale
					vis = append(vis, scores[s])
				}
				if len(vis) <= topK {
					continue
				}
				sort.Float64s(vis)
				th := vis[len(vis)-topK]
				for s := 0; s <= last; s++ {
					if scores[s] < th {
						row[s] = ninf
					}
				}
			}
		}
	}
	return out
}
