package tensor

import (
	"fmt"
	"math"

	"github.com/loomml/loom/internal/kernels"
)

// RopeTables returns the rotary-embedding tables cos and sin, each
// [len(positions), headDim], in Hugging Face's "rotate_half" layout: the
// frequency of column i (and of column i + headDim/2) is
// θ^(−2i/headDim). The arithmetic follows transformers' Llama rotary
// embedding step by step in float32, so tables match it bit for bit.
func RopeTables(positions []int, headDim int, theta float64) (cos, sin *Tensor) {
	return RopeTablesFreq(positions, RopeInvFreq(headDim, theta))
}

// RopeInvFreq returns the rotary frequencies θ^(−2i/headDim), i < headDim/2,
// computed in float32 as transformers does.
func RopeInvFreq(headDim int, theta float64) []float32 {
	if headDim%2 != 0 {
		panic(fmt.Sprintf("tensor: rotary embeddings need an even head dimension, have %d", headDim))
	}
	invFreq := make([]float32, headDim/2)
	for i := range invFreq {
		e := float32(2*i) / float32(headDim)
		invFreq[i] = 1 / float32(math.Pow(theta, float64(e)))
	}
	return invFreq
}

// RopeTablesFreq is RopeTables for given frequencies (rescaled ones, say):
// the angle of position p in column i (and i + len(invFreq)) is
// p·invFreq[i], multiplied in float32.
func RopeTablesFreq(positions []int, invFreq []float32) (cos, sin *Tensor) {
	half := len(invFreq)
	headDim := 2 * half
	cos, sin = Zeros(len(positions), headDim), Zeros(len(positions), headDim)
	for t, p := range positions {
		for i, f := range invFreq {
			a := float64(float32(p) * f)
			c, s := float32(math.Cos(a)), float32(math.Sin(a))
			cos.f32[t*headDim+i], cos.f32[t*headDim+i+half] = c, c
			sin.f32[t*headDim+i], sin.f32[t*headDim+i+half] = s, s
		}
	}
	return cos, sin
}

// Rope applies rotary embeddings: x·cos + rotate_half(x)·sin, where
// rotate_half(x) = [−x₂, x₁] for the halves x₁, x₂ of the last dimension.
// x is [..., T, hd]; cos and sin are [T, hd] (or broadcast to x's shape).
// With transpose, it applies the adjoint map instead, g·cos + [(g·sin)₂,
// −(g·sin)₁], which is the backward pass (and the inverse rotation).
func Rope(x, cos, sin *Tensor, transpose bool) *Tensor {
	hd := x.Dim(-1)
	if hd%2 != 0 {
		panic(fmt.Sprintf("tensor: rotary embeddings need an even last dimension, have shape %v", x.shape))
	}
	// Tables [T, hd] are indexed by x's position (dimension −2) without
	// copying; anything else is broadcast to x's shape first. x keeps its
	// memory order (a permuted view stays one), so head splits cost nothing.
	if x.NDim() >= 2 && cos.NDim() == 2 && EqualShape(cos.shape, x.shape[x.NDim()-2:]) && EqualShape(sin.shape, cos.shape) && x.strides[x.NDim()-1] == 1 {
		out := uninitLikeLayout(x) // every row written by ropeRows
		c, s := cos.Contiguous(), sin.Contiguous()
		if x.dtype == Float32 {
			ropeRows[float32](out, x, c.F32(), s.F32(), transpose)
		} else {
			ropeRows[float64](out, x, c.F64(), s.F64(), transpose)
		}
		return out
	}
	c, s := cos.Expand(x.shape...).Contiguous(), sin.Expand(x.shape...).Contiguous()
	xc := x.Contiguous()
	out := New(x.dtype, x.shape...)
	if x.dtype == Float32 {
		rope(out.f32, xc.F32(), c.F32(), s.F32(), hd, transpose)
	} else {
		rope(out.f64, xc.F64(), c.F64(), s.F64(), hd, transpose)
	}
	return out
}

// ropeRows rotates every hd-row of x into out (same shape, both with a
// contiguous last dimension), using table row t for position t (x's
// dimension −2).
func ropeRows[T Float](out, x *Tensor, c, s []T, transpose bool) {
	nd := x.NDim()
	if nd > 2 && kernels.Threads() > 1 && x.Numel() >= 1<<15 {
		// one goroutine per batch element, or per head for one sequence
		// (the row dimension, −2, is not split: tables follow it)
		for axis := 0; axis < nd-2; axis++ {
			if n := x.shape[axis]; n > 1 {
				kernels.Parallel(n, func(i int) {
					ropeRows[T](out.Slice(axis, i, i+1), x.Slice(axis, i, i+1), c, s, transpose)
				})
				return
			}
		}
	}
	hd := x.shape[nd-1]
	xs, os := storage[T](x), storage[T](out)
	idx := make([]int, nd-1)
	rows := numelOf(x.shape[:nd-1])
	xo, oo := x.offset, out.offset
	for range rows {
		t := idx[nd-2]
		ropeRow(os[oo:oo+hd], xs[xo:xo+hd], c[t*hd:(t+1)*hd], s[t*hd:(t+1)*hd], transpose)
		for d := nd - 2; d >= 0; d-- {
			idx[d]++
			xo += x.strides[d]
			oo += out.strides[d]
			if idx[d] < x.shape[d] {
				break
			}
			xo -= idx[d] * x.strides[d]
			oo -= idx[d] * out.strides[d]
			idx[d] = 0
		}
	}
}

// uninitLikeLayout returns a tensor with x's shape and unspecified elements
// (uninit) whose memory order follows x's strides (a transposed or
// permuted view gives the same permutation of a contiguous tensor), for
// outputs every element of which is written.
func uninitLikeLayout(x *Tensor) *Tensor {
	nd := x.NDim()
	perm := make([]int, nd)
	for i := range perm {
		perm[i] = i
	}
	// order dimensions by decreasing stride (stable: ties keep their order)
	for i := 1; i < nd; i++ {
		for j := i; j > 0 && x.strides[perm[j]] > x.strides[perm[j-1]]; j-- {
			perm[j], perm[j-1] = perm[j-1], perm[j]
		}
	}
	shape := make([]int, nd)
	for i, p := range perm {
		shape[i] = x.shape[p]
	}
	return uninit(x.dtype, shape...).Permute(InversePerm(perm)...)
}

// rope applies the rotation to every hd-row of x; row r uses table row
// r mod (len(c)/hd).
func rope[T Float](dst, x, c, s []T, hd int, transpose bool) {
	period := len(c)
	for r := 0; r < len(x); r += hd {
		t := r % period
		ropeRow(dst[r:r+hd], x[r:r+hd], c[t:t+hd], s[t:t+hd], transpose)
	}
}

// ropeRow rotates one row: o = x·c + rotate_half(x)·s (or the adjoint).
func ropeRow[T Float](o, xr, cr, sr []T, transpose bool) {
	h := len(xr) / 2
	for i := 0; i < h; i++ {
		x1, x2 := xr[i], xr[i+h]
		if transpose {
			o[i] = x1*cr[i] + x2*sr[i+h]
			o[i+h] = x2*cr[i+h] - x1*sr[i]
		} else {
			o[i] = x1*cr[i] - x2*sr[i]
			o[i+h] = x2*cr[i+h] + x1*sr[i+h]
		}
	}
}
