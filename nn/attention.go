package nn

import (
	"fmt"
	"math"
	"sync"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/internal/kernels"
	"github.com/loomml/loom/tensor"
)

// MaskKind is an attention layer's own pattern: which keys a query sees
// before any per-call Mask.
type MaskKind uint8

const (
	// Causal: each query sees the keys up to its own position (decoders).
	Causal MaskKind = iota
	// Bidirectional: every query sees every key (encoders, iTransformer's
	// variate tokens, diffusion transformers).
	Bidirectional
)

func (k MaskKind) String() string {
	if k == Bidirectional {
		return "bidirectional"
	}
	return "causal"
}

// Mask is a per-call restriction of attention, carried by Ctx.Mask on top
// of each layer's MaskKind and window. The zero Mask adds nothing.
type Mask struct {
	// KeyLengths, when set, holds each batch row's number of valid keys
	// (right padding): keys at or after it are hidden from every query.
	KeyLengths []int
	// Bias is added to the attention scores, broadcast to [B, H, T, S]:
	// 0 where a key is visible, −Inf where it is hidden (arbitrary sparse,
	// block or graph masks), or any real bias.
	Bias *tensor.Tensor
}

// IsZero reports whether m adds nothing.
func (m Mask) IsZero() bool { return m.KeyLengths == nil && m.Bias == nil }

// AttentionConfig describes an attention layer to build.
type AttentionConfig struct {
	Prefix  string // checkpoint prefix, e.g. "model.layers.0.self_attn"
	Dim     int    // model width
	Heads   int    // query heads
	KVHeads int    // key/value heads (grouped-query attention when < Heads); 0: Heads
	HeadDim int    // 0: Dim/Heads
	Bias    bool   // biases on q, k, v and o projections
	QKVBias bool   // biases on q, k and v only (Qwen2)
	// RopeTheta is the rotary base; 0 means no rotary embeddings.
	RopeTheta float64
	// RopeInvFreq, when set, replaces the frequencies derived from
	// RopeTheta (rope scaling).
	RopeInvFreq []float32
	// Scale replaces the score scale 1/√HeadDim when not 0 (Gemma's
	// query_pre_attn_scalar^-0.5).
	Scale float64
	// Softcap, when > 0, caps the scaled scores s as Softcap·tanh(s/Softcap)
	// before the mask (Gemma 2's attn_logit_softcapping, as its
	// eager_attention_forward); such a layer attends through the composed
	// path, not the flash kernel.
	Softcap float64
	// RopeVariant rotates part of each head, scales the tables, or
	// switches to long frequencies (zero: none of these).
	RopeVariant RopeVariant
	Window      int      // sliding attention window (0: none)
	Kind        MaskKind // Causal (the default) or Bidirectional
	// Dropout is the dropout probability on the attention probabilities
	// in training (0: none).
	Dropout float64
	// QKNorm, when not "", names a registered norm (NewNorm) applied to
	// every head of the queries and the keys over its HeadDim values,
	// before the rotary embedding: Qwen3's q_norm and k_norm (transformers'
	// Qwen3Attention.forward), with gains of HeadDim values named
	// <Prefix>.q_norm and <Prefix>.k_norm.
	QKNorm string
	// QKNormEps is the QKNorm's epsilon.
	QKNormEps float64
	// Names are the checkpoint names of the q, k, v and output projections
	// (default Hugging Face Llama's q_proj, k_proj, v_proj, o_proj).
	Names [4]string
	// Layer is the index of this layer's store in a Cache.
	Layer int
	Init  Init
}

