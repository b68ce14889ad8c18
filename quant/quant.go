// Package quant implements ggml's block weight formats in plain Go, bit for
// bit as llama.cpp computes them: the block layouts of ggml/src/ggml-common.h,
// the dequantisation of ggml/src/ggml-quants.c (dequantize_row_*), its
// reference quantisers without an importance matrix (quantize_row_*_ref, which
// is what llama_model_quantize runs when given no imatrix), the activation
// quantisers used for dot products (quantize_row_q8_0/q8_1/q8_K_ref), and the
// scalar dot products of ggml/src/ggml-cpu/quants.c
// (ggml_vec_dot_*_generic), which the SIMD kernels must reproduce.
//
// Types: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 (blocks of 32), Q2_K, Q3_K, Q4_K, Q5_K,
// Q6_K (super-blocks of 256), and the activation formats Q8_1 (32) and Q8_K
// (256). Sizes come from package dtype's table.
//
// Every function works on whole rows of blocks: a slice of n values is n/Block
// blocks of BlockBytes bytes. Sizes that do not fit give an error naming the
// type and both sizes; nothing here panics on user input.
//
// Floating point: every float32 operation is written so that Go evaluates it
// as C does on x86-64 without FMA (each product rounded to float32 before it
// is added: explicit float32 conversions prevent fused multiply-adds), so the
// results are identical to llama.cpp's, not merely close. The fixtures in
// testdata (made by testdata/gen_fixtures.py from llama.cpp's own library)
// check this byte for byte.
//
// API:
//
//	Dequantize(t, raw, out)     // raw: len(out)/Block blocks of t → float32
//	Quantize(t, x)              // float32 → blocks (QuantizeInto: into a buffer)
//	Activation(t)               // Q8_0, Q8_1 or Q8_K: the format Dot wants activations in
//	Dot(t, w, act, n)           // Σ w·act over n values, ggml's generic vec_dot
//	RowBytes(t, n), Supported(t)
//
// The fixtures are regenerated with `/usr/bin/python3
// quant/testdata/gen_fixtures.py` from the repository root (see the script's
// header for versions).
package quant

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/loomml/loom/dtype"
	"github.com/loomml/loom/internal/kernels"
)

// QK is the number of values in a k-quant super-block (ggml's QK_K).
const QK = 256

// Supported reports whether package quant can quantise and dequantise t.
func Supported(t dtype.DType) bool {
	switch t {
	case dtype.Q4_0, dtype.Q4_1, dtype.Q5_0, dtype.Q5_1, dtype.Q8_0, dtype.Q8_1,
		dtype.Q2_K, dtype.Q3_K, dtype.Q4_K, dtype.Q5_K, dtype.Q6_K, dtype.Q8_K:
		return true
	}
	return false
}

// Activation returns the format ggml quantises activations to for a dot
// product with weights of type t (the vec_dot_type of ggml-cpu's type
// traits): Q8_0 for Q4_0, Q5_0 and Q8_0; Q8_1 for Q4_1 and Q5_1; Q8_K for
// Q2_K…Q6_K. ok is false for a type without a block dot product here.
func Activation(t dtype.DType) (act dtype.DType, ok bool) {
	switch t {
	case dtype.Q4_0, dtype.Q5_0, dtype.Q8_0:
		return dtype.Q8_0, true
	case dtype.Q4_1, dtype.Q5_1:
		return dtype.Q8_1, true
	case dtype.Q2_K, dtype.Q3_K, dtype.Q4_K, dtype.Q5_K, dtype.Q6_K:
		return dtype.Q8_K, true
	}
	return dtype.Invalid, false
}

// RowBytes returns the size in bytes of n values of type t, or an error if t
// is not a type of this package or n is not a whole number of blocks.
func RowBytes(t dtype.DType, n int) (int, error) {
	if !Supported(t) {
		return 0, fmt.Errorf("quant: type %v is not a block format package quant implements", t)
	}
	in := t.Info()
	if n < 0 || n%in.Block != 0 {
		return 0, fmt.Errorf("quant: %v: %d values is not a whole number of %d-value blocks", t, n, in.Block)
	}
	return n / in.Block * in.BlockBytes, nil
}

// check verifies that raw holds exactly the blocks of n values of type t.
func check(t dtype.DType, raw []byte, n int) error {
	want, err := RowBytes(t, n)
	if err != nil {
		return err
	}
	if len(raw) != want {
		in := t.Info()
		return fmt.Errorf("quant: %v: %d values need %d bytes (%d blocks of %d), have %d", t, n, want, n/in.Block, in.BlockBytes, len(raw))
	}
	return nil
}

