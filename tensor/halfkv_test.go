package tensor

import (
	"fmt"
	"math"
	"testing"

	"github.com/loomml/loom/internal/kernels"
)

// halfCache returns a [B, Hkv, capacity, D] float16 store holding x's
// [B, Hkv, S, D] values rounded to f16 in its first S positions, and the
// view of those positions.
func halfCache(t *testing.T, x *Tensor, capacity int) *HalfRows {
	B, H, S, D := x.shape[0], x.shape[1], x.shape[2], x.shape[3]
	raw := make([]byte, 2*B*H*capacity*D)
	for b := range B {
		for h := range H {
			for s := range S {
				row := make([]float32, D)
				for d := range D {
					row[d] = float32(x.At(b, h, s, d))
				}
				o := ((b*H+h)*capacity + s) * D
				kernels.Narrow(kernels.F16, raw[2*o:2*(o+D)], row)
			}
		}
	}
	v, err := NewHalfRows(raw, 0, [4]int{B, H, S, D}, [3]int{H * capacity * D, capacity * D, D})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestFlashHalfKV: attention on float16 keys and values equals, bit for
// bit, attention on their float32 values, for decode steps and chunks,
// grouped heads, windows and padding.
func TestFlashHalfKV(t *testing.T) {
	for _, c := range []struct {
		B, H, Hkv, T, S, D int
		o                  FlashOptions
	}{
		{1, 4, 4, 1, 37, 16, FlashOptions{Causal: true, Scale: 0.25}},
		{2, 6, 2, 5, 130, 8, FlashOptions{Causal: true, Scale: 0.3}},
		{1, 2, 1, 3, 200, 32, FlashOptions{Causal: true, Window: 50, Scale: 0.2}},
		{2, 2, 2, 4, 70, 8, FlashOptions{Causal: true, KeyLens: []int{70, 41}, Scale: 0.5}},
		{1, 2, 2, 9, 9, 64, FlashOptions{Scale: 0.125}},
	} {
		t.Run(fmt.Sprintf("%+v", c), func(t *testing.T) {
			r := NewRNG(uint64(c.S))
			q := RandN(r, c.B, c.H, c.T, c.D)
			k, v := halfCache(t, RandN(r, c.B, c.Hkv, c.S, c.D), c.S+7), halfCache(t, RandN(r, c.B, c.Hkv, c.S, c.D), c.S+3)
			got, gl := FlashAttentionHalfKV(q, k, v, c.o)
			want, wl := FlashAttentionWith(q, k.Float32(), v.Float32(), c.o)
			if d := maxDiff(got, want); d != 0 || maxDiff(gl, wl) != 0 {
				t.Fatalf("differs from float32 keys and values by %g", d)
			}
			for _, x := range got.Contiguous().F32() {
				if math.IsNaN(float64(x)) {
					t.Fatal("NaN")
				}
			}
		})
	}
	if _, err := NewHalfRows(make([]byte, 10), 0, [4]int{1, 1, 3, 2}, [3]int{6, 6, 2}); err == nil {
		t.Error("a view past the end of its bytes was accepted")
	}
}
