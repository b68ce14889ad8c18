package tensor

import (
	"math"

	"github.com/loomml/loom/internal/kernels"
)

// splitAxis views a contiguous tensor of shape as [outer, n, inner] around axis.
func splitAxis(shape []int, axis int) (outer, n, inner int) {
	outer, inner = 1, 1
	for i, d := range shape {
		switch {
		case i < axis:
			outer *= d
		case i > axis:
			inner *= d
		}
	}
	return outer, shape[axis], inner
}

// Softmax returns exp(x)/Σexp(x) along axis, computed stably (the maximum is
// subtracted first; sums accumulate in float64).
func Softmax(x *Tensor, axis int) *Tensor { return softmaxOp(x, axis, false) }

// LogSoftmax returns x − log Σexp(x) along axis, computed stably.
func LogSoftmax(x *Tensor, axis int) *Tensor { return softmaxOp(x, axis, true) }

func softmaxOp(x *Tensor, axis int, log bool) *Tensor {
	axis = x.axis(axis)
	c := x.Contiguous()
	out := New(x.dtype, x.shape...)
	outer, n, inner := splitAxis(x.shape, axis)
	if x.dtype == Float32 {
		softmaxKernel(out.f32, c.F32(), outer, n, inner, log)
	} else {
		softmaxKernel(out.f64, c.F64(), outer, n, inner, log)
	}
	return out
}

func softmaxKernel[T Float](dst, src []T, outer, n, inner int, log bool) {
	for o := 0; o < outer; o++ {
		for j := 0; j < inner; j++ {
			base := o*n*inner + j
			SoftmaxRow(dst[base:], src[base:], n, inner, log)
		}
	}
}

// SoftmaxRow computes the (log-)softmax of the n elements src[0], src[s],
// src[2s], … into dst at the same positions.
func SoftmaxRow[T Float](dst, src []T, n, s int, log bool) {
	if n == 0 {
		return
	}
	if d32, ok := any(dst).([]float32); ok && s == 1 {
		softmaxRow32(d32[:n], any(src).([]float32)[:n], log)
		return
	}
	m := math.Inf(-1)
	for i := 0; i < n; i++ {
		if v := float64(src[i*s]); v > m || v != v {
			m = v
		}
	}
	if math.IsInf(m, -1) { // every entry masked: define the row as uniform zeros
		for i := 0; i < n; i++ {
			if log {
				dst[i*s] = T(math.Inf(-1))
			} else {
				dst[i*s] = 0
			}
		}
		return
	}
	var sum float64
	for i := 0; i < n; i++ {
		sum += math.Exp(float64(src[i*s]) - m)
	}
	if log {
		lse := m + math.Log(sum)
		for i := 0; i < n; i++ {
			dst[i*s] = T(float64(src[i*s]) - lse)
		}
		return
	}
	inv := 1 / sum
	for i := 0; i < n; i++ {
		dst[i*s] = T(math.Exp(float64(src[i*s])-m) * inv)
	}
}

// softmaxRow32 is SoftmaxRow for a contiguous float32 row, with the vector
// exp-sum kernel.
func softmaxRow32(dst, src []float32, log bool) {
	m := src[0]
	for _, v := range src[1:] {
		if v > m || v != v {
			m = v
		}
	}
	if math.IsInf(float64(m), -1) {
		for i := range dst {
			if log {
				dst[i] = float32(math.Inf(-1))
			} else {
				dst[i] = 0
			}
		}
		return
	}
	if !log {
		sum := kernels.ExpSum(dst, src, 1, m)
		inv := 1 / sum
		for i := range dst {
			dst[i] *= inv
		}
		return
	}
	// log-softmax: (x − m) − log Σ exp(x − m); the exps go to dst first.
	sum := kernels.ExpSum(dst, src, 1, m)
	ls := float32(math.Log(float64(sum)))
	for i, v := range src {
		dst[i] = (v - m) - ls // subtracting m first keeps large logits exact
	}
}
