package nn

import (
	"math"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/tensor"
)

func newTestAttention(t *testing.T, kind MaskKind, window, heads, kvHeads int, dropout float64) *Attention {
	t.Helper()
	a, err := NewAttention(AttentionConfig{Prefix: "attn", Dim: 32, Heads: heads, KVHeads: kvHeads, RopeTheta: 10000,
		Kind: kind, Window: window, Dropout: dropout, Init: Init{RNG: tensor.NewRNG(3), Std: 0.3}})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// The fused path (no Bias) and the composed path (an all-zero Bias, which
// hides nothing) agree for every pattern the kernel handles: causal,
// bidirectional, sliding window, grouped-query heads and right padding.
func TestAttentionFusedEqualsComposed(t *testing.T) {
	const B, T = 3, 21
	x := autograd.Const(tensor.RandN(tensor.NewRNG(5), B, T, 32))
	for _, c := range []struct {
		name                   string
		kind                   MaskKind
		window, heads, kvHeads int
		lens                   []int
	}{
		{"causal", Causal, 0, 4, 4, nil},
		{"causal-gqa", Causal, 0, 4, 2, nil},
		{"window", Causal, 5, 4, 2, nil},
		{"bidirectional", Bidirectional, 0, 4, 4, nil},
		{"bidirectional-padded", Bidirectional, 0, 4, 2, []int{21, 9, 1}},
		{"causal-padded", Causal, 0, 4, 4, []int{4, 21, 13}},
		{"window-padded", Causal, 3, 4, 1, []int{21, 15, 2}},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := newTestAttention(t, c.kind, c.window, c.heads, c.kvHeads, 0)
			fused := a.Forward(&Ctx{Mask: Mask{KeyLengths: c.lens}}, x)
			composed := a.Forward(&Ctx{Mask: Mask{KeyLengths: c.lens, Bias: tensor.Zeros(1, 1, T, T)}}, x)
			if d := maxAbsDiff(fused.Value, composed.Value); d > 1e-5 {
				t.Fatalf("fused and composed differ by %g", d)
			}
			// Padding hides the keys: rows past a length see the same keys,
			// so changing the padded inputs changes nothing before it.
			if c.lens != nil {
				x2 := x.Value.Clone()
				for b, n := range c.lens {
					for tt := n; tt < T; tt++ {
						for d := range 32 {
							x2.Set(7, b, tt, d)
						}
					}
				}
				y2 := a.Forward(&Ctx{Mask: Mask{KeyLengths: c.lens}}, autograd.Const(x2))
				for b, n := range c.lens {
					got, want := y2.Value.Slice(0, b, b+1).Slice(1, 0, n), fused.Value.Slice(0, b, b+1).Slice(1, 0, n)
					if d := maxAbsDiff(got, want); d > 1e-5 {
						t.Fatalf("row %d: padding changed the valid positions by %g", b, d)
					}
				}
			}
		})
	}
}

// The fused kernel's gradients with key lengths match the composed path's.
func TestAttentionPaddedGradients(t *testing.T) {
	lens := []int{7, 3}
	f := func(kind MaskKind, bias *tensor.Tensor) func(xs []*autograd.Var) *autograd.Var {
		return func(xs []*autograd.Var) *autograd.Var {
			o := tensor.FlashOptions{Causal: kind == Causal, KeyLens: lens, Scale: 0.5}
			if bias == nil {
				return autograd.FlashAttention(xs[0], xs[1], xs[2], o)
			}
			return autograd.Attention(xs[0], xs[1], xs[2], tensor.Add(bias, tensor.KeyLengthMask(lens, 2, 7)), kind == Causal, 0.5)
		}
	}
	r := tensor.NewRNG(9)
	in := []*tensor.Tensor{tensor.RandN(r, 2, 2, 7, 4), tensor.RandN(r, 2, 1, 7, 4), tensor.RandN(r, 2, 1, 7, 4)}
	for _, kind := range []MaskKind{Causal, Bidirectional} {
		if err := autograd.GradCheck(f(kind, nil), in, autograd.CheckOptions{Float32Tol: 1e-5}); err != nil {
			t.Fatalf("%v: %v", kind, err)
		}
		var ga, gb []*tensor.Tensor
		for _, bias := range []*tensor.Tensor{nil, tensor.Zeros(1, 1, 7, 7)} {
			xs := []*autograd.Var{autograd.Leaf(in[0].Clone()), autograd.Leaf(in[1].Clone()), autograd.Leaf(in[2].Clone())}
			y := f(kind, bias)(xs)
			y.BackwardWith(tensor.Ones(y.Shape()...))
			for _, x := range xs {
				if bias == nil {
					ga = append(ga, x.Grad)
				} else {
					gb = append(gb, x.Grad)
				}
			}
		}
		for i := range ga {
			if d := maxAbsDiff(ga[i], gb[i]); d > 1e-5 {
				t.Fatalf("%v: gradient %d differs by %g", kind, i, d)
			}
		}
	}
}

