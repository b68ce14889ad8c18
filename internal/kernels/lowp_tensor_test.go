package kernels_test

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/loomml/loom/internal/kernels"
	"github.com/loomml/loom/tensor"
)

// TestNarrowMatchesTensor: Narrow is bit-identical to tensor's scalar
// conversions on a stride through all float32 patterns plus every pattern
// next to a bf16 or f16 rounding boundary; Widen matches tensor's widening
// on all 2¹⁶ patterns (except that the AVX-512 f16 path quiets signalling
// NaNs).
func TestNarrowMatchesTensor(t *testing.T) {
	var xs []float32
	for b := uint64(0); b < 1<<32; b += 0x3001 {
		xs = append(xs, math.Float32frombits(uint32(b)))
	}
	for h := range 1 << 16 {
		for _, b := range []uint32{
			uint32(h)<<16 | 0x7fff, uint32(h)<<16 | 0x8000, uint32(h)<<16 | 0x8001, // bf16 midpoints
		} {
			xs = append(xs, math.Float32frombits(b))
		}
		if v := tensor.Float32FromF16(uint16(h)); v == v && !math.IsInf(float64(v), 0) {
			// f16 midpoints (and their neighbours) lie 2¹² float32 ulps from a
			// half in the normal range; subnormals are covered by the stride
			// and by the exact halves themselves.
			b := math.Float32bits(v)
			for _, d := range []uint32{0, 0xfff, 0x1000, 0x1001, 0x1fff} {
				xs = append(xs, math.Float32frombits(b+d))
			}
		}
	}
	bf, hf := make([]byte, 2*len(xs)), make([]byte, 2*len(xs))
	kernels.Narrow(kernels.BF16, bf, xs)
	kernels.Narrow(kernels.F16, hf, xs)
	for i, x := range xs {
		if got, want := binary.LittleEndian.Uint16(bf[2*i:]), tensor.BF16FromFloat32(x); got != want {
			t.Fatalf("bf16(%#08x) = %#04x, tensor %#04x", math.Float32bits(x), got, want)
		}
		if got, want := binary.LittleEndian.Uint16(hf[2*i:]), tensor.F16FromFloat32(x); got != want {
			t.Fatalf("f16(%#08x) = %#04x, tensor %#04x", math.Float32bits(x), got, want)
		}
	}
	src := make([]byte, 2<<16)
	for h := range 1 << 16 {
		binary.LittleEndian.PutUint16(src[2*h:], uint16(h))
	}
	out := make([]float32, 1<<16)
	kernels.Widen(kernels.BF16, out, src)
	for h := range 1 << 16 {
		if got, want := math.Float32bits(out[h]), math.Float32bits(tensor.Float32FromBF16(uint16(h))); got != want {
			t.Fatalf("Widen bf16 %#04x = %#08x, tensor %#08x", h, got, want)
		}
	}
	kernels.Widen(kernels.F16, out, src)
	for h := range 1 << 16 {
		got, want := math.Float32bits(out[h]), math.Float32bits(tensor.Float32FromF16(uint16(h)))
		if got != want && !(want&0x7fffffff > 0x7f800000 && got == want|0x400000) {
			t.Fatalf("Widen f16 %#04x = %#08x, tensor %#08x", h, got, want)
		}
	}
}
