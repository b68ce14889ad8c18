package tensor

import (
	"fmt"
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
	out := uninit(x.dtype, x.shape...)
	outer, n, inner := splitAxis(x.shape, axis)
	if x.dtype == Float32 {
		softmaxKernel(out.f32, c.F32(), outer, n, inner, log)
	} else {
		softmaxKernel(out.f64, c.F64(), outer, n, inner, log)
	}
	return out
}

func softmaxKernel[T Float](dst, src []T, outer, n, inner int, log bool) {
	if inner == 1 {
		// Rows are independent: many are split across threads (same results).
		forRows(outer, n, func(o int, _ *RNG) { SoftmaxRow(dst[o*n:], src[o*n:], n, 1, log) })
		return
	}
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

// SoftmaxBackward returns y ⊙ (g − Σ g⊙y) along axis: the gradient of the
// softmax's input given its output y and the output's gradient g. The
// dot products accumulate in float64; rows run in parallel.
func SoftmaxBackward(y, g *Tensor, axis int) *Tensor {
	axis = y.axis(axis)
	outer, n, inner := splitAxis(y.shape, axis)
	if inner != 1 || !SameShape(y, g) || y.dtype != g.dtype {
		gy := Mul(g, y)
		return Mul(y, Sub(g, Sum(gy, true, axis)))
	}
	yc, gc := y.Contiguous(), g.Contiguous()
	out := uninit(y.dtype, y.shape...)
	if y.dtype == Float32 {
		softmaxBackwardRows(out.f32, yc.F32(), gc.F32(), outer, n)
	} else {
		softmaxBackwardRows(out.f64, yc.F64(), gc.F64(), outer, n)
	}
	return out
}

func softmaxBackwardRows[T Float](dst, y, g []T, outer, n int) {
	forRows(outer, n, func(o int, _ *RNG) {
		softmaxGradRow(dst[o*n:(o+1)*n], y[o*n:(o+1)*n], g[o*n:(o+1)*n])
	})
}

// softmaxGradRow sets dst = y ⊙ (g − Σ g⊙y) for one row, the dot product
// in float64; dst may be g.
func softmaxGradRow[T Float](dst, y, g []T) {
	var dot float64
	for i, v := range y {
		dot += float64(v) * float64(g[i])
	}
	d := T(dot)
	for i, v := range y {
		dst[i] = v * (g[i] - d)
	}
}

// SoftmaxDropout returns dropout(softmax(x)) along the last axis, as
// attention applies dropout p to its probabilities, and the probabilities
// themselves (for SoftmaxDropoutBackward). Row o's keep mask comes from its
// own stream, seeded from seed and o, with 32 random bits per element
// (kept when they are ≥ ⌈p·2³²⌉), so rows run in parallel and the backward
// pass regenerates the mask instead of storing it. Kept entries are scaled
// by 1/(1−p). Each row is normalised and masked while it is in cache.
func SoftmaxDropout(x *Tensor, p float64, seed uint64) (out, probs *Tensor) {
	if p < 0 || p >= 1 {
		panic(fmt.Sprintf("tensor: dropout probability %v outside [0, 1)", p))
	}
	c := x.Contiguous()
	probs = uninit(x.dtype, x.shape...)
	out = uninit(x.dtype, x.shape...)
	n := x.Dim(-1)
	outer := numelOf(x.shape) / max(n, 1)
	if x.dtype == Float32 {
		softmaxDropoutRows(out.f32, probs.f32, c.F32(), outer, n, p, seed)
	} else {
		softmaxDropoutRows(out.f64, probs.f64, c.F64(), outer, n, p, seed)
	}
	return out, probs
}

func softmaxDropoutRows[T Float](out, probs, x []T, outer, n int, p float64, seed uint64) {
	forRows(outer, n, func(o int, r *RNG) {
		SoftmaxRow(probs[o*n:], x[o*n:], n, 1, false)
		maskRow(out[o*n:(o+1)*n], probs[o*n:(o+1)*n], r, o, p, seed)
	})
}

// SoftmaxDropoutBackward is the gradient of SoftmaxDropout's input given
// its probabilities, the output's gradient g and the same p and seed:
// with z = g ⊙ mask, y ⊙ (z − Σ z⊙y), one row at a time.
func SoftmaxDropoutBackward(probs, g *Tensor, p float64, seed uint64) *Tensor {
	n := probs.Dim(-1)
	outer := numelOf(probs.shape) / max(n, 1)
	gc := g.Contiguous()
	dx := uninit(g.dtype, g.shape...)
	if g.dtype == Float32 {
		softmaxDropoutBackward(dx.f32, probs.f32, gc.F32(), outer, n, p, seed)
	} else {
		softmaxDropoutBackward(dx.f64, probs.f64, gc.F64(), outer, n, p, seed)
	}
	return dx
}

func softmaxDropoutBackward[T Float](dx, y, g []T, outer, n int, p float64, seed uint64) {
	forRows(outer, n, func(o int, r *RNG) {
		dr := dx[o*n : (o+1)*n]
		maskRow(dr, g[o*n:(o+1)*n], r, o, p, seed) // z, then the softmax gradient in place
		softmaxGradRow(dr, y[o*n:(o+1)*n], dr)
	})
}

// forRows calls f for rows 0 … outer−1 of length n, in parallel chunks when
// there are many, giving each goroutine its own scratch RNG.
func forRows(outer, n int, f func(o int, r *RNG)) {
	rows := max(1, parallelChunk/max(n, 1))
	chunks := (outer + rows - 1) / rows
	do := func(c int) {
		var r RNG
		for o := c * rows; o < min(outer, (c+1)*rows); o++ {
			f(o, &r)
		}
	}
	if outer*n <= parallelChunk {
		for c := range chunks {
			do(c)
		}
		return
	}
	kernels.Parallel(chunks, do)
}

// maskRow sets d = s ⊙ mask for row o (see SoftmaxDropout), reseeding r.
func maskRow[T Float](d, s []T, r *RNG, o int, p float64, seed uint64) {
	t := uint64(math.Ceil(p * (1 << 32)))
	scale := [2]T{0, T(1 / (1 - p))}
	r.Seed(seed ^ (uint64(o)+1)*0xd1342543de82ef95)
	n := len(d)
	s = s[:n]
	i := 0
	for ; i+1 < n; i += 2 {
		u := r.Uint64()
		d[i] = s[i] * scale[b2i(u&0xffffffff >= t)]
		d[i+1] = s[i+1] * scale[b2i(u>>32 >= t)]
	}
	if i < n {
		d[i] = s[i] * scale[b2i(r.Uint64()&0xffffffff >= t)]
	}
}

// DropoutRows returns x with dropout p applied, each row of its last axis
// masked from its own stream seeded from seed and the row (SoftmaxDropout's
// mask), so rows run in parallel and the same seed gives the same mask:
// the backward pass calls it again on the gradient instead of storing the
// mask. Kept entries are scaled by 1/(1−p).
func DropoutRows(x *Tensor, p float64, seed uint64) *Tensor {
	if p < 0 || p >= 1 {
		panic(fmt.Sprintf("tensor: dropout probability %v outside [0, 1)", p))
	}
	c := x.Contiguous()
	out := uninit(x.dtype, x.shape...)
	n := 1
	if x.NDim() > 0 {
		n = x.Dim(-1)
	}
	outer := numelOf(x.shape) / max(n, 1)
	if x.dtype == Float32 {
		dropoutRows(out.f32, c.F32(), outer, n, p, seed)
	} else {
		dropoutRows(out.f64, c.F64(), outer, n, p, seed)
	}
	return out
}

func dropoutRows[T Float](out, x []T, outer, n int, p float64, seed uint64) {
	forRows(outer, n, func(o int, r *RNG) { maskRow(out[o*n:(o+1)*n], x[o*n:(o+1)*n], r, o, p, seed) })
}

// b2i is 1 for true and 0 for false (a flag set, not a branch).
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