// Dequantize widens the blocks raw of type t into out, as ggml's
// dequantize_row_<type> does; len(out) values need exactly
// len(out)/Block·BlockBytes bytes of raw.
func Dequantize(t dtype.DType, raw []byte, out []float32) error {
	if err := check(t, raw, len(out)); err != nil {
		return err
	}
	if f := t.Info().Kernel; f != 0 {
		kernels.Widen(f, out, raw) // the one implementation products use
		return nil
	}
	nb := t.Info().BlockBytes
	bs := t.Info().Block
	for i := 0; i < len(out)/bs; i++ {
		b, y := raw[i*nb:(i+1)*nb], out[i*bs:(i+1)*bs]
		switch t {
		case dtype.Q8_1:
			dequantQ8_1(b, y)
		case dtype.Q2_K:
			dequantQ2K(b, y)
		case dtype.Q3_K:
			dequantQ3K(b, y)
		case dtype.Q8_K:
			dequantQ8K(b, y)
		}
	}
	return nil
}

// Quantize packs x into blocks of type t with ggml's reference quantiser
// (quantize_row_<type>_ref: no importance matrix), the bytes llama.cpp's
// llama_model_quantize writes for a tensor of that type. len(x) must be a
// whole number of blocks.
func Quantize(t dtype.DType, x []float32) ([]byte, error) {
	n, err := RowBytes(t, len(x))
	if err != nil {
		return nil, err
	}
	out := make([]byte, n)
	if err := QuantizeInto(t, out, x); err != nil {
		return nil, err
	}
	return out, nil
}

// QuantizeInto is Quantize writing into dst, which must have exactly the
// size of len(x) values of type t.
func QuantizeInto(t dtype.DType, dst []byte, x []float32) error {
	if err := check(t, dst, len(x)); err != nil {
		return err
	}
	nb := t.Info().BlockBytes
	bs := t.Info().Block
	for i := 0; i < len(x)/bs; i++ {
		b, v := dst[i*nb:(i+1)*nb], x[i*bs:(i+1)*bs]
		clear(b)
		switch t {
		case dtype.Q4_0:
			quantQ4_0(v, b)
		case dtype.Q4_1:
			quantQ4_1(v, b)
		case dtype.Q5_0:
			quantQ5_0(v, b)
		case dtype.Q5_1:
			quantQ5_1(v, b)
		case dtype.Q8_0:
			quantQ8_0(v, b)
		case dtype.Q8_1:
			quantQ8_1(v, b)
		case dtype.Q2_K:
			quantQ2K(v, b)
		case dtype.Q3_K:
			quantQ3K(v, b)
		case dtype.Q4_K:
			quantQ4K(v, b)
		case dtype.Q5_K:
			quantQ5K(v, b)
		case dtype.Q6_K:
			quantQ6K(v, b)
		case dtype.Q8_K:
			quantQ8K(v, b)
		}
	}
	return nil
}

// f16 reads the little-endian IEEE half at b as a float32 (GGML_FP16_TO_FP32).
func f16(b []byte) float32 { return kernels.Float32FromF16(binary.LittleEndian.Uint16(b)) }

// putF16 stores f rounded to the nearest half, ties to even (GGML_FP32_TO_FP16).
func putF16(b []byte, f float32) { binary.LittleEndian.PutUint16(b, kernels.F16FromFloat32(f)) }

// roundF16 is f rounded through a half, as ggml reads a scale back after
// storing it.
func roundF16(f float32) float32 { return kernels.Float32FromF16(kernels.F16FromFloat32(f)) }

// nearestInt is ggml-quants.c's nearest_int: adding 1.5·2²³ puts the integer
// nearest to f (ties to even, the FPU's rounding) in the low mantissa bits.
// Valid for |f| ≤ 4194303, as ggml asserts.
func nearestInt(f float32) int { return int(kernels.NearestInt(f)) }

// cInt is C's conversion of a float to an integer type on x86-64: truncation
// toward zero through a 32-bit cvttss2si, which gives INT32_MIN for NaN and
// values out of range; narrowing to int8/uint8 then keeps the low byte.
func cInt(f float32) int32 {
	if !(f > -2147483649 && f < 2147483648) {
		return math.MinInt32
	}
	return int32(f)
}

// roundf is C's roundf (halves away from zero), exact for float32 inputs.
func roundf(f float32) float32 { return float32(math.Round(float64(f))) }

func absf(f float32) float32 { return math.Float32frombits(math.Float32bits(f) &^ (1 << 31)) }

func clampInt(v, lo, hi int) int { return max(lo, min(hi, v)) }

// RoundActivations replaces x (a whole number of t's blocks) by the values
// its quantisation to t's activation format (Activation) dequantises to:
// what ggml's product of a t weight sees of the activations. Q8_0 and Q8_1
// are quantised as llama.cpp's x86 runtime does (kernels.RoundQ8Act: scale
// 127/max, ties to even), which differs from their _ref quantisers; Q8_K's
// runtime quantiser is its _ref. It reports false, leaving x, for a t
// without an activation format.
func RoundActivations(t dtype.DType, x []float32) bool {
	at, ok := Activation(t)
	if !ok {
		return false
	}
	if at != dtype.Q8_K {
		if len(x)%32 != 0 {
			return false
		}
		kernels.RoundQ8Act(x)
		return true
	}
	if len(x)%QK != 0 {
		return false
	}
	kernels.RoundQ8K(x)
	return true
}
