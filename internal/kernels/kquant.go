package kernels

import (
	"encoding/binary"
	"math"
)

// ggml's k-quant weight formats (ggml-common.h), super-blocks of 256
// values of a row, and their products on activations quantised to Q8_K, as
// llama.cpp computes them (ggml_vec_dot_q{4,5,6}_K_q8_K):
//
//   - Q4_K, 144 bytes: f16 d, f16 dmin, 12 bytes of eight 6-bit scales and
//     eight 6-bit mins (get_scale_min_k4), 128 bytes of nibbles. Byte l of
//     the 32-byte group g (g < 4) holds value 64g+l in its low nibble and
//     64g+32+l in its high one. Value = d·sc_j·q − dmin·m_j, j the 32-value
//     sub-block.
//   - Q5_K, 176 bytes: d, dmin, scales as Q4_K, 32 bytes qh, 128 bytes of
//     low nibbles as Q4_K; bit 2g of qh[l] is the fifth bit of value 64g+l,
//     bit 2g+1 that of 64g+32+l.
//   - Q6_K, 210 bytes: 128 bytes ql, 64 bytes qh, 16 int8 scales (one per
//     16 values), f16 d. In each half n (128 values; ql[64n:], qh[32n:]),
//     for l < 32: value l is ql[l]&15 | (qh[l]&3)<<4, value 32+l
//     ql[l+32]&15 | (qh[l]>>2&3)<<4, value 64+l ql[l]>>4 | (qh[l]>>4&3)<<4,
//     value 96+l ql[l+32]>>4 | (qh[l]>>6&3)<<4; value = d·sc·(q − 32).
//
// Activations (q8KAct) are quantised per super-block as ggml's
// quantize_row_q8_K_ref does: the value of largest magnitude max (the first
// one on ties), iscale = −127/max, q = min(127, nearest(iscale·x)), scale
// d = 1/iscale (float32); all zeros when max is 0.
//
// Products (dotKGo, and the AVX-512 VNNI kernels that compute the same
// float32 values bit for bit). Integer sums are exact; the float order is:
// per weight row, accumulators A[16] and M[8] from +0; for each super-block
// b in order, with lane l < 16 covering, in each 64-value chunk c < 4 of
// the super-block, the values 64c+4l … 64c+4l+3 (their integer products
// summed as VPDPBUSD does),
//
//	Q4_K, Q5_K: I[l] = Σ_c sc[2c + l/8]·Σ q·a
//	            A[l] = fma(float32(d·d_a), float32(I[l]), A[l])
//	            M[j] = fma(float32(dmin·d_a), float32(m_j·S32[j]), M[j])   (j < 8)
//	Q6_K:       I[l] = Σ_c sc[4c + l/4]·Σ q·a − 32·sc[l]·S16[l]
//	            A[l] = fma(float32(d·d_a), float32(I[l]), A[l])
//
// with S32[j] and S16[l] the sums of the activations' q over sub-block j
// (32 values) and group l (16 values), d·d_a and dmin·d_a rounded to
// float32. The row's result is hsum16(A) − hsum8(M), then beta·c added
// with one fma. |I[l]| < 2³¹ always; float32(I[l]) rounds to nearest even
// (as VCVTDQ2PS does).

const (
	qkK      = 256 // values per k-quant super-block
	q4KBytes = 144
	q5KBytes = 176
	q6KBytes = 210
)

// kBlockBytes returns the bytes of one super-block of a k-quant format (0
// for others).
func kBlockBytes(f Format) int {
	switch f {
	case Q4_K:
		return q4KBytes
	case Q5_K:
		return q5KBytes
	case Q6_K:
		return q6KBytes
	}
	return 0
}

// q8KAct is a row of activations quantised to Q8_K, laid out for the
// kernels.
type q8KAct struct {
	q   []int8    // the values' q, in order
	d   []float32 // per super-block
	s16 []int32   // per super-block, 16 sums of 16 q
	s32 []int32   // per super-block, 8 sums of 32 q
	nb  int       // super-blocks
}

// NearestInt is ggml-quants.c's nearest_int (adding 1.5·2²³ leaves the
// nearest integer, ties to even, in the low mantissa bits); valid for
// |f| ≤ 4194303.
func NearestInt(f float32) int32 {
	v := math.Float32bits(f + 12582912)
	return int32(v&0x007fffff) - 0x00400000
}