// An arbitrary Bias (a graph mask here) hides exactly the keys it marks.
func TestAttentionBiasMask(t *testing.T) {
	const T = 6
	a := newTestAttention(t, Bidirectional, 0, 4, 4, 0)
	x := autograd.Const(tensor.RandN(tensor.NewRNG(2), 1, T, 32))
	// A path graph: each token sees itself and its neighbours.
	bias := tensor.Zeros(1, 1, T, T)
	for i := range T {
		for j := range T {
			if i-j > 1 || j-i > 1 {
				bias.Set(math.Inf(-1), 0, 0, i, j)
			}
		}
	}
	y := a.Forward(&Ctx{Mask: Mask{Bias: bias}}, x)
	// Changing token 5 changes only tokens 4 and 5.
	x2 := x.Value.Clone()
	for d := range 32 {
		x2.Set(3, 0, 5, d)
	}
	y2 := a.Forward(&Ctx{Mask: Mask{Bias: bias}}, autograd.Const(x2))
	for tt := range T {
		d := maxAbsDiff(y.Value.Slice(1, tt, tt+1), y2.Value.Slice(1, tt, tt+1))
		if (tt >= 4) != (d > 0) {
			t.Fatalf("token %d changed by %g", tt, d)
		}
	}
}

// Dropout on the probabilities applies only in training with an RNG, the
// same seed gives the same result, and evaluation uses the fused kernel.
func TestAttentionDropout(t *testing.T) {
	a := newTestAttention(t, Bidirectional, 0, 4, 4, 0.5)
	plain := newTestAttention(t, Bidirectional, 0, 4, 4, 0)
	x := autograd.Const(tensor.RandN(tensor.NewRNG(4), 2, 9, 32))
	if d := maxAbsDiff(a.Forward(nil, x).Value, plain.Forward(nil, x).Value); d != 0 {
		t.Fatalf("evaluation differs from no dropout by %g", d)
	}
	if d := maxAbsDiff(a.Forward(&Ctx{Train: true}, x).Value, plain.Forward(nil, x).Value); d != 0 {
		t.Fatalf("training without an RNG applied dropout (%g)", d)
	}
	y1 := a.Forward(&Ctx{Train: true, RNG: tensor.NewRNG(1)}, x)
	y2 := a.Forward(&Ctx{Train: true, RNG: tensor.NewRNG(1)}, x)
	if d := maxAbsDiff(y1.Value, y2.Value); d != 0 {
		t.Fatalf("same seed, different dropout (%g)", d)
	}
	if d := maxAbsDiff(y1.Value, plain.Forward(nil, x).Value); d == 0 {
		t.Fatal("dropout changed nothing")
	}
}

// Decoding through a SlidingKV store gives the logits of a full store, and
// its buffer stays bounded however long the sequence.
func TestSlidingKV(t *testing.T) {
	const W, T = 4, 40
	a := newTestAttention(t, Causal, W, 4, 2, 0)
	x := tensor.RandN(tensor.NewRNG(8), 1, T, 32)
	full, slide := KVCaches{a.NewKVCache(1, T)}, KVCaches{NewSlidingKV(1, 2, W, 1, 8)}
	var room int
	for i := 0; i < T; {
		n := 1 + i%3 // chunks of 1 to 3 tokens
		n = min(n, T-i)
		xi := autograd.Const(x.Slice(1, i, i+n).Contiguous())
		yf := a.Forward(&Ctx{Cache: full, Pos: i}, xi)
		ys := a.Forward(&Ctx{Cache: slide, Pos: i}, xi)
		if d := maxAbsDiff(yf.Value, ys.Value); d > 1e-5 {
			t.Fatalf("positions %d…%d: sliding store differs by %g", i, i+n-1, d)
		}
		i += n
		s := slide[0].(*SlidingKV)
		if i > 20 && room == 0 {
			room = s.k.Dim(2)
		}
		if room > 0 && s.k.Dim(2) != room {
			t.Fatalf("the sliding buffer grew from %d to %d rows", room, s.k.Dim(2))
		}
	}
	if full[0].Len() != T || slide[0].Len() != T {
		t.Fatalf("lengths %d and %d, want %d", full[0].Len(), slide[0].Len(), T)
	}
}

func TestAttentionConfigErrors(t *testing.T) {
	for _, c := range []AttentionConfig{
		{Prefix: "a", Dim: 32, Heads: 4, KVHeads: 3},
		{Prefix: "a", Dim: 32, Heads: 4, Kind: Bidirectional, Window: 4},
		{Prefix: "a", Dim: 32, Heads: 4, Dropout: 1},
		{Prefix: "a", Dim: 30, Heads: 4, HeadDim: 5, RopeTheta: 1e4},
	} {
		c.Init = Init{RNG: tensor.NewRNG(1), Std: 0.02}
		if _, err := NewAttention(c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}
