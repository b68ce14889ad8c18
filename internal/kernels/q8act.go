package kernels

import (
	"encoding/binary"
	"math"
)

// q8_0 products on quantised activations, as llama.cpp computes them
// (ggml_vec_dot_q8_0_q8_0): the row of activations is quantised per block
// of 32 to 8 bits (q8Act), and each block's product is a sum of integer
// products (exact) scaled by the two blocks' scales. On CPUs with
// AVX-512 VNNI the integer products are VPDPBUSD instructions, 64 per
// instruction (dotQ8VNNI); elsewhere dotQ8ActGo computes the same values.
//
// The order of operations, which both follow exactly (so they agree bit
// for bit): the blocks go in pairs, 64 elements; lane l < 16 of a pair
// covers elements 4l … 4l+3 (block 2p for l < 8, 2p+1 for l ≥ 8); for each
// pair, in increasing order, with s the integer sum of the lane's four
// products and dw, dx the blocks' scales (float32 of the f16 values),
//
//	acc[l] = fma(dw·dx, float32(s), acc[l])      (dw·dx rounded to float32)
//
// from acc = +0; a missing second block of a last pair contributes
// fma(0, 0, acc[l]). Then the 16 lanes are added as hsum16 does and
// beta·c added with one fma. float32(s) is exact (|s| ≤ 4·127·127).

// useVNNI reports whether dotQ8VNNI can run: AVX-512 with VNNI and BW.
var useVNNI = useAVX512 && hasVNNI()

// q8Act is a row of activations quantised as ggml's quantize_row_q8_0 does
// on x86 (for each block of 32: amax the largest |x|, d = amax/127 stored
// as f16, q = x·(127/amax) rounded to nearest, ties to even; 0 when amax
// is 0), laid out for the kernels: per pair of blocks, the 64 |q| bytes,
// a mask of the negative ones, and 16 lanes of scales.
type q8Act struct {
	abs []byte    // |q|, 64 per pair (a missing second block: zeros)
	neg []uint64  // per pair: bit i set when element i of the pair's 64 is negative
	d   []float32 // per pair, 16 lanes: the first block's scale in lanes 0–7, the second's in 8–15 (0 when missing)
	nb  int       // blocks
}

// q8ActScale returns a block's scale as q8Act stores it (f16-rounded
// amax/127), its amax and the multiplier 127/amax (0 when amax is 0).
func q8ActScale(blk []float32) (d, amax, id float32) {
	for _, v := range blk {
		amax = max(amax, float32(math.Abs(float64(v))))
	}
	if amax != 0 {
		id = 127 / amax
	}
	return Float32FromF16(F16FromFloat32(amax / 127)), amax, id
}

// q8ActRound is one value's q: v·id rounded to nearest, ties to even.
func q8ActRound(v, id float32) int8 { return int8(math.RoundToEven(float64(v * id))) }

// quantQ8Act quantises x (a whole number of blocks of 32).
func quantQ8Act(x []float32) q8Act {
	nb := len(x) / q8Block
	np := (nb + 1) / 2
	a := q8Act{abs: make([]byte, 64*np), neg: make([]uint64, np), d: make([]float32, 16*np), nb: nb}
	for b := range nb {
		blk := x[b*q8Block : (b+1)*q8Block]
		d, _, id := q8ActScale(blk)
		p, half := b/2, b%2
		for i, v := range blk {
			q := q8ActRound(v, id)
			e := 32*half + i
			if q < 0 {
				a.neg[p] |= 1 << e
				q = -q
			}
			a.abs[64*p+e] = byte(q)
		}
		for l := range 8 {
			a.d[16*p+8*half+l] = d
		}
	}
	return a
}

// RoundQ8Act overwrites x (a whole number of blocks of 32) with the
// values d·q (exact in float32) of its quantisation as llama.cpp's x86
// runtime quantises activations for q8_0 and q8_1 products (q8Act): what
// those products see of x. GemmLowT's q8_0 products with more rows use it,
// and package quant for the other 32-value block types.
func RoundQ8Act(x []float32) {
	for b := 0; b+q8Block <= len(x); b += q8Block {
		blk := x[b : b+q8Block]
		d, _, id := q8ActScale(blk)
		for i, v := range blk {
			blk[i] = float32(q8ActRound(v, id)) * d
		}
	}
}

// dotQ8Act sets c[j] = Σ_p x[p]·W[j][p] (+ beta·c[j]) for the n q8_0 rows
// of W in w (rb bytes each), x quantised as a (see the order above).
func dotQ8Act(c []float32, a *q8Act, w []byte, rb, n int, beta float32) {
	if n == 0 {
		return
	}
	if useVNNI {
		dotQ8VNNI(&c[0], &a.abs[0], &a.neg[0], &a.d[0], &w[0], rb, n, a.nb, beta)
		return
	}
	dotQ8ActGo(c, a, w, rb, n, beta)
}

// dotQ8ActGo is dotQ8VNNI in plain Go.
func dotQ8ActGo(c []float32, a *q8Act, w []byte, rb, n int, beta float32) {
	tab := f16Table()
	np := (a.nb + 1) / 2
	for j := range n {
		row := w[j*rb:]
		var acc [16]float32
		for p := range np {
			for l := range acc {
				b := 2*p + l/8
				var s int32
				var scale float32
				if b < a.nb {
					blk := row[b*q8BlockBytes : (b+1)*q8BlockBytes]
					for t := range 4 {
						e := 4*l + t // element of the pair
						q := int32(int8(blk[2+e-32*(l/8)]))
						if a.neg[p]>>e&1 != 0 {
							q = -q
						}
						s += int32(a.abs[64*p+e]) * q
					}
					scale = tab[binary.LittleEndian.Uint16(blk)] * a.d[16*p+l]
				}
				acc[l] = fma32(scale, float32(s), acc[l])
			}
		}
		v := hsum16(&acc)
		if beta != 0 {
			v = fma32(beta, c[j], v)
		}
		c[j] = v
	}
}