// Attention is multi-head scaled-dot-product attention with grouped-query
// heads, optional rotary position embeddings (HF rotate_half layout), a
// causal or bidirectional pattern, an optional sliding window, dropout on
// the probabilities, per-call masks (padding, sparse or graph masks through
// Ctx.Mask) and a key/value cache (Ctx.Cache). Every model family attends
// through it.
//
// It runs the fused flash kernel (no T×S probabilities held) for causal,
// bidirectional, windowed and right-padded (Mask.KeyLengths) attention, and
// composes the product from autograd operations when a call needs what
// that kernel does not do: an arbitrary Mask.Bias, or dropout on the
// probabilities in training.
type Attention struct {
	Q, K, V, O     Layer
	Heads, KVHeads int
	HeadDim        int
	Rope           *Rope // nil: no rotary embeddings
	// QNorm and KNorm, when not nil, normalise each head of the queries
	// and keys before the rotary embedding (AttentionConfig.QKNorm).
	QNorm, KNorm Norm
	// ScaleOverride replaces the score scale 1/√HeadDim when not 0.
	ScaleOverride float64
	// Softcap caps the scores (AttentionConfig.Softcap; 0: none).
	Softcap float64
	Window  int // sliding attention window (0: none)
	Kind    MaskKind
	Dropout float64
	Layer   int // index of this layer's store in a Cache
	// CacheDType is the type NewKVCache stores keys and values in:
	// tensor.Float16 (HalfKV, as llama.cpp by default) or float32 (zero).
	CacheDType tensor.DType
	// SSA, when set, subsamples the keys of fused self-attention in
	// training (ssa.go); nil: dense.
	SSA *SSA
}

// DefaultAttentionNames are Hugging Face Llama's projection names.
var DefaultAttentionNames = [4]string{"q_proj", "k_proj", "v_proj", "o_proj"}

// NewAttention builds the layer, checking that the shapes fit.
func NewAttention(c AttentionConfig) (*Attention, error) {
	if c.KVHeads == 0 {
		c.KVHeads = c.Heads
	}
	if c.HeadDim == 0 && c.Heads > 0 {
		c.HeadDim = c.Dim / c.Heads
	}
	switch {
	case c.Heads <= 0 || c.KVHeads <= 0 || c.HeadDim <= 0:
		return nil, fmt.Errorf("attention %s: heads %d, key/value heads %d, head dim %d must be positive", c.Prefix, c.Heads, c.KVHeads, c.HeadDim)
	case c.Heads%c.KVHeads != 0:
		return nil, fmt.Errorf("attention %s: %d key/value heads do not divide %d heads", c.Prefix, c.KVHeads, c.Heads)
	case c.RopeTheta > 0 && c.HeadDim%2 != 0:
		return nil, fmt.Errorf("attention %s: rotary embeddings need an even head dim, have %d", c.Prefix, c.HeadDim)
	case c.RopeVariant.RotaryDim < 0 || c.RopeVariant.RotaryDim > c.HeadDim || c.RopeVariant.RotaryDim%2 != 0:
		return nil, fmt.Errorf("attention %s: rotary dim %d, want an even number in [0, %d]", c.Prefix, c.RopeVariant.RotaryDim, c.HeadDim)
	case c.Softcap < 0:
		return nil, fmt.Errorf("attention %s: soft-cap %v, want a positive number (or 0: none)", c.Prefix, c.Softcap)
	case c.Dropout < 0 || c.Dropout >= 1:
		return nil, fmt.Errorf("attention %s: dropout %v, want [0, 1)", c.Prefix, c.Dropout)
	case c.Window < 0 || c.Window > 0 && c.Kind != Causal:
		return nil, fmt.Errorf("attention %s: window %d needs a causal layer (have %s)", c.Prefix, c.Window, c.Kind)
	}
	names := c.Names
	for i, n := range names {
		if n == "" {
			names[i] = DefaultAttentionNames[i]
		}
	}
	qkvBias := c.Bias || c.QKVBias
	a := &Attention{Heads: c.Heads, KVHeads: c.KVHeads, HeadDim: c.HeadDim, Window: c.Window, Kind: c.Kind, Dropout: c.Dropout, Layer: c.Layer, ScaleOverride: c.Scale, Softcap: c.Softcap}
	for i, p := range []struct {
		dst     *Layer
		in, out int
		bias    bool
	}{
		{&a.Q, c.Dim, c.Heads * c.HeadDim, qkvBias},
		{&a.K, c.Dim, c.KVHeads * c.HeadDim, qkvBias},
		{&a.V, c.Dim, c.KVHeads * c.HeadDim, qkvBias},
		{&a.O, c.Heads * c.HeadDim, c.Dim, c.Bias},
	} {
		l, err := c.Init.NewLayer(Join(c.Prefix, names[i]), p.in, p.out, p.bias)
		if err != nil {
			return nil, err
		}
		*p.dst = l
	}
	if c.QKNorm != "" {
		var err error
		if a.QNorm, err = NewNorm(c.QKNorm, NormConfig{Prefix: Join(c.Prefix, "q_norm"), Dim: c.HeadDim, Eps: c.QKNormEps}); err != nil {
			return nil, err
		}
		if a.KNorm, err = NewNorm(c.QKNorm, NormConfig{Prefix: Join(c.Prefix, "k_norm"), Dim: c.HeadDim, Eps: c.QKNormEps}); err != nil {
			return nil, err
		}
	}
	if c.RopeTheta > 0 {
		a.Rope = NewRope(c.HeadDim, c.RopeTheta)
		if c.RopeInvFreq != nil {
			a.Rope.InvFreq = c.RopeInvFreq
		}
		a.Rope.RopeVariant = c.RopeVariant
	}
	return a, nil
}