// QuantizeQ8K quantises one super-block of 256 values x into q as ggml's
// quantize_row_q8_K_ref does and returns its scale d (0 with q all zeros
// when every value is 0).
func QuantizeQ8K(q []int8, x []float32) float32 {
	x, q = x[:qkK], q[:qkK]
	var mx, amax float32
	for _, v := range x {
		if ax := float32(math.Abs(float64(v))); ax > amax {
			amax, mx = ax, v
		}
	}
	if amax == 0 {
		clear(q)
		return 0
	}
	iscale := -127 / mx
	for j, v := range x {
		q[j] = int8(min(127, NearestInt(iscale*v)))
	}
	return 1 / iscale
}

// quantQ8KAct quantises x (a whole number of super-blocks).
func quantQ8KAct(x []float32) q8KAct {
	nb := len(x) / qkK
	a := q8KAct{q: make([]int8, len(x)), d: make([]float32, nb), s16: make([]int32, 16*nb), s32: make([]int32, 8*nb), nb: nb}
	for b := range nb {
		q := a.q[b*qkK : (b+1)*qkK]
		a.d[b] = QuantizeQ8K(q, x[b*qkK:])
		for g := range 16 {
			var s int32
			for _, v := range q[16*g : 16*g+16] {
				s += int32(v)
			}
			a.s16[16*b+g] = s
		}
		for j := range 8 {
			a.s32[8*b+j] = a.s16[16*b+2*j] + a.s16[16*b+2*j+1]
		}
	}
	return a
}

// RoundQ8K overwrites x (a whole number of super-blocks of 256) with the
// values d·q of its Q8_K quantisation (dequantize_row_q8_K): what
// llama.cpp's k-quant products see of x.
func RoundQ8K(x []float32) {
	var q [qkK]int8
	for b := 0; b+qkK <= len(x); b += qkK {
		d := QuantizeQ8K(q[:], x[b:])
		for j, v := range q {
			x[b+j] = d * float32(v)
		}
	}
}

// ScaleMinK4 is ggml's get_scale_min_k4: the 6-bit scale and min of
// sub-block j (0…7) of Q4_K's and Q5_K's 12 packed bytes.
func ScaleMinK4(j int, q []byte) (sc, m uint8) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return q[j+4]&0xF | (q[j-4]>>6)<<4, q[j+4]>>4 | (q[j]>>6)<<4
}

// kLevels unpacks a super-block of f into its 256 levels in value order
// (Q4_K 0…15, Q5_K 0…31, Q6_K 0…63, before subtracting 32).
func kLevels(f Format, b []byte, v *[qkK]uint8) {
	switch f {
	case Q4_K:
		q := b[16:144]
		for g := range 4 {
			for l := range 32 {
				v[64*g+l] = q[32*g+l] & 0xF
				v[64*g+32+l] = q[32*g+l] >> 4
			}
		}
	case Q5_K:
		qh, q := b[16:48], b[48:176]
		for g := range 4 {
			for l := range 32 {
				v[64*g+l] = q[32*g+l]&0xF | (qh[l]>>(2*g)&1)<<4
				v[64*g+32+l] = q[32*g+l]>>4 | (qh[l]>>(2*g+1)&1)<<4
			}
		}
	case Q6_K:
		for n := range 2 {
			ql, qh := b[64*n:], b[128+32*n:]
			o := v[128*n:]
			for l := range 32 {
				o[l] = ql[l]&0xF | (qh[l]&3)<<4
				o[l+32] = ql[l+32]&0xF | (qh[l]>>2&3)<<4
				o[l+64] = ql[l]>>4 | (qh[l]>>4&3)<<4
				o[l+96] = ql[l+32]>>4 | (qh[l]>>6&3)<<4
			}
		}
	}
}

