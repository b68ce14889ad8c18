package quant

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/loomml/loom/dtype"
	"github.com/loomml/loom/internal/kernels"
)

// Dot returns the dot product of n values of weights w (type t) with n
// activations act already quantised to Activation(t) (Q8_0, Q8_1 or Q8_K,
// e.g. by Quantize), computed exactly as ggml's scalar reference
// ggml_vec_dot_<t>_<act>_generic (ggml/src/ggml-cpu/quants.c) computes it, so
// the float32 result is bit-identical to it. SIMD kernels must match it.
//
// Summation order (integer sums are exact, so only the float steps matter):
//   - Q4_0, Q5_0 (·Q8_0): per block sumf += (float(Σ q_w·q_a)·d_w)·d_a; Q8_0:
//     sumf += float(Σ q_w·q_a)·(d_w·d_a); blocks in order from sumf = 0.
//   - Q4_1, Q5_1 (·Q8_1): per block sumf += (d_w·d_a)·float(Σ q_w·q_a) + m_w·s_a
//     (the two products rounded, then added, then added to sumf).
//   - Q2_K: per super-block sumf += (d_a·d_w)·float(Σ scale·Σq_w·q_a) −
//     (d_a·dmin_w)·float(Σ min·bsum).
//   - Q3_K, Q6_K: eight float lanes; lane l (0…7) accumulates, per super-block,
//     (d_w·d_a)·float(Σ over the 32 groups of 8 values, element l of each, of
//     scale·q_w·q_a); the result is ((((((lane0+lane1)+lane2)…)+lane7) from 0.
//   - Q4_K, Q5_K: as Q3_K, but sumf first subtracts (dmin_w·d_a)·float(Σ
//     bsums·min) for each super-block in turn, then adds lanes 0…7.
func Dot(t dtype.DType, w, act []byte, n int) (float32, error) {
	at, ok := Activation(t)
	if !ok {
		return 0, fmt.Errorf("quant: no block dot product for type %v", t)
	}
	if err := check(t, w, n); err != nil {
		return 0, err
	}
	if err := check(at, act, n); err != nil {
		return 0, fmt.Errorf("%w (activations for %v)", err, t)
	}
	wb, ab := t.Info().BlockBytes, at.Info().BlockBytes
	nb := n / t.Info().Block
	var sumf float32
	var lanes [8]float32
	for i := 0; i < nb; i++ {
		x, y := w[i*wb:(i+1)*wb], act[i*ab:(i+1)*ab]
		switch t {
		case dtype.Q4_0:
			sumi := 0
			for j := 0; j < 16; j++ {
				sumi += (int(x[2+j]&15) - 8) * int(int8(y[2+j]))
				sumi += (int(x[2+j]>>4) - 8) * int(int8(y[18+j]))
			}
			sumf += float32(float32(float32(sumi)*f16(x)) * f16(y))
		case dtype.Q5_0:
			qh := binary.LittleEndian.Uint32(x[2:])
			sumi := 0
			for j := 0; j < 32; j++ {
				sumi += (q5Value(x[6:], qh, j) - 16) * int(int8(y[2+j]))
			}
			sumf += float32(float32(f16(x)*f16(y)) * float32(sumi))
		case dtype.Q8_0:
			sumi := 0
			for j := 0; j < 32; j++ {
				sumi += int(int8(x[2+j])) * int(int8(y[2+j]))
			}
			sumf += float32(float32(sumi) * float32(f16(x)*f16(y)))
		case dtype.Q4_1:
			sumi := 0
			for j := 0; j < 16; j++ {
				sumi += int(x[4+j]&15) * int(int8(y[4+j]))
				sumi += int(x[4+j]>>4) * int(int8(y[20+j]))
			}
			sumf += float32(float32(float32(f16(x)*f16(y))*float32(sumi)) + float32(f16(x[2:])*f16(y[2:])))
		case dtype.Q5_1:
			qh := binary.LittleEndian.Uint32(x[4:])
			sumi := 0
			for j := 0; j < 32; j++ {
				sumi += q5Value(x[8:], qh, j) * int(int8(y[4+j]))
			}
			sumf += float32(float32(float32(f16(x)*f16(y))*float32(sumi)) + float32(f16(x[2:])*f16(y[2:])))
		case dtype.Q2_K:
			sumf += dotQ2K(x, y)
		case dtype.Q3_K:
			dotLanes(&lanes, q3Levels(x), q3ScalesMinus32(x), f16(x[108:]), y)
		case dtype.Q4_K, dtype.Q5_K:
			levels, scales, mins := q45Levels(t, x)
			sumi := 0
			for j := 0; j < 16; j++ {
				sumi += int(bsum(y, j)) * int(mins[j/2])
			}
			var sc16 [16]int
			for j := range sc16 {
				sc16[j] = int(scales[j/2])
			}
			dotLanes(&lanes, levels, sc16, f16(x), y)
			dmin := float32(f16(x[2:]) * q8Kd(y))
			sumf -= float32(dmin * float32(sumi))
		case dtype.Q6_K:
			var sc16 [16]int
			for j := range sc16 {
				sc16[j] = int(int8(x[192+j]))
			}
			dotLanes(&lanes, q6Values(x), sc16, f16(x[208:]), y)
		}
	}
	for _, l := range lanes {
		sumf += l
	}
	return sumf, nil
}

