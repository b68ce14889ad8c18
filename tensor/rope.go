package tensor

import (
	"fmt"
	"math"
)

// RopeTables returns the rotary-embedding tables cos and sin, each
// [len(positions), headDim], in Hugging Face's "rotate_half" layout: the
// frequency of column i (and of column i + headDim/2) is
// θ^(−2i/headDim). The arithmetic follows transformers' Llama rotary
// embedding step by step in float32, so tables match it bit for bit.
func RopeTables(positions []int, headDim int, theta float64) (cos, sin *Tensor) {
	if headDim%2 != 0 {
		panic(fmt.Sprintf("tensor: rotary embeddings need an even head dimension, have %d", headDim))
	}
	half := headDim / 2
	invFreq := make([]float32, half)
	for i := range invFreq {
		e := float32(2*i) / float32(headDim)
		invFreq[i] = 1 / float32(math.Pow(theta, float64(e)))
	}
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
	// Tables [T, hd] repeat over x's leading dimensions without copying;
	// anything else is broadcast to x's shape.
	var c, s *Tensor
	if x.NDim() >= 2 && cos.NDim() == 2 && EqualShape(cos.shape, x.shape[x.NDim()-2:]) && EqualShape(sin.shape, cos.shape) {
		c, s = cos.Contiguous(), sin.Contiguous()
	} else {
		c, s = cos.Expand(x.shape...).Contiguous(), sin.Expand(x.shape...).Contiguous()
	}
	xc := x.Contiguous()
	out := New(x.dtype, x.shape...)
	if x.dtype == Float32 {
		rope(out.f32, xc.F32(), c.F32(), s.F32(), hd, transpose)
	} else {
		rope(out.f64, xc.F64(), c.F64(), s.F64(), hd, transpose)
	}
	return out
}

// rope applies the rotation to every hd-row of x; row r uses table row
// r mod (len(c)/hd).
func rope[T Float](dst, x, c, s []T, hd int, transpose bool) {
	h := hd / 2
	period := len(c)
	for r := 0; r < len(x); r += hd {
		t := r % period
		xr, cr, sr, o := x[r:r+hd], c[t:t+hd], s[t:t+hd], dst[r:r+hd]
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
}
