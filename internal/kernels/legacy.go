package kernels

import "encoding/binary"

// ggml's 32-value weight formats besides q8_0 (ggml-common.h), and their
// products on activations quantised to 8 bits per block of 32 as
// llama.cpp's x86 runtime quantises them for these products (the q8_0
// rounding of q8act.go; Q8_1's s for the formats with a min):
//
//   - Q4_0, 18 bytes: f16 d, 16 bytes qs; value j < 16 is qs[j]&15, value
//     j+16 is qs[j]>>4; value = d·(q − 8).
//   - Q4_1, 20 bytes: f16 d, f16 m, qs as Q4_0; value = d·q + m.
//   - Q5_0, 22 bytes: f16 d, uint32 qh, qs; bit j of qh is the fifth bit of
//     value j; value = d·(q − 16).
//   - Q5_1, 24 bytes: f16 d, f16 m, qh, qs; value = d·q + m.
//
// Products (dotLegacyGo and the AVX-512 VNNI kernel dotLegacyVNNI agree
// bit for bit). Blocks go in pairs (the last pair may lack its second
// block); lane l < 16 of a pair covers its values 4l … 4l+3 (block 2p for
// l < 8, 2p+1 for l ≥ 8). Per weight row, from A[16] = +0 and M = +0, for
// each pair in order,
//
//	I[l] = Σ q·a − o·S4[l]                    (o = 8 for Q4_0, 16 for Q5_0, else 0)
//	A[l] = fma(float32(d·d_a), float32(I[l]), A[l])
//
// with S4[l] the sum of the lane's four activation q and d·d_a the two
// blocks' scales multiplied in float32 (0 for a missing block); then, for
// Q4_1 and Q5_1, M = fma(m, s_a, M) for the pair's first block and then its
// second, s_a = f16(float32(max|x|/127)·Σq) (quantize_row_q8_1's s). The
// row's result is hsum16(A), plus M for Q4_1 and Q5_1, then beta·c added
// with one fma.

// legacyBlockBytes returns the bytes of one block of a 32-value legacy
// format (0 for others).
func legacyBlockBytes(f Format) int {
	switch f {
	case Q4_0:
		return 18
	case Q4_1:
		return 20
	case Q5_0:
		return 22
	case Q5_1:
		return 24
	}
	return 0
}

// legacyOffset is the level offset o of f (0 for the formats with a min).
func legacyOffset(f Format) int32 {
	switch f {
	case Q4_0:
		return 8
	case Q5_0:
		return 16
	}
	return 0
}

// hasMin reports whether f's values are d·q + m.
func hasMin(f Format) bool { return f == Q4_1 || f == Q5_1 }

// q8LAct is a row of activations quantised per block of 32 as q8Act's
// values, laid out for the legacy kernels (blocks padded to an even count
// with zeros).
type q8LAct struct {
	q  []int8    // in order, 64 per pair
	d  []float32 // per pair, 16 lanes: the first block's scale in lanes 0–7, the second's in 8–15
	s4 []int32   // per lane: the sum of its four q
	s  []float32 // per block: f16(float32(max|x|/127)·Σq)
	nb int       // blocks (without the padding)
}

// quantQ8LAct quantises x (a whole number of blocks of 32).
func quantQ8LAct(x []float32) q8LAct {
	nb := len(x) / q8Block
	np := (nb + 1) / 2
	a := q8LAct{q: make([]int8, 64*np), d: make([]float32, 16*np), s4: make([]int32, 16*np), s: make([]float32, 2*np), nb: nb}
	for b := range nb {
		blk := x[b*q8Block : (b+1)*q8Block]
		d, amax, id := q8ActScale(blk)
		q := a.q[b*q8Block : (b+1)*q8Block]
		var sum int32
		for i, v := range blk {
			q[i] = q8ActRound(v, id)
			sum += int32(q[i])
		}
		for l := range 8 {
			a.d[16*(b/2)+8*(b%2)+l] = d
			a.s4[8*b+l] = int32(q[4*l]) + int32(q[4*l+1]) + int32(q[4*l+2]) + int32(q[4*l+3])
		}
		a.s[b] = Float32FromF16(F16FromFloat32(amax / 127 * float32(sum)))
	}
	return a
}

