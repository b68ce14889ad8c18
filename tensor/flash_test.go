package tensor

import (
	"fmt"
	"math"
	"testing"
)

// composedBackward differentiates the composed attention: with P the
// probabilities, dV = Pᵀ·G, dS = P ⊙ (G·Vᵀ − rowsum), dQ = dS·K·s, dK = dSᵀ·Q·s,
// summed over the query heads sharing a key/value head.
func composedBackward(q, k, v, p, g *Tensor, scale float64) (dq, dk, dv *Tensor) {
	B, H, Hkv := q.Dim(0), q.Dim(1), k.Dim(1)
	group := H / Hkv
	ke := k.Unsqueeze(2).Expand(B, Hkv, group, k.Dim(2), k.Dim(3)).Reshape(B, H, k.Dim(2), k.Dim(3))
	ve := v.Unsqueeze(2).Expand(B, Hkv, group, v.Dim(2), v.Dim(3)).Reshape(B, H, v.Dim(2), v.Dim(3))
	dvE := MatMul(p, g, true, false)
	dp := MatMul(g, ve, false, true)
	rows := Sum(Mul(dp, p), true, -1)
	ds := MulScalar(Mul(p, Sub(dp, rows)), scale)
	dq = MatMul(ds, ke, false, false)
	dkE := MatMul(ds, q, true, false)
	dk = Sum(dkE.Reshape(B, Hkv, group, k.Dim(2), k.Dim(3)), false, 2)
	dv = Sum(dvE.Reshape(B, Hkv, group, v.Dim(2), v.Dim(3)), false, 2)
	return
}

func maxDiff(a, b *Tensor) float64 {
	x, y := a.Float64s(), b.Float64s()
	d := 0.0
	for i := range x {
		if math.IsInf(x[i], -1) && math.IsInf(y[i], -1) {
			continue
		}
		d = math.Max(d, math.Abs(x[i]-y[i]))
	}
	return d
}

// TestFlashMatchesComposed compares the fused kernel with the composed
// attention on shapes that cross tile boundaries, with T ≠ S, grouped-query
// heads, and causal masks where the first rows see no key (T > S).
func TestFlashMatchesComposed(t *testing.T) {
	cases := []struct {
		B, H, Hkv, T, S, d, dv int
		causal                 bool
	}{
		{1, 1, 1, 5, 5, 4, 4, true},
		{2, 4, 2, 130, 130, 16, 8, true},
		{1, 2, 1, 70, 200, 8, 8, true},  // queries are the last 70 of 200 keys
		{1, 2, 2, 150, 100, 8, 4, true}, // the first 50 rows see nothing
		{2, 3, 3, 65, 129, 8, 8, false},
	}
	for _, c := range cases {
		for _, dt := range []DType{Float64, Float32} {
			t.Run(fmt.Sprintf("%+v/%v", c, dt), func(t *testing.T) {
				r := NewRNG(uint64(c.T*1000 + c.S))
				q := RandN(r, c.B, c.H, c.T, c.d).To(dt)
				k := RandN(r, c.B, c.Hkv, c.S, c.d).To(dt)
				v := RandN(r, c.B, c.Hkv, c.S, c.dv).To(dt)
				g := RandN(r, c.B, c.H, c.T, c.dv).To(dt)
				scale := 1 / math.Sqrt(float64(c.d))
				want, p := Attention(q, k, v, nil, c.causal, scale)
				got, lse := FlashAttention(q, k, v, c.causal, scale)
				tol := 1e-12
				if dt == Float32 {
					tol = 2e-5
				}
				if d := maxDiff(got, want); d > tol {
					t.Fatalf("output differs by %g", d)
				}
				dq, dk, dv := FlashAttentionBackward(q, k, v, got, lse, g, c.causal, scale)
				wq, wk, wv := composedBackward(q, k, v, p, g, scale)
				for i, pair := range [][2]*Tensor{{dq, wq}, {dk, wk}, {dv, wv}} {
					if d := maxDiff(pair[0], pair[1]); d > 10*tol {
						t.Fatalf("gradient %d differs by %g", i, d)
					}
				}
			})
		}
	}
}

// BenchmarkAttention times forward+backward of the reference model's
// attention (B 16, H 4, T 128, d 64), fused against composed.
func BenchmarkAttention(b *testing.B) {
	r := NewRNG(1)
	q, k, v, g := RandN(r, 16, 4, 128, 64), RandN(r, 16, 4, 128, 64), RandN(r, 16, 4, 128, 64), RandN(r, 16, 4, 128, 64)
	b.Run("flash", func(b *testing.B) {
		for range b.N {
			out, lse := FlashAttention(q, k, v, true, 0.125)
			FlashAttentionBackward(q, k, v, out, lse, g, true, 0.125)
		}
	})
	b.Run("composed", func(b *testing.B) {
		for range b.N {
			_, p := Attention(q, k, v, nil, true, 0.125)
			composedBackward(q, k, v, p, g, 0.125)
		}
	})
}

