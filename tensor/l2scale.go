package tensor

import (
	"math"

	"github.com/loomml/loom/internal/kernels"
)

// L2Scale returns x with every row of its last dimension scaled to
// c/√(‖row‖² + eps): TokenFormer's l2-normalised attention scores (nn's
// Pattention), in one pass. A row's sum of squares accumulates in a fixed
// structure (float32 rows: the vector kernels' lanes; float64: index
// order), so appending zeros to a row leaves its result exactly as it was
// (a grown Pattention computes exactly what it did).
func L2Scale(x *Tensor, c, eps float64) *Tensor {
	xc := x.Contiguous()
	out := uninit(x.dtype, x.shape...)
	if x.dtype == Float32 {
		l2Scale32(out.f32, xc.F32(), x.Dim(-1), c, eps)
	} else {
		l2Scale(out.f64, xc.F64(), x.Dim(-1), c, eps)
	}
	return out
}

// L2ScaleGrad returns the gradient of L2Scale(x, c, eps) for the output
// gradient g: per row, with r = c/√(‖x‖² + eps),
// dx = r·g − (r³/c²)·(g·x)·x.
func L2ScaleGrad(x, g *Tensor, c, eps float64) *Tensor {
	xc, gc := x.Contiguous(), g.Contiguous()
	out := uninit(x.dtype, x.shape...)
	if x.dtype == Float32 {
		l2ScaleGrad32(out.f32, xc.F32(), gc.To(Float32).F32(), x.Dim(-1), c, eps)
	} else {
		l2ScaleGrad(out.f64, xc.F64(), gc.To(Float64).F64(), x.Dim(-1), c, eps)
	}
	return out
}

// rowChunks runs f over the rows of [rows, d] data in parallel chunks.
func rowChunks(rows, d int, f func(r int)) {
	chunk := max(1, 4096/max(d, 1))
	kernels.Parallel((rows+chunk-1)/chunk, func(ci int) {
		for r := ci * chunk; r < min(rows, (ci+1)*chunk); r++ {
			f(r)
		}
	})
}

func l2Scale[T Float](dst, src []T, d int, c, eps float64) {
	if d == 0 {
		return
	}
	rowChunks(len(src)/d, d, func(r int) {
		row, out := src[r*d:(r+1)*d], dst[r*d:(r+1)*d]
		var ss float64
		for _, v := range row {
			ss += float64(v) * float64(v)
		}
		s := T(c / math.Sqrt(ss+eps))
		for i, v := range row {
			out[i] = v * s
		}
	})
}

func l2ScaleGrad[T Float](dst, x, g []T, d int, c, eps float64) {
	if d == 0 {
		return
	}
	rowChunks(len(x)/d, d, func(r int) {
		xr, gr, out := x[r*d:(r+1)*d], g[r*d:(r+1)*d], dst[r*d:(r+1)*d]
		var ss, gx float64
		for i, v := range xr {
			ss += float64(v) * float64(v)
			gx += float64(gr[i]) * float64(v)
		}
		rs := c / math.Sqrt(ss+eps)
		a, b := T(rs), T(rs*rs*rs/(c*c)*gx)
		for i, v := range xr {
			out[i] = a*gr[i] - b*v
		}
	})
}

// l2Scale32 is l2Scale on float32 rows with the vector kernels: the sum of
// squares of SumSqDev and the scaling of NormForward (mean 0, weights 1).
func l2Scale32(dst, src []float32, d int, c, eps float64) {
	if d == 0 {
		return
	}
	ones := onesF32(d)
	rowChunks(len(src)/d, d, func(r int) {
		row, out := src[r*d:(r+1)*d], dst[r*d:(r+1)*d]
		_, ss := kernels.SumSqDev(row, 0)
		kernels.NormForward(out, row, ones, nil, 0, float32(c/math.Sqrt(float64(ss)+eps)))
	})
}

// l2ScaleGrad32 is l2ScaleGrad on float32 rows with the vector kernels:
// ‖x‖² from SumSqDev, g·x from RowDots, and dx = r·g − (r³/c²)(g·x)·x as
// NormBackward2's r·(g·1 − 0 − (r·x)·c₂) with c₂ = r·(g·x)/c².
func l2ScaleGrad32(dst, x, g []float32, d int, c, eps float64) {
	if d == 0 {
		return
	}
	ones := onesF32(d)
	rowChunks(len(x)/d, d, func(r int) {
		xr, gr, out := x[r*d:(r+1)*d], g[r*d:(r+1)*d], dst[r*d:(r+1)*d]
		_, ss := kernels.SumSqDev(xr, 0)
		var gx [1]float32
		kernels.RowDots(gx[:], gr, xr, d)
		rs := c / math.Sqrt(float64(ss)+eps)
		kernels.NormBackward2(out, xr, gr, ones, 0, float32(rs), 0, float32(rs*float64(gx[0])/(c*c)))
	})
}

// onesF32 returns n float32 ones.
func onesF32(n int) []float32 {
	o := make([]float32, n)
	for i := range o {
		o[i] = 1
	}
	return o
}