// widenK dequantises nb super-blocks of f as ggml's dequantize_row_q{4,5,6}_K
// does (bit for bit: Q4_K/Q5_K as (d·sc)·q − dmin·m, Q6_K as (d·sc)·(q−32),
// each product rounded to float32).
func widenK(f Format, dst []float32, src []byte) {
	bb := kBlockBytes(f)
	var v [qkK]uint8
	for b := range len(dst) / qkK {
		blk := src[b*bb : (b+1)*bb]
		y := dst[b*qkK : (b+1)*qkK]
		kLevels(f, blk, &v)
		if f == Q6_K {
			d := Float32FromF16(binary.LittleEndian.Uint16(blk[208:]))
			for i := range qkK {
				y[i] = float32(d*float32(int8(blk[192+i/16]))) * float32(int8(v[i])-32)
			}
			continue
		}
		d := Float32FromF16(binary.LittleEndian.Uint16(blk))
		dmin := Float32FromF16(binary.LittleEndian.Uint16(blk[2:]))
		for j := range 8 {
			sc, m := ScaleMinK4(j, blk[4:16])
			d1, m1 := float32(d*float32(sc)), float32(dmin*float32(m))
			for i := 32 * j; i < 32*j+32; i++ {
				y[i] = float32(d1*float32(v[i])) - m1
			}
		}
	}
}

// hsum8 adds 8 lanes in the order of the AVX-512 reduction of a Y
// register: halves, then (l0+l2)+(l1+l3).
func hsum8(a *[8]float32) float32 {
	h0, h1, h2, h3 := a[0]+a[4], a[1]+a[5], a[2]+a[6], a[3]+a[7]
	return (h0 + h2) + (h1 + h3)
}

// dotK sets c[j] = Σ_p x[p]·W[j][p] (+ beta·c[j]) for the n rows of W in
// w (format f, rb bytes each), x quantised as a (order: top of file).
func dotK(f Format, c []float32, a *q8KAct, w []byte, rb, n int, beta float32) {
	if n == 0 {
		return
	}
	if useVNNI {
		switch f {
		case Q4_K:
			dotQ4KVNNI(&c[0], &a.q[0], &a.d[0], &a.s32[0], &w[0], rb, n, a.nb, beta)
			return
		case Q5_K:
			dotQ5KVNNI(&c[0], &a.q[0], &a.d[0], &a.s32[0], &w[0], rb, n, a.nb, beta)
			return
		case Q6_K:
			dotQ6KVNNI(&c[0], &a.q[0], &a.d[0], &a.s16[0], &w[0], rb, n, a.nb, beta)
			return
		}
	}
	dotKGo(f, c, a, w, rb, n, beta)
}

// dotKGo is dotK in plain Go.
func dotKGo(f Format, c []float32, a *q8KAct, w []byte, rb, n int, beta float32) {
	bb := kBlockBytes(f)
	var v [qkK]uint8
	for j := range n {
		row := w[j*rb:]
		var acc [16]float32
		var accM [8]float32
		for b := range a.nb {
			blk := row[b*bb : (b+1)*bb]
			kLevels(f, blk, &v)
			q := a.q[b*qkK : (b+1)*qkK]
			var isum [16]int32
			var sc [16]int32 // Q4_K/Q5_K: 8 sub-block scales; Q6_K: 16 group scales
			var mn [8]int32
			var d, dmin float32
			if f == Q6_K {
				for g := range 16 {
					sc[g] = int32(int8(blk[192+g]))
				}
				d = Float32FromF16(binary.LittleEndian.Uint16(blk[208:]))
			} else {
				for s := range 8 {
					s1, m1 := ScaleMinK4(s, blk[4:16])
					sc[s], mn[s] = int32(s1), int32(m1)
				}
				d = Float32FromF16(binary.LittleEndian.Uint16(blk))
				dmin = Float32FromF16(binary.LittleEndian.Uint16(blk[2:]))
			}
			for ch := range 4 {
				for l := range 16 {
					p := 64*ch + 4*l
					s := int32(v[p])*int32(q[p]) + int32(v[p+1])*int32(q[p+1]) + int32(v[p+2])*int32(q[p+2]) + int32(v[p+3])*int32(q[p+3])
					if f == Q6_K {
						isum[l] += sc[4*ch+l/4] * s
					} else {
						isum[l] += sc[2*ch+l/8] * s
					}
				}
			}
			if f == Q6_K {
				for l := range 16 {
					isum[l] -= 32 * sc[l] * a.s16[16*b+l]
				}
			}
			dd := d * a.d[b]
			for l := range acc {
				acc[l] = fma32(dd, float32(isum[l]), acc[l])
			}
			if f != Q6_K {
				dm := dmin * a.d[b]
				for s := range accM {
					accM[s] = fma32(dm, float32(mn[s]*a.s32[8*b+s]), accM[s])
				}
			}
		}
		r := hsum16(&acc) - hsum8(&accM)
		if beta != 0 {
			r = fma32(beta, c[j], r)
		}
		c[j] = r
	}
}