// Params returns the projections' parameters (and the q/k norms' gains).
func (a *Attention) Params() []*autograd.Var {
	ps := Collect(a.Q, a.K, a.V, a.O)
	if a.QNorm != nil {
		ps = append(ps, Collect(a.QNorm, a.KNorm)...)
	}
	return ps
}

// normQK applies the per-head q/k norms (if any) to q and k [.., hd].
func (a *Attention) normQK(q, k *autograd.Var) (*autograd.Var, *autograd.Var) {
	if a.QNorm == nil {
		return q, k
	}
	return a.QNorm.Forward(q), a.KNorm.Forward(k)
}

// NewKVCache returns a full store for batch b and capacity positions:
// float16 when a.CacheDType is tensor.Float16 (HalfKV; not for soft-capped
// layers), else float32.
func (a *Attention) NewKVCache(b, capacity int) KVCache {
	// Soft-capped scores are computed by composed attention, which would
	// widen a float16 store whole at every step: those layers keep float32.
	if a.CacheDType == tensor.Float16 && a.Softcap == 0 {
		return NewHalfKV(b, a.KVHeads, capacity, a.HeadDim)
	}
	return NewFullKV(b, a.KVHeads, capacity, a.HeadDim)
}

// Scale returns the score scale.
func (a *Attention) Scale() float64 {
	if a.ScaleOverride != 0 {
		return a.ScaleOverride
	}
	return 1 / math.Sqrt(float64(a.HeadDim))
}

// Forward attends x [B, T, D] and returns [B, T, D]. ctx gives the
// position of x's first token, the cache (keys and values of x are
// appended to the layer's store and x attends to everything it returns),
// a per-call mask and, in training, the RNG for dropout.
func (a *Attention) Forward(ctx *Ctx, x *autograd.Var) *autograd.Var {
	if ctx.RowPositions() != nil {
		return a.forwardRows(ctx, x)
	}
	B, T := x.Dim(0), x.Dim(1)
	H, Hk, hd := a.Heads, a.KVHeads, a.HeadDim
	heads := func(y *autograd.Var, n int) *autograd.Var {
		return autograd.Permute(autograd.Reshape(y, B, T, n, hd), 0, 2, 1, 3) // [B, n, T, hd]
	}
	qp, kp, vp := a.Q.Forward(x), a.K.Forward(x), a.V.Forward(x)
	q, k, v := heads(qp, H), heads(kp, Hk), heads(vp, Hk)
	q, k = a.normQK(q, k)
	if a.Rope != nil {
		cos, sin := a.Rope.Tables(ctx.Position(), T)
		q, k = a.Rope.Apply(q, cos, sin), a.Rope.Apply(k, cos, sin)
	}
	temps := []*autograd.Var{qp, kp, vp, q, k} // dead once attended (the cache keeps copies)
	var o *autograd.Var
	mask, drop := ctx.extraMask(), ctx.dropoutRNG()
	fused := mask.Bias == nil && (drop == nil || a.Dropout == 0) && a.Softcap == 0
	opts := tensor.FlashOptions{Causal: a.Kind == Causal, Window: a.Window, KeyLens: mask.KeyLengths, Scale: a.Scale()}
	if kv := ctx.KV(a.Layer); kv != nil {
		if h, ok := kv.(HalfKVCache); ok && fused && !autograd.GradEnabled() {
			// Float16 keys and values, read in place.
			ks, vs := h.AppendHalf(k.Value, v.Value)
			out, _ := tensor.FlashAttentionHalfKV(q.Value, ks, vs, opts)
			o = autograd.Const(out)
		} else {
			ks, vs := kv.Append(k.Value, v.Value)
			k, v = autograd.Const(ks), autograd.Const(vs)
		}
	}
	switch {
	case o != nil:
	case fused:
		// The fused kernel: causal or not, the window, padding, and in
		// training with SSA only the sampled key tiles.
		if ctx.KV(a.Layer) == nil {
			opts.SSA = a.SSA.Plan(ctx, B, H, T, a.Kind == Causal)
		}
		o = autograd.FlashAttention(q, k, v, opts)
	default:
		o = a.composed(q, k, v, mask, drop)
	}
	// Without gradients the temporaries' storage is reused (tensor.Recycle).
	autograd.RecycleAll(temps, x, o)
	o = autograd.Reshape(autograd.Contiguous(autograd.Permute(o, 0, 2, 1, 3)), B, T, H*hd) // [B, T, H·hd]
	out := a.O.Forward(o)
	autograd.Recycle(o, x, out)
	return out
}