// q8Kd is a Q8_K block's float32 scale.
func q8Kd(y []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(y)) }

// bsum is a Q8_K block's j-th sum of 16 quants.
func bsum(y []byte, j int) int16 { return int16(binary.LittleEndian.Uint16(y[260+2*j:])) }

// dotLanes adds one super-block to the eight lanes of the generic k-quant
// dot products: lane l += (d·d_a)·float(Σ_g scale[g/2… ]·a·q) over the
// elements ≡ l mod 8, each 16-value group with its own scale.
func dotLanes(lanes *[8]float32, a [QK]int8, scale [16]int, d float32, y []byte) {
	var aux32 [8]int32
	q8 := y[4:260]
	for j := 0; j < 16; j++ {
		for h := 0; h < 16; h += 8 {
			for l := 0; l < 8; l++ {
				p := 16*j + h + l
				aux32[l] += int32(scale[j]) * int32(int16(int(int8(q8[p]))*int(a[p])))
			}
		}
	}
	dd := float32(d * q8Kd(y))
	for l := range lanes {
		lanes[l] += float32(dd * float32(aux32[l]))
	}
}

// dotQ2K is one super-block of ggml_vec_dot_q2_K_q8_K_generic.
func dotQ2K(x, y []byte) float32 {
	sc, q2 := x[0:16], x[16:80]
	q8 := y[4:260]
	summs := 0
	for j := 0; j < 16; j++ {
		summs += int(bsum(y, j)) * int(sc[j]>>4)
	}
	dall := float32(q8Kd(y) * f16(x[80:]))
	dmin := float32(q8Kd(y) * f16(x[82:]))
	isum, is := 0, 0
	for k := 0; k < 2; k++ {
		for shift := 0; shift < 8; shift += 2 {
			for half := 0; half < 2; half++ {
				d := int(sc[is] & 0xF)
				is++
				isuml := 0
				for l := 16 * half; l < 16*half+16; l++ {
					isuml += int(int8(q8[l])) * int(q2[l]>>shift&3)
				}
				isum += d * isuml
			}
			q8 = q8[32:]
		}
		q2 = q2[32:]
	}
	return float32(dall*float32(isum)) - float32(dmin*float32(summs))
}

// q3Levels unpacks a Q3_K super-block's 256 levels (−4…3) in value order.
func q3Levels(x []byte) (a [QK]int8) {
	hm, q3 := x[0:32], x[32:96]
	m := byte(1)
	o := 0
	for j := 0; j < QK; j += 128 {
		for shift := 0; shift < 8; shift += 2 {
			for l := 0; l < 32; l++ {
				v := int8(q3[l] >> shift & 3)
				if hm[l]&m == 0 {
					v -= 4
				}
				a[o+l] = v
			}
			o += 32
			m <<= 1
		}
		q3 = q3[32:]
	}
	return a
}

// q3ScalesMinus32 is a Q3_K super-block's 16 scales (−32…31).
func q3ScalesMinus32(x []byte) (s [16]int) {
	u := q3Scales(x[96:108])
	for j := range s {
		s[j] = int(int8(u[j])) - 32
	}
	return s
}

// q45Levels unpacks a Q4_K or Q5_K super-block: its 256 levels in value
// order and its eight 6-bit scales and mins.
func q45Levels(t dtype.DType, x []byte) (a [QK]int8, scales, mins [8]uint8) {
	for j := 0; j < 8; j++ {
		scales[j], mins[j] = kernels.ScaleMinK4(j, x[4:16])
	}
	if t == dtype.Q4_K {
		q := x[16:144]
		for j := 0; j < QK; j += 64 {
			for l := 0; l < 32; l++ {
				a[j+l] = int8(q[l] & 0xF)
				a[j+32+l] = int8(q[l] >> 4)
			}
			q = q[32:]
		}
		return a, scales, mins
	}
	qh, q := x[16:48], x[48:176]
	m := byte(1)
	for j := 0; j < QK; j += 64 {
		for l := 0; l < 32; l++ {
			a[j+l] = int8(q[l] & 0xF)
			if qh[l]&m != 0 {
				a[j+l] += 16
			}
			a[j+32+l] = int8(q[l] >> 4)
			if qh[l]&(m<<1) != 0 {
				a[j+32+l] += 16
			}
		}
		m <<= 2
		q = q[32:]
	}
	return a, scales, mins
}
