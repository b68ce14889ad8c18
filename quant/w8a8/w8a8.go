// Package w8a8 is post-training int8 quantisation of linear layers (the
// W8A8 scheme of SmoothQuant, Xiao et al., arXiv 2211.10438): weights
// symmetric per output channel in int8, activations quantised per token to
// int8 at run time, their products summed exactly in int32 and scaled once
// by the two scales. SmoothQuant's migration (Smoothing) moves activation
// outliers into the weights before rounding: with s_j =
// max|X_j|^α / max|W_j|^(1−α) per input channel j, X·Wᵀ = (X/s)·(W·diag s)ᵀ
// exactly in real arithmetic, and both factors are easier to quantise.
//
// Two products are provided. MatMul is the reference: per-token activation
// scales, int32 sums in plain Go. Weight.Q8_0 writes the per-channel int8
// weight as ggml q8_0 blocks (every block of a row carrying the row's
// scale, which is why scales are kept f16-representable), so loom's q8_0
// kernels run it: AVX-512 VNNI (VPDPBUSD) where the CPU has it, plain Go
// elsewhere (package internal/kernels, whose tests check both paths agree
// bit for bit); those kernels quantise activations per block of 32 values
// of a token, finer than per token. Decoder applies either to a decoder's
// linear layers, Encoder to an encoder's (BERT, AST).
package w8a8

import (
	"fmt"
	"math"

	"github.com/loomml/loom/internal/kernels"
	"github.com/loomml/loom/tensor"
)

// Weight is a [Out, In] weight in int8 with one scale per output channel:
// element (j, p) is Scale[j]·Q[j·In+p].
type Weight struct {
	Out, In int
	Q       []int8
	Scale   []float32 // f16-representable, ≥ 0
}

// f16 rounds f to the nearest half-precision value.
func f16(f float32) float32 { return kernels.Float32FromF16(kernels.F16FromFloat32(f)) }

// QuantizeWeight quantises w ([out, in], row-major) per output channel:
// Scale[j] = amax_j/127 rounded to f16, Q = w/Scale rounded to nearest
// (ties to even). |w − Scale·Q| ≤ Scale/2 for every element: the f16
// rounding moves the scale by at most 2⁻¹¹ relative, so |w/Scale| stays
// below 127.5 and no value is clipped. A row of zeros (or of values below
// f16's range) gets scale 0 and Q 0.
func QuantizeWeight(w []float32, out, in int) (*Weight, error) {
	if out <= 0 || in <= 0 || len(w) != out*in {
		return nil, fmt.Errorf("w8a8: weight of %d values for shape [%d, %d]", len(w), out, in)
	}
	q := &Weight{Out: out, In: in, Q: make([]int8, out*in), Scale: make([]float32, out)}
	for j := range out {
		row := w[j*in : (j+1)*in]
		var amax float32
		for _, v := range row {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("w8a8: weight row %d holds %v", j, v)
			}
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		s := f16(amax / 127)
		if s == 0 {
			continue
		}
		q.Scale[j] = s
		for p, v := range row {
			q.Q[j*in+p] = int8(clamp127(math.RoundToEven(float64(v) / float64(s))))
		}
	}
	return q, nil
}

func clamp127(r float64) float64 { return max(-127, min(127, r)) }

// Dequant returns Scale[j]·Q[j, p] as float32 (exact: a 7-bit integer times
// an 11-bit mantissa).
func (w *Weight) Dequant() []float32 {
	out := make([]float32, len(w.Q))
	for j := range w.Out {
		for p := range w.In {
			out[j*w.In+p] = w.Scale[j] * float32(w.Q[j*w.In+p])
		}
	}
	return out
}

// Q8_0 returns the weight as a [Out, In] q8_0 tensor with the same values:
// every block of 32 of row j holds Scale[j] as its f16 scale. In must be a
// multiple of 32.
func (w *Weight) Q8_0() (*tensor.Tensor, error) {
	if w.In%32 != 0 {
		return nil, fmt.Errorf("w8a8: q8_0 rows need a multiple of 32 inputs, have %d", w.In)
	}
	nb := w.In / 32
	raw := make([]byte, w.Out*nb*34)
	for j := range w.Out {
		h := kernels.F16FromFloat32(w.Scale[j])
		for b := range nb {
			blk := raw[(j*nb+b)*34:]
			blk[0], blk[1] = byte(h), byte(h>>8)
			for e := range 32 {
				blk[2+e] = byte(w.Q[j*w.In+32*b+e])
			}
		}
	}
	return tensor.FromPacked(tensor.Q8_0, raw, w.Out, w.In)
}