// forwardRows is Forward for a batch of separate sequences (ctx.Positions
// and a SeqCaches cache): x [B, 1, D] holds one new token per sequence, or
// with ctx.Lengths, x [1, T, D] holds each sequence's new tokens one after
// the other (Ctx.RowLayout). The projections run over all tokens at once;
// the rotary embedding uses each token's position; each sequence's keys
// and values go to its own store and its queries attend over those alone,
// through the same kernel and with the same arithmetic as a call for that
// sequence alone (so its result does not depend on the rest of the batch
// beyond what the projections' kernels do).
func (a *Attention) forwardRows(ctx *Ctx, x *autograd.Var) *autograd.Var {
	B, T := x.Dim(0), x.Dim(1)
	R := B * T
	pos, offs := ctx.RowLayout(B, T)
	if !ctx.extraMask().IsZero() || ctx.dropoutRNG() != nil && a.Dropout > 0 {
		panic("nn: a batch of separate sequences takes no extra mask and no attention dropout")
	}
	rows, ok := ctx.KV(a.Layer).(RowKV)
	if !ok {
		panic(fmt.Sprintf("nn: attention layer %d: a batch of separate sequences needs an nn.SeqCaches cache", a.Layer))
	}
	if len(rows.Caches) != len(offs)-1 {
		panic(fmt.Sprintf("nn: attention layer %d: %d caches for %d sequences", a.Layer, len(rows.Caches), len(offs)-1))
	}
	H, Hk, hd := a.Heads, a.KVHeads, a.HeadDim
	// The R tokens viewed as R positions of one sequence, [1, n, R, hd],
	// so the rotary tables are one row per token.
	heads := func(y *autograd.Var, n int) *autograd.Var {
		return autograd.Permute(autograd.Reshape(y, 1, R, n, hd), 0, 2, 1, 3)
	}
	q := heads(a.Q.Forward(x), H)
	k := heads(a.K.Forward(x), Hk)
	v := heads(a.V.Forward(x), Hk)
	q, k = a.normQK(q, k)
	if a.Rope != nil {
		cos, sin := a.Rope.Rows(pos)
		q, k = a.Rope.Apply(q, cos, sin), a.Rope.Apply(k, cos, sin)
	}
	out := tensor.New(q.Value.DType(), 1, R, H, hd) // sequence b's output at [0, offs[b]:offs[b+1]]
	// The sequences in parallel (each one's heads on one goroutine: a
	// sequence's few tokens are too small to split).
	opts := tensor.FlashOptions{Causal: a.Kind == Causal, Window: a.Window, Scale: a.Scale(), Serial: true}
	kernels.Parallel(len(offs)-1, func(b int) {
		o0, o1 := offs[b], offs[b+1]
		var o *tensor.Tensor // [1, H, n, hd]
		if h, ok := rows.Row(b).(HalfKVCache); ok && a.Softcap == 0 {
			ks, vs := h.AppendHalf(k.Value.Slice(2, o0, o1), v.Value.Slice(2, o0, o1))
			o, _ = tensor.FlashAttentionHalfKV(q.Value.Slice(2, o0, o1), ks, vs, opts)
			out.Slice(1, o0, o1).CopyFrom(o.Permute(0, 2, 1, 3))
			return
		}
		ks, vs := rows.Row(b).Append(k.Value.Slice(2, o0, o1), v.Value.Slice(2, o0, o1))
		if a.Softcap > 0 {
			qs := autograd.Const(q.Value.Slice(2, o0, o1).Contiguous())
			o = a.composed(qs, autograd.Const(ks), autograd.Const(vs), Mask{}, nil).Value
		} else {
			o, _ = tensor.FlashAttentionWith(q.Value.Slice(2, o0, o1), ks, vs, opts)
		}
		out.Slice(1, o0, o1).CopyFrom(o.Permute(0, 2, 1, 3))
	})
	o := autograd.Reshape(autograd.Const(out), B, T, H*hd)
	return a.O.Forward(o)
}

