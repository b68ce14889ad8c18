package gguf

import (
	"fmt"

	"github.com/loomml/loom/internal/kernels"
)

// Q8_0 block layout: a float16 scale d followed by 32 int8 quants; element
// j of a block is qs[j] * d.
const (
	q8Block = 32
	q8Bytes = 2 + q8Block
)

// QuantizeQ8_0 quantizes src into Q8_0 blocks in dst exactly as ggml's
// reference quantize_row_q8_0_ref does, so the bytes match files written by
// llama.cpp's tools. For each block of 32 values x: amax = max |x|,
// d = amax/127 and id = 1/d (0 if d is 0), both in float32; the block is d
// rounded to float16 (little-endian), then the 32 values round(x*id) as
// int8, rounding halves away from zero (C's roundf). Every |x*id| is at
// most 127 (up to float32 rounding), so dequantizing gives back x to
// within d/2 plus the error of storing d as a float16.
//
// Where C leaves the conversion to int8 undefined, when x*id is NaN or
// infinite, the quant is 0, which is what ggml computes on x86-64. That
// happens in a block holding an infinity or a NaN (d is then infinite or
// NaN, and id 0 or NaN), and in a block whose amax is below about 3.7e-37,
// where 1/d overflows to +Inf (d then rounds to a float16 zero, so the
// block dequantizes to zeros either way). A block whose amax exceeds 127
// times the largest float16 (65504·127 ≈ 8.3e6) gets an infinite scale, as
// in ggml.
//
// len(src) must be a multiple of 32 and len(dst) must be len(src)/32*34;
// otherwise QuantizeQ8_0 panics.
func QuantizeQ8_0(dst []byte, src []float32) {
	if len(src)%q8Block != 0 || len(dst) != len(src)/q8Block*q8Bytes {
		panic(fmt.Sprintf("gguf: QuantizeQ8_0 of %d values into %d bytes; want a multiple of %d values and %d bytes per %d values",
			len(src), len(dst), q8Block, q8Bytes, q8Block))
	}
	kernels.Narrow(kernels.Q8_0, dst, src)
}

// DequantizeQ8_0 expands the Q8_0 blocks of src into dst, as ggml's
// dequantize_row_q8_0: element j of a block is float32(qs[j]) times the
// block's float16 scale widened to float32. len(dst) must be a multiple of
// 32 and len(src) must be len(dst)/32*34; otherwise DequantizeQ8_0 panics.
func DequantizeQ8_0(dst []float32, src []byte) {
	if len(dst)%q8Block != 0 || len(src) != len(dst)/q8Block*q8Bytes {
		panic(fmt.Sprintf("gguf: DequantizeQ8_0 of %d bytes into %d values; want %d bytes per %d values",
			len(src), len(dst), q8Bytes, q8Block))
	}
	kernels.Widen(kernels.Q8_0, dst, src)
}