// TestFlashStridedKV runs the forward pass on key/value views with strided
// heads (as a KV cache slice is) and compares with contiguous copies.
func TestFlashStridedKV(t *testing.T) {
	r := NewRNG(9)
	cacheK, cacheV := RandN(r, 2, 3, 40, 8), RandN(r, 2, 3, 40, 8)
	k, v := cacheK.Slice(2, 0, 25), cacheV.Slice(2, 0, 25) // [2, 3, 25, 8] views
	q := RandN(r, 2, 6, 4, 8)
	got, _ := FlashAttention(q, k, v, true, 0.3)
	want, _ := FlashAttention(q, k.Contiguous(), v.Contiguous(), true, 0.3)
	if d := maxDiff(got, want); d != 0 {
		t.Fatalf("strided cache differs by %g", d)
	}
}

// TestFlashWindowMatchesMasked: sliding-window attention equals the composed
// attention with the window written as an additive mask.
func TestFlashWindowMatchesMasked(t *testing.T) {
	for _, c := range []struct{ T, S, window int }{{130, 130, 17}, {70, 200, 64}, {5, 9, 3}, {64, 64, 1}, {100, 100, 150}} {
		r := NewRNG(uint64(c.T + c.window))
		q, k, v := RandN(r, 1, 2, c.T, 8).To(Float64), RandN(r, 1, 1, c.S, 8).To(Float64), RandN(r, 1, 1, c.S, 8).To(Float64)
		g := RandN(r, 1, 2, c.T, 8).To(Float64)
		mask := New(Float64, 1, 1, c.T, c.S)
		for i := 0; i < c.T; i++ {
			p := i + c.S - c.T
			for s := 0; s < c.S; s++ {
				if s > p || s <= p-c.window {
					mask.Set(math.Inf(-1), 0, 0, i, s)
				}
			}
		}
		want, probs := Attention(q, k, v, mask, false, 0.3)
		got, lse := FlashAttentionWindow(q, k, v, true, c.window, 0.3)
		if d := maxDiff(got, want); d > 1e-12 {
			t.Fatalf("%+v: output differs by %g", c, d)
		}
		dq, dk, dv := FlashAttentionWindowBackward(q, k, v, got, lse, g, true, c.window, 0.3)
		wq, wk, wv := composedBackward(q, k, v, probs, g, 0.3)
		for i, pair := range [][2]*Tensor{{dq, wq}, {dk, wk}, {dv, wv}} {
			if d := maxDiff(pair[0], pair[1]); d > 1e-11 {
				t.Fatalf("%+v: gradient %d differs by %g", c, i, d)
			}
		}
	}
}

// TestFlashBF16 checks flash attention with bf16 tile products against the
// float32 kernel: forward and backward within 8 bfloat16 roundings (u =
// 2⁻⁸) of the largest value of each result — a product rounds both
// operands, and the backward pass chains three products —, and not equal
// to it (bf16 used).
func TestFlashBF16(t *testing.T) {
	r := NewRNG(7)
	B, H, Hkv, T, d := 2, 4, 2, 77, 32
	q, k, v, g := RandN(r, B, H, T, d), RandN(r, B, Hkv, T, d), RandN(r, B, Hkv, T, d), RandN(r, B, H, T, d)
	for _, causal := range []bool{false, true} {
		o := FlashOptions{Causal: causal, Scale: 0.2}
		o16 := o
		o16.Precision = BF16
		out, lse := FlashAttentionWith(q, k, v, o)
		out16, lse16 := FlashAttentionWith(q, k, v, o16)
		dq, dk, dv := FlashAttentionWithBackward(q, k, v, out, lse, g, o)
		dq16, dk16, dv16 := FlashAttentionWithBackward(q, k, v, out16, lse16, g, o16)
		for _, c := range []struct {
			name      string
			got, want *Tensor
		}{{"out", out16, out}, {"dq", dq16, dq}, {"dk", dk16, dk}, {"dv", dv16, dv}} {
			a, b := c.got.Contiguous().F32(), c.want.Contiguous().F32()
			worst, scale := 0.0, 0.0
			for i := range a {
				worst = max(worst, math.Abs(float64(a[i]-b[i])))
				scale = max(scale, math.Abs(float64(b[i])))
			}
			if bound := 8 * math.Ldexp(1, -8) * scale; worst > bound || worst == 0 {
				t.Errorf("causal %v: %s: largest difference from float32 %.3g, want in (0, %.3g]", causal, c.name, worst, bound)
			}
		}
	}
}