// composed attends with the scores held: per-call masks, and dropout on
// the probabilities (rng not nil) in training. The scale multiplies q
// ([B, H, T, hd]) rather than the T×S scores.
func (a *Attention) composed(q, k, v *autograd.Var, mask Mask, rng *tensor.RNG) *autograd.Var {
	B, H, T, S := q.Dim(0), q.Dim(1), q.Dim(2), k.Dim(2)
	manual := rng != nil && a.Dropout > 0 || a.Softcap > 0 // scores held and changed
	bias := a.maskBias(mask, B, T, S, manual)
	if !manual {
		return autograd.Attention(q, k, v, bias, a.Kind == Causal, a.Scale())
	}
	if g := H / a.KVHeads; g > 1 { // one key/value head per query head
		expand := func(x *autograd.Var) *autograd.Var {
			d := x.Dim(3)
			x = autograd.Expand(autograd.Unsqueeze(x, 2), B, a.KVHeads, g, S, d)
			return autograd.Reshape(autograd.Contiguous(x), B, H, S, d)
		}
		k, v = expand(k), expand(v)
	}
	q = autograd.MulScalar(q, a.Scale())
	s := autograd.MatMul(q, k, false, true) // [B, H, T, S]
	if c := a.Softcap; c > 0 {
		s = autograd.MulScalar(autograd.Tanh(autograd.MulScalar(s, 1/c)), c)
	}
	if bias != nil {
		s = autograd.Add(s, autograd.Const(bias))
	}
	var p *autograd.Var
	if rng != nil && a.Dropout > 0 {
		p = autograd.SoftmaxDropout(s, a.Dropout, rng) // dropout on the probabilities, fused
	} else {
		p = autograd.Softmax(s, 3)
	}
	return autograd.MatMul(p, v, false, false) // [B, H, T, hd]
}

// maskBias returns the additive mask of a composed call: the per-call
// Bias and KeyLengths, the sliding window, and (when withCausal, for the
// dropout path, which has no causal flag) the causal pattern. nil when
// nothing is hidden.
func (a *Attention) maskBias(m Mask, B, T, S int, withCausal bool) *tensor.Tensor {
	var out *tensor.Tensor
	add := func(t *tensor.Tensor) {
		if out == nil {
			out = t
		} else {
			out = tensor.Add(out, t)
		}
	}
	if m.Bias != nil {
		add(m.Bias)
	}
	if m.KeyLengths != nil {
		add(tensor.KeyLengthMask(m.KeyLengths, B, S))
	}
	if a.Kind == Causal && (a.Window > 0 || withCausal) {
		// Query t is at key position t+S−T; it sees keys up to there, and
		// with a window only the last Window of them.
		w := tensor.Zeros(1, 1, T, S)
		for t := range T {
			p := t + S - T
			for s := range S {
				if (withCausal && s > p) || (a.Window > 0 && s <= p-a.Window) {
					w.Set(math.Inf(-1), 0, 0, t, s)
				}
			}
		}
		add(w)
	}
	return out
}

