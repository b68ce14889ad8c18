package tensor

import (
	"fmt"
	"math"
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
	out := New(x.dtype, x.shape...)
	if x.dtype == Float32 {
		normKernel(out.f32, c.F32(), vecData[float32](weight), vecData[float32](bias), d, eps, rms)
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