// legacyLevels unpacks block b of f into its 32 unsigned levels.
func legacyLevels(f Format, b []byte, v *[32]uint8) {
	var qs []byte
	var qh uint32
	switch f {
	case Q4_0:
		qs = b[2:18]
	case Q4_1:
		qs = b[4:20]
	case Q5_0:
		qh, qs = binary.LittleEndian.Uint32(b[2:]), b[6:22]
	case Q5_1:
		qh, qs = binary.LittleEndian.Uint32(b[4:]), b[8:24]
	}
	for j := range 16 {
		v[j] = qs[j]&0xF | uint8(qh>>j&1)<<4
		v[j+16] = qs[j]>>4 | uint8(qh>>(j+16)&1)<<4
	}
}

// widenLegacy dequantises nb blocks as ggml's dequantize_row_<f> does.
func widenLegacy(f Format, dst []float32, src []byte) {
	bb := legacyBlockBytes(f)
	o := float32(legacyOffset(f))
	var v [32]uint8
	for b := range len(dst) / q8Block {
		blk := src[b*bb : (b+1)*bb]
		y := dst[b*q8Block : (b+1)*q8Block]
		legacyLevels(f, blk, &v)
		d := Float32FromF16(binary.LittleEndian.Uint16(blk))
		if hasMin(f) {
			m := Float32FromF16(binary.LittleEndian.Uint16(blk[2:]))
			for j := range y {
				y[j] = float32(float32(v[j])*d) + m
			}
			continue
		}
		for j := range y {
			y[j] = (float32(v[j]) - o) * d
		}
	}
}

// dotLegacy sets c[j] = Σ_p x[p]·W[j][p] (+ beta·c[j]) for the n rows of W
// in w (format f, rb bytes each), x quantised as a (order: top of file).
func dotLegacy(f Format, c []float32, a *q8LAct, w []byte, rb, n int, beta float32) {
	if n == 0 {
		return
	}
	if useVNNI {
		k := dotQ40VNNI
		switch f {
		case Q4_1:
			k = dotQ41VNNI
		case Q5_0:
			k = dotQ50VNNI
		case Q5_1:
			k = dotQ51VNNI
		}
		k(&c[0], &a.q[0], &a.d[0], &a.s4[0], &a.s[0], &w[0], rb, n, a.nb, beta)
		return
	}
	dotLegacyGo(f, c, a, w, rb, n, beta)
}

// dotLegacyGo is dotLegacy in plain Go.
func dotLegacyGo(f Format, c []float32, a *q8LAct, w []byte, rb, n int, beta float32) {
	bb := legacyBlockBytes(f)
	o := legacyOffset(f)
	np := (a.nb + 1) / 2
	var v [2][32]uint8
	for j := range n {
		row := w[j*rb:]
		var acc [16]float32
		var m float32
		for p := range np {
			var dw [2]float32
			for h := range 2 {
				b := 2*p + h
				if b >= a.nb {
					v[h] = [32]uint8{}
					continue
				}
				blk := row[b*bb:]
				legacyLevels(f, blk, &v[h])
				dw[h] = Float32FromF16(binary.LittleEndian.Uint16(blk))
			}
			for l := range acc {
				h := l / 8
				var s int32
				for t := range 4 {
					e := 4*(l%8) + t
					s += int32(v[h][e]) * int32(a.q[64*p+32*h+e])
				}
				s -= o * a.s4[16*p+l]
				acc[l] = fma32(dw[h]*a.d[16*p+l], float32(s), acc[l])
			}
			if hasMin(f) {
				for h := range 2 {
					if b := 2*p + h; b < a.nb {
						mw := Float32FromF16(binary.LittleEndian.Uint16(row[b*bb+2:]))
						m = fma32(mw, a.s[b], m)
					}
				}
			}
		}
		r := hsum16(&acc)
		if hasMin(f) {
			r += m
		}
		if beta != 0 {
			r = fma32(beta, c[j], r)
		}
		c[j] = r
	}
}
