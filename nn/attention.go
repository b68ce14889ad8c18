package nn

import (
	"fmt"
	"math"
	"sync"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/tensor"
)

// AttentionConfig describes a causal self-attention layer to build.
type AttentionConfig struct {
	Prefix    string // e.g. "model.layers.0.self_attn"
	Dim       int    // model width
	Heads     int    // query heads
	KVHeads   int    // key/value heads (grouped-query attention when < Heads)
	HeadDim   int
	Bias      bool    // biases on q, k, v and o projections
	QKVBias   bool    // biases on q, k and v only (Qwen2)
	RopeTheta float64 // rotary base; 0 means no rotary embeddings
	// RopeInvFreq, when set, replaces the frequencies derived from
	// RopeTheta (rope scaling).
	RopeInvFreq []float32
	Window      int // sliding attention window (0: none)
	Init        Init
}

// SelfAttention is multi-head causal self-attention with optional rotary
// position embeddings (HF rotate_half layout) and grouped-query heads, with
// Hugging Face Llama's projection names (q_proj, k_proj, v_proj, o_proj).
type SelfAttention struct {
	Q, K, V, O     Layer
	Heads, KVHeads int
	HeadDim        int
	Rope           *Rope // nil: no rotary embeddings
	ScaleOverride  float64
	Window         int // sliding attention window (0: none)
}

// NewSelfAttention builds the layer, checking that the shapes fit.
func NewSelfAttention(c AttentionConfig) (*SelfAttention, error) {
	switch {
	case c.Heads <= 0 || c.KVHeads <= 0 || c.HeadDim <= 0:
		return nil, fmt.Errorf("attention %s: heads %d, key/value heads %d, head dim %d must be positive", c.Prefix, c.Heads, c.KVHeads, c.HeadDim)
	case c.Heads%c.KVHeads != 0:
		return nil, fmt.Errorf("attention %s: %d key/value heads do not divide %d heads", c.Prefix, c.KVHeads, c.Heads)
	case c.RopeTheta > 0 && c.HeadDim%2 != 0:
		return nil, fmt.Errorf("attention %s: rotary embeddings need an even head dim, have %d", c.Prefix, c.HeadDim)
	}
	qkvBias := c.Bias || c.QKVBias
	a := &SelfAttention{Heads: c.Heads, KVHeads: c.KVHeads, HeadDim: c.HeadDim, Window: c.Window}
	for _, p := range []struct {
		dst     *Layer
		name    string
		in, out int
		bias    bool
	}{
		{&a.Q, "q_proj", c.Dim, c.Heads * c.HeadDim, qkvBias},
		{&a.K, "k_proj", c.Dim, c.KVHeads * c.HeadDim, qkvBias},
		{&a.V, "v_proj", c.Dim, c.KVHeads * c.HeadDim, qkvBias},
		{&a.O, "o_proj", c.Heads * c.HeadDim, c.Dim, c.Bias},
	} {
		l, err := c.Init.NewLayer(Join(c.Prefix, p.name), p.in, p.out, p.bias)
		if err != nil {
			return nil, err
		}
		*p.dst = l
	}
	if c.RopeTheta > 0 {
		a.Rope = NewRope(c.HeadDim, c.RopeTheta)
		if c.RopeInvFreq != nil {
			a.Rope.InvFreq = c.RopeInvFreq
		}
	}
	return a, nil
}

// Params returns the projections' parameters.
func (a *SelfAttention) Params() []*autograd.Var { return Collect(a.Q, a.K, a.V, a.O) }

// KVCache holds one layer's keys and values for incremental decoding.
type KVCache struct {
	K, V *tensor.Tensor // [B, KVHeads, capacity, HeadDim]
	Len  int            // positions filled
}

// NewKVCache returns an empty cache for batch b and capacity positions.
func (a *SelfAttention) NewKVCache(b, capacity int) *KVCache {
	return &KVCache{K: tensor.Zeros(b, a.KVHeads, capacity, a.HeadDim), V: tensor.Zeros(b, a.KVHeads, capacity, a.HeadDim)}
}

// Forward attends x [B, T, D] causally. pos is the position of x's first
// token. With a cache (inference, no gradients), x's keys and values are
// appended to it and x attends to everything cached so far.
func (a *SelfAttention) Forward(x *autograd.Var, pos int, cache *KVCache) *autograd.Var {
	B, T := x.Dim(0), x.Dim(1)
	H, Hk, hd := a.Heads, a.KVHeads, a.HeadDim
	heads := func(y *autograd.Var, n int) *autograd.Var {
		return autograd.Permute(autograd.Reshape(y, B, T, n, hd), 0, 2, 1, 3) // [B, n, T, hd]
	}
	q := heads(a.Q.Forward(x), H)
	k := heads(a.K.Forward(x), Hk)
	v := heads(a.V.Forward(x), Hk)
	if a.Rope != nil {
		cos, sin := a.Rope.Tables(pos, T)
		q = autograd.Rope(q, cos, sin)
		k = autograd.Rope(k, cos, sin)
	}
	scale := 1 / math.Sqrt(float64(hd))
	if a.ScaleOverride != 0 {
		scale = a.ScaleOverride
	}
	var o *autograd.Var
	if cache != nil {
		if cache.Len+T > cache.K.Dim(2) {
			panic(fmt.Sprintf("nn: KV cache of %d positions is full (%d + %d)", cache.K.Dim(2), cache.Len, T))
		}
		cache.K.Slice(2, cache.Len, cache.Len+T).CopyFrom(k.Value)
		cache.V.Slice(2, cache.Len, cache.Len+T).CopyFrom(v.Value)
		cache.Len += T
		ks := autograd.Const(cache.K.Slice(2, 0, cache.Len))
		vs := autograd.Const(cache.V.Slice(2, 0, cache.Len))
		o = autograd.SlidingAttention(q, ks, vs, a.Window, scale)
	} else {
		o = autograd.SlidingAttention(q, k, v, a.Window, scale)
	}
	o = autograd.Reshape(autograd.Permute(o, 0, 2, 1, 3), B, T, H*hd) // [B, T, H·hd]
	return a.O.Forward(o)
}

// Rope holds rotary-embedding tables, grown on demand.
type Rope struct {
	HeadDim  int
	Theta    float64
	InvFreq  []float32 // frequencies (nil: from Theta)
	mu       sync.Mutex
	cos, sin *tensor.Tensor // [n, HeadDim]
}

// NewRope returns tables for the given head dimension and base.
func NewRope(headDim int, theta float64) *Rope { return &Rope{HeadDim: headDim, Theta: theta} }

// Tables returns cos and sin [T, HeadDim] for positions pos … pos+T−1.
func (r *Rope) Tables(pos, T int) (cos, sin *tensor.Tensor) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cos == nil || r.cos.Dim(0) < pos+T {
		n := max(pos+T, 2*r.size())
		ps := make([]int, n)
		for i := range ps {
			ps[i] = i
		}
		f := r.InvFreq
		if f == nil {
			f = tensor.RopeInvFreq(r.HeadDim, r.Theta)
		}
		r.cos, r.sin = tensor.RopeTablesFreq(ps, f)
	}
	return r.cos.Slice(0, pos, pos+T), r.sin.Slice(0, pos, pos+T)
}

func (r *Rope) size() int {
	if r.cos == nil {
		return 0
	}
	return r.cos.Dim(0)
}