// RopeVariant are rotary choices beyond the frequencies, as transformers'
// modeling_rope_utils and Phi3's apply_rotary_pos_emb make them.
type RopeVariant struct {
	// RotaryDim rotates only the first RotaryDim values of each head,
	// passing the rest through (partial_rotary_factor; 0: the whole head).
	RotaryDim int
	// Scale multiplies cos and sin (a rope type's attention factor, as
	// the rotary embeddings' forward multiplies by attention_scaling; 0
	// means 1).
	Scale float64
	// LongInvFreq, when set, replaces the frequencies in a call whose
	// sequence (positions up to the call's last) is longer than LongAfter
	// (LongRoPE: _compute_longrope_parameters with seq_len, which
	// dynamic_rope_update recomputes on every forward).
	LongInvFreq []float32
	LongAfter   int
}

// Rope holds rotary-embedding tables, grown on demand.
type Rope struct {
	HeadDim int
	Theta   float64
	InvFreq []float32 // frequencies (nil: from Theta)
	RopeVariant
	mu       sync.Mutex
	cos, sin *tensor.Tensor // [n, rotary dim]
	// long are the tables of LongInvFreq.
	longCos, longSin *tensor.Tensor
}

// NewRope returns tables for the given head dimension and base.
func NewRope(headDim int, theta float64) *Rope { return &Rope{HeadDim: headDim, Theta: theta} }

// Dim returns the number of rotated values of each head.
func (r *Rope) Dim() int {
	if r.RotaryDim > 0 {
		return r.RotaryDim
	}
	return r.HeadDim
}

// Tables returns cos and sin [T, Dim()] for positions pos … pos+T−1 (the
// long frequencies' when pos+T exceeds LongAfter).
func (r *Rope) Tables(pos, T int) (cos, sin *tensor.Tensor) {
	r.mu.Lock()
	defer r.mu.Unlock()
	long := r.LongInvFreq != nil && pos+T > r.LongAfter
	c, s := &r.cos, &r.sin
	if long {
		c, s = &r.longCos, &r.longSin
	}
	if *c == nil || (*c).Dim(0) < pos+T {
		n := pos + T
		if *c != nil {
			n = max(n, 2*(*c).Dim(0))
		}
		ps := make([]int, n)
		for i := range ps {
			ps[i] = i
		}
		f := r.InvFreq
		if long {
			f = r.LongInvFreq
		}
		if f == nil {
			f = tensor.RopeInvFreq(r.Dim(), r.Theta)
		}
		*c, *s = tensor.RopeTablesFreq(ps, f)
		if r.Scale != 0 && r.Scale != 1 {
			*c, *s = tensor.MulScalar(*c, r.Scale), tensor.MulScalar(*s, r.Scale)
		}
	}
	return (*c).Slice(0, pos, pos+T), (*s).Slice(0, pos, pos+T)
}

// Rows returns cos and sin [len(positions), Dim()] whose row i is
// position positions[i]'s: the values Tables gives for a sequence ending
// at that position.
func (r *Rope) Rows(positions []int) (cos, sin *tensor.Tensor) {
	hd := r.Dim()
	cos, sin = tensor.Zeros(len(positions), hd), tensor.Zeros(len(positions), hd)
	for i, p := range positions {
		c, s := r.Tables(p, 1)
		cos.Slice(0, i, i+1).CopyFrom(c)
		sin.Slice(0, i, i+1).CopyFrom(s)
	}
	return cos, sin
}

// Apply rotates x [..., HeadDim] by cos and sin [.., Dim()]: all of each
// head, or with RotaryDim its first RotaryDim values, the rest passed
// through (Phi3's apply_rotary_pos_emb).
func (r *Rope) Apply(x *autograd.Var, cos, sin *tensor.Tensor) *autograd.Var {
	d := r.Dim()
	if d == r.HeadDim {
		return autograd.Rope(x, cos, sin)
	}
	last := x.NDim() - 1
	rot := autograd.Rope(autograd.Contiguous(autograd.Slice(x, last, 0, d)), cos, sin)
	return autograd.Concat(last, rot, autograd.Slice(x, last, d, r.HeadDim))
}