// QuantizeTokens quantises each of the m rows of x ([m, k]) to int8 with
// its own scale amax/127 (float32): |x − s·q| ≤ s/2 element-wise. A row
// of zeros gets scale 0.
func QuantizeTokens(x []float32, m, k int) ([]int8, []float32) {
	q := make([]int8, m*k)
	s := make([]float32, m)
	for i := range m {
		row := x[i*k : (i+1)*k]
		var amax float32
		for _, v := range row {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		if amax == 0 {
			continue
		}
		s[i] = amax / 127
		for p, v := range row {
			q[i*k+p] = int8(clamp127(math.RoundToEven(float64(v) / float64(s[i]))))
		}
	}
	return q, s
}

// MatMul returns y = x·Wᵀ ([m, Out]) for x [m, In], the rows of x quantised
// per token (QuantizeTokens), each element an exact int32 sum of int8
// products scaled once: y[i, j] = fl32(s_x[i]·s_w[j]·Σ_p q_x[i,p]·q_w[j,p])
// (the scaling in float64, one rounding to float32). In must be below
// 2³¹/127² = 133 144 so that the sum cannot overflow.
func MatMul(x []float32, m int, w *Weight) ([]float32, error) {
	if len(x) != m*w.In {
		return nil, fmt.Errorf("w8a8: %d activations for %d rows of %d", len(x), m, w.In)
	}
	if w.In >= math.MaxInt32/(127*127) {
		return nil, fmt.Errorf("w8a8: %d inputs overflow an int32 sum", w.In)
	}
	qx, sx := QuantizeTokens(x, m, w.In)
	y := make([]float32, m*w.Out)
	k := w.In
	kernels.Parallel(m, func(i int) {
		a := qx[i*k : (i+1)*k]
		for j := range w.Out {
			b := w.Q[j*k : (j+1)*k]
			var acc int32
			for p, v := range a {
				acc += int32(v) * int32(b[p])
			}
			y[i*w.Out+j] = float32(float64(sx[i]) * float64(w.Scale[j]) * float64(acc))
		}
	})
	return y, nil
}

// Smoothing returns SmoothQuant's per-input-channel factors
// s_j = actMax_j^α / wMax_j^(1−α) (arXiv 2211.10438, §4), actMax the
// calibration activations' largest |X_j| and wMax the weights' largest
// |W_{·,j}|; a channel with either at 0 gets 1. α (the migration
// strength) is in [0, 1].
func Smoothing(actMax, wMax []float32, alpha float64) ([]float32, error) {
	if len(actMax) != len(wMax) {
		return nil, fmt.Errorf("w8a8: %d activation maxima for %d weight columns", len(actMax), len(wMax))
	}
	if !(alpha >= 0 && alpha <= 1) {
		return nil, fmt.Errorf("w8a8: migration strength α = %v, want 0 … 1", alpha)
	}
	s := make([]float32, len(actMax))
	for j := range s {
		a, w := float64(actMax[j]), float64(wMax[j])
		s[j] = 1
		if a > 0 && w > 0 {
			v := math.Pow(a, alpha) / math.Pow(w, 1-alpha)
			if v > 0 && !math.IsInf(v, 0) && !math.IsNaN(v) {
				s[j] = float32(v)
			}
		}
	}
	return s, nil
}

// ColumnMax returns the largest |w[·, p]| of each of the in columns of w
// ([out, in]).
func ColumnMax(w []float32, out, in int) []float32 {
	c := make([]float32, in)
	for j := range out {
		for p, v := range w[j*in : (j+1)*in] {
			c[p] = max(c[p], float32(math.Abs(float64(v))))
		}
	}
	return c
}

// Bound returns the derived bound on |y − x·Wᵀ| for element (i, j) of
// MatMul: with x̂ = s_x·q_x and ŵ = s_w·q_w,
//
//	|Σ x w − Σ x̂ ŵ| ≤ Σ|x|·|w − ŵ| + Σ|x − x̂|·|ŵ| ≤ (s_w/2)·Σ|x_p| + (s_x/2)·Σ|ŵ_p|
//
// (the int32 sum is exact), plus the final rounding to float32 and the
// float64 scaling, at most 2⁻²³·|Σ x̂ ŵ| ≤ 2⁻²³·(Σ|x||ŵ| + (s_x/2)·Σ|ŵ|).
func Bound(x []float32, w *Weight, j int) float64 {
	var ax, aw, axw, amax float64
	wr := w.Q[j*w.In : (j+1)*w.In]
	sw := float64(w.Scale[j])
	for p, v := range x {
		ax += math.Abs(float64(v))
		amax = max(amax, math.Abs(float64(v)))
		wh := sw * math.Abs(float64(wr[p]))
		aw += wh
		axw += math.Abs(float64(v)) * wh
	}
	sx := float64(float32(amax) / 127)
	lin := sw/2*ax + sx/2*aw
	return lin + 0x1p-23*(axw+sx/2*aw)
}
