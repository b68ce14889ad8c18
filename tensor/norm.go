package tensor

import (
	"fmt"
	"math"

	"github.com/loomml/loom/internal/kernels"
)

// LayerNorm normalises x over its last dimension D to zero mean and unit
// variance (biased, with eps added to the variance), then applies the affine
// weight and bias ([D] each; either may be nil).
func LayerNorm(x, weight, bias *Tensor, eps float64) *Tensor {
	return normOp(x, weight, bias, eps, false)
}

// RMSNorm scales x over its last dimension D by 1/√(mean(x²)+eps) and then by
// weight ([D], may be nil), as Llama's RMSNorm.
func RMSNorm(x, weight *Tensor, eps float64) *Tensor {
	return normOp(x, weight, nil, eps, true)
}

func checkVec(name string, v *Tensor, d int) {
	if v != nil && (v.NDim() != 1 || v.shape[0] != d) {
		panic(fmt.Sprintf("tensor: norm %s has shape %v, want [%d]", name, v.shape, d))
	}
}

func normOp(x, weight, bias *Tensor, eps float64, rms bool) *Tensor {
	d := x.Dim(-1)
	checkVec("weight", weight, d)
	checkVec("bias", bias, d)
	c := x.Contiguous()
	out := uninit(x.dtype, x.shape...)
	if x.dtype == Float32 {
		norm32(out.f32, c.F32(), vecData[float32](weight), vecData[float32](bias), d, eps, rms)
	} else {
		normKernel(out.f64, c.F64(), vecData[float64](weight), vecData[float64](bias), d, eps, rms)
	}
	return out
}

func vecData[T Float](v *Tensor) []T {
	if v == nil {
		return nil
	}
	return Data[T](v.Contiguous())
}

// NormStats returns the mean (0 for RMS) and 1/σ of one row.
func NormStats[T Float](row []T, eps float64, rms bool) (mean, rstd float64) {
	n := float64(len(row))
	if !rms {
		for _, v := range row {
			mean += float64(v)
		}
		mean /= n
	}
	var ss float64
	for _, v := range row {
		d := float64(v) - mean
		ss += d * d
	}
	return mean, 1 / math.Sqrt(ss/n+eps)
}

func normKernel[T Float](dst, src, w, b []T, d int, eps float64, rms bool) {
	if d == 0 {
		return
	}
	for r := 0; r*d < len(src); r++ {
		row := src[r*d : (r+1)*d]
		out := dst[r*d : (r+1)*d]
		mean, rstd := NormStats(row, eps, rms)
		for i, v := range row {
			y := (float64(v) - mean) * rstd
			if w != nil {
				y *= float64(w[i])
			}
			if b != nil {
				y += float64(b[i])
			}
			out[i] = T(y)
		}
	}
}

// NormStats32 returns the mean (0 for RMS) and 1/σ of a float32 row with the
// vector kernels (two passes: the mean, then the squared deviations).
func NormStats32(row []float32, eps float64, rms bool) (mean, rstd float32) {
	n := float32(len(row))
	if !rms {
		s, _ := kernels.SumSqDev(row, 0)
		mean = s / n
	}
	_, ss := kernels.SumSqDev(row, mean)
	return mean, float32(1 / math.Sqrt(float64(ss/n)+eps))
}

// Ones32 returns n ones (a shared read-only slice for norms without gain).
func Ones32(n int) []float32 {
	o := make([]float32, n)
	for i := range o {
		o[i] = 1
	}
	return o
}

func norm32(dst, src, w, b []float32, d int, eps float64, rms bool) {
	if d == 0 {
		return
	}
	if w == nil {
		w = Ones32(d)
	}
	rows := len(src) / d
	chunk := max(1, 4096/d)
	kernels.Parallel((rows+chunk-1)/chunk, func(c int) {
		for r := c * chunk; r < min(rows, (c+1)*chunk); r++ {
			row := src[r*d : (r+1)*d]
			mean, rstd := NormStats32(row, eps, rms)
			kernels.NormForward(dst[r*d:(r+1)*d], row, w, b, mean, rstd)
		}
	})
}
