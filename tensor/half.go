package tensor

import (
	"math"

	"github.com/loomml/loom/internal/kernels"
)

// Conversions between float32 and the two 16-bit floating-point formats used by
// checkpoints: bfloat16 (8-bit exponent, 7-bit mantissa) and IEEE 754 binary16
// ("half", 5-bit exponent, 10-bit mantissa). Narrowing rounds to nearest, ties to
// even, as PyTorch does; NaN stays NaN (quiet), infinities and signed zeros are
// kept, and binary16 subnormals are produced and read exactly.

// BF16FromFloat32 returns the bfloat16 bit pattern nearest to f.
func BF16FromFloat32(f float32) uint16 { return kernels.BF16FromFloat32(f) }

// Float32FromBF16 widens a bfloat16 bit pattern exactly.
func Float32FromBF16(h uint16) float32 {
	return math.Float32frombits(uint32(h) << 16)
}

// F16FromFloat32 returns the IEEE binary16 bit pattern nearest to f. Values
// beyond the largest finite half (65504) round to infinity as IEEE requires.
func F16FromFloat32(f float32) uint16 { return kernels.F16FromFloat32(f) }

// Float32FromF16 widens an IEEE binary16 bit pattern exactly.
func Float32FromF16(h uint16) float32 { return kernels.Float32FromF16(h) }

// BF16Slice narrows src into dst (len(dst) must be at least len(src)).
func BF16Slice(dst []uint16, src []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = BF16FromFloat32(v)
	}
}

// F16Slice narrows src into dst (len(dst) must be at least len(src)).
func F16Slice(dst []uint16, src []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = F16FromFloat32(v)
	}
}

// Float32FromBF16Slice widens src into dst.
func Float32FromBF16Slice(dst []float32, src []uint16) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = Float32FromBF16(v)
	}
}

// Float32FromF16Slice widens src into dst.
func Float32FromF16Slice(dst []float32, src []uint16) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = Float32FromF16(v)
	}
}
