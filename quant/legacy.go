package quant

import (
	"encoding/binary"
	"math"

	"github.com/loomml/loom/internal/kernels"
)

// The 32-value formats of ggml-common.h (all little-endian, f16 = IEEE half):
//
//	Q4_0: d f16, qs[16]         value j: d·(nibble−8); nibble j<16 is qs[j]&15, j≥16 is qs[j−16]>>4
//	Q4_1: d f16, m f16, qs[16]  value: d·nibble + m
//	Q5_0: d f16, qh[4], qs[16]  fifth bit of value j is bit j of the uint32 qh; d·(q−16)
//	Q5_1: d, m f16, qh[4], qs[16]  value: d·q + m
//	Q8_0: d f16, qs[32] int8    value: d·q
//	Q8_1: d f16, s f16, qs[32] int8  value: d·q; s = d·Σq (f16), used by dot products

// quantQ4_0 is quantize_row_q4_0_ref for one block: d = −max/8 where max is
// the value of largest magnitude; q = min(15, trunc(x/d + 8.5)).
func quantQ4_0(x []float32, b []byte) {
	var amax, mx float32
	for _, v := range x {
		if amax < absf(v) {
			amax, mx = absf(v), v
		}
	}
	d := mx / -8
	var id float32
	if d != 0 {
		id = 1 / d
	}
	putF16(b, d)
	for j := 0; j < 16; j++ {
		x0 := float32(x[j] * id)
		x1 := float32(x[16+j] * id)
		q0 := min(15, int(int8(cInt(x0+8.5))))
		q1 := min(15, int(int8(cInt(x1+8.5))))
		b[2+j] = uint8(q0) | uint8(q1)<<4
	}
}

// minScale is the start of quantize_row_q4_1_ref and q5_1_ref: the
// block's min m and scale d = (max−m)/levels, written to its header as f16;
// it returns m and 1/d (0 when d is 0).
func minScale(x []float32, b []byte, levels float32) (mn, id float32) {
	mn, mx := float32(math.MaxFloat32), float32(-math.MaxFloat32)
	for _, v := range x {
		if v < mn {
			mn = v
		}
		if v > mx {
			mx = v
		}
	}
	d := (mx - mn) / levels
	if d != 0 {
		id = 1 / d
	}
	putF16(b, d)
	putF16(b[2:], mn)
	return mn, id
}

// quantQ4_1 is quantize_row_q4_1_ref for one block: m = min, d = (max−min)/15,
// q = min(15, trunc((x−m)/d + 0.5)).
func quantQ4_1(x []float32, b []byte) {
	mn, id := minScale(x, b, 15)
	for j := 0; j < 16; j++ {
		x0 := float32((x[j] - mn) * id)
		x1 := float32((x[16+j] - mn) * id)
		q0 := min(15, int(int8(cInt(x0+0.5))))
		q1 := min(15, int(int8(cInt(x1+0.5))))
		b[4+j] = uint8(q0) | uint8(q1)<<4
	}
}

// quantQ5_0 is quantize_row_q5_0_ref for one block: d = −max/16,
// q = min(31, trunc(x/d + 16.5)).
func quantQ5_0(x []float32, b []byte) {
	var amax, mx float32
	for _, v := range x {
		if amax < absf(v) {
			amax, mx = absf(v), v
		}
	}
	d := mx / -16
	var id float32
	if d != 0 {
		id = 1 / d
	}
	putF16(b, d)
	var qh uint32
	for j := 0; j < 16; j++ {
		x0 := float32(x[j] * id)
		x1 := float32(x[16+j] * id)
		q0 := uint8(min(31, int(int8(cInt(x0+16.5)))))
		q1 := uint8(min(31, int(int8(cInt(x1+16.5)))))
		b[6+j] = q0&15 | (q1&15)<<4
		qh |= uint32(q0>>4&1) << j
		qh |= uint32(q1>>4&1) << (j + 16)
	}
	binary.LittleEndian.PutUint32(b[2:], qh)
}

// q5Value returns the 5-bit value j (0…31) of a Q5_0/Q5_1 block.
func q5Value(qs []byte, qh uint32, j int) int {
	if j < 16 {
		return int(qs[j]&15) | int(qh>>j&1)<<4
	}
	return int(qs[j-16]>>4) | int(qh>>j&1)<<4
}

// quantQ5_1 is quantize_row_q5_1_ref for one block: m = min, d = (max−min)/31,
// q = trunc((x−m)/d + 0.5) (no clamp, as in ggml).
func quantQ5_1(x []float32, b []byte) {
	mn, id := minScale(x, b, 31)
	var qh uint32
	for j := 0; j < 16; j++ {
		x0 := float32((x[j] - mn) * id)
		x1 := float32((x[16+j] - mn) * id)
		q0 := uint8(cInt(x0 + 0.5))
		q1 := uint8(cInt(x1 + 0.5))
		b[8+j] = q0&15 | (q1&15)<<4
		qh |= uint32(q0>>4&1) << j
		qh |= uint32(q1>>4&1) << (j + 16)
	}
	binary.LittleEndian.PutUint32(b[4:], qh)
}

// q8Block is the common part of quantize_row_q8_0_ref and _q8_1_ref:
// d = amax/127, q = roundf(x/d). It returns d and Σq.
func q8Block(x []float32, qs []byte) (d float32, sum int) {
	var amax float32
	for _, v := range x {
		if a := absf(v); !(amax > a) { // ggml's MAX(amax, a): a NaN is replaced by a later value
			amax = a
		}
	}
	d = amax / 127
	var id float32
	if d != 0 {
		id = 1 / d
	}
	for j, v := range x {
		q := int8(cInt(roundf(float32(v * id))))
		qs[j] = byte(q)
		sum += int(q)
	}
	return d, sum
}

// quantQ8_0 is quantize_row_q8_0_ref for one block: the kernels' (loom's
// one q8_0 quantiser, which GGUF export and tensor.Pack use too).
func quantQ8_0(x []float32, b []byte) { kernels.Narrow(kernels.Q8_0, b[:34], x[:32]) }

// quantQ8_1 is quantize_row_q8_1_ref for one block; s = f16(Σq·d).
func quantQ8_1(x []float32, b []byte) {
	d, sum := q8Block(x, b[4:36])
	putF16(b, d)
	putF16(b[2:], float32(sum)*d)
}

// dequantQ8_1 widens a Q8_1 block to d·q (ggml has no dequantize_row_q8_1;
// this is the value the block stands for).
func dequantQ8_1(b []byte, y []float32) {
	d := f16(b)
	for j := range 32 {
		y[j] = float32(int8(b[4+j])) * d
	}
}
