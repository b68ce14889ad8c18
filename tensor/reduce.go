package tensor

import (
	"fmt"
	"math"
	"sort"

	"github.com/loomml/loom/internal/kernels"
)

// ReduceOp names a reduction.
type ReduceOp uint8

// The reductions.
const (
	RedSum ReduceOp = iota
	RedMean
	RedMax
	RedMin
	RedVar // with a correction (Bessel's correction when 1)
)

// NormAxes normalises axes for an n-dimensional tensor, sorted and unique.
// An empty list means all axes.
func NormAxes(axes []int, n int) []int {
	if len(axes) == 0 {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out
	}
	seen := map[int]bool{}
	var out []int
	for _, a := range axes {
		a = NormAxis(a, n)
		if seen[a] {
			panic(fmt.Sprintf("tensor: axis %d repeated in %v", a, axes))
		}
		seen[a] = true
		out = append(out, a)
	}
	sort.Ints(out)
	return out
}

// ReducedShape returns the shape of x reduced over axes (sorted, unique).
func ReducedShape(shape, axes []int, keepdim bool) []int {
	var out []int
	j := 0
	for i, d := range shape {
		if j < len(axes) && axes[j] == i {
			j++
			if keepdim {
				out = append(out, 1)
			}
			continue
		}
		out = append(out, d)
	}
	if out == nil {
		out = []int{}
	}
	return out
}

// Reduce applies op over axes (all axes when empty). correction is used by
// RedVar only: the divisor is N − correction.
func Reduce(op ReduceOp, x *Tensor, axes []int, keepdim bool, correction int) *Tensor {
	axes = NormAxes(axes, x.NDim())
	outShape := ReducedShape(x.shape, axes, keepdim)
	// Arrange the reduced axes as one block: x viewed as [outer, r, inner].
	consecutive := true
	for i := 1; i < len(axes); i++ {
		if axes[i] != axes[i-1]+1 {
			consecutive = false
		}
	}
	src := x
	var outer, r, inner int
	if consecutive && len(axes) > 0 {
		src = x.Contiguous()
		outer, r, inner = 1, 1, 1
		for i, d := range x.shape {
			switch {
			case i < axes[0]:
				outer *= d
			case i <= axes[len(axes)-1]:
				r *= d
			default:
				inner *= d
			}
		}
	} else {
		// move the reduced axes last
		var perm []int
		j := 0
		for i := range x.shape {
			if j < len(axes) && axes[j] == i {
				j++
				continue
			}
			perm = append(perm, i)
		}
		perm = append(perm, axes...)
		src = x.Permute(perm...).Contiguous()
		r = 1
		for _, a := range axes {
			r *= x.shape[a]
		}
		inner = 1
		outer = 1
		if r > 0 {
			outer = x.Numel() / r
		} else {
			outer = numelOf(outShape)
		}
	}
	if (op == RedMax || op == RedMin) && r == 0 {
		panic(fmt.Sprintf("tensor: max/min over an empty dimension of shape %v", x.shape))
	}
	out := New(x.dtype, outShape...)
	if x.dtype == Float32 {
		reduceKernel(op, Data[float32](out), Data[float32](src), outer, r, inner, correction)
	} else {
		reduceKernel(op, Data[float64](out), Data[float64](src), outer, r, inner, correction)
	}
	return out
}

// reduceKernel reduces src viewed as [outer, r, inner] over r into dst
// [outer, inner], accumulating in float64.
func reduceKernel[T Float](op ReduceOp, dst, src []T, outer, r, inner int, correction int) {
	acc := make([]float64, inner)
	for o := 0; o < outer; o++ {
		base := src[o*r*inner : (o+1)*r*inner]
		switch op {
		case RedSum, RedMean, RedVar:
			clear(acc)
			for k := 0; k < r; k++ {
				row := base[k*inner : (k+1)*inner]
				for i, v := range row {
					acc[i] += float64(v)
				}
			}
			if op == RedSum {
				break
			}
			for i := range acc {
				acc[i] /= float64(r)
			}
			if op == RedMean {
				break
			}
			mean := append([]float64(nil), acc...)
			clear(acc)
			for k := 0; k < r; k++ {
				row := base[k*inner : (k+1)*inner]
				for i, v := range row {
					d := float64(v) - mean[i]
					acc[i] += d * d
				}
			}
			div := float64(r - correction)
			for i := range acc {
				if div <= 0 {
					acc[i] = math.NaN()
				} else {
					acc[i] /= div
				}
			}
		case RedMax, RedMin:
			for i := range acc {
				acc[i] = float64(base[i])
			}
			for k := 1; k < r; k++ {
				row := base[k*inner : (k+1)*inner]
				for i, v := range row {
					f := float64(v)
					if f != f || (op == RedMax && f > acc[i]) || (op == RedMin && f < acc[i]) {
						if acc[i] == acc[i] {
							acc[i] = f
						}
					}
				}
			}
		}
		d := dst[o*inner : (o+1)*inner]
		for i := range d {
			d[i] = T(acc[i])
		}
	}
}

// Sum returns the sum over axes (all when none are given).
func Sum(x *Tensor, keepdim bool, axes ...int) *Tensor {
	return Reduce(RedSum, x, axes, keepdim, 0)
}

// Mean returns the mean over axes (all when none are given).
func Mean(x *Tensor, keepdim bool, axes ...int) *Tensor {
	return Reduce(RedMean, x, axes, keepdim, 0)
}

// Max returns the maximum over axes (all when none are given), as torch.amax.
func Max(x *Tensor, keepdim bool, axes ...int) *Tensor {
	return Reduce(RedMax, x, axes, keepdim, 0)
}

// Min returns the minimum over axes (all when none are given), as torch.amin.
func Min(x *Tensor, keepdim bool, axes ...int) *Tensor {
	return Reduce(RedMin, x, axes, keepdim, 0)
}

// Var returns the variance over axes with divisor N − correction
// (correction 1 is the unbiased estimate, torch's default).
func Var(x *Tensor, correction int, keepdim bool, axes ...int) *Tensor {
	return Reduce(RedVar, x, axes, keepdim, correction)
}

// SumTo reduces x to shape by summing over the dimensions that broadcasting
// from shape to x's shape added or expanded. It is the adjoint of Expand.
func SumTo(x *Tensor, shape []int) *Tensor {
	if EqualShape(x.shape, shape) {
		return x
	}
	lead := x.NDim() - len(shape)
	if lead < 0 {
		panic(fmt.Sprintf("tensor: cannot sum shape %v to %v", x.shape, shape))
	}
	var axes []int
	for i := 0; i < x.NDim(); i++ {
		if i < lead {
			axes = append(axes, i)
		} else if shape[i-lead] == 1 && x.shape[i] != 1 {
			axes = append(axes, i)
		} else if shape[i-lead] != x.shape[i] {
			panic(fmt.Sprintf("tensor: cannot sum shape %v to %v", x.shape, shape))
		}
	}
	if len(axes) == 0 {
		return x.Reshape(shape...)
	}
	return Sum(x, false, axes...).Reshape(shape...)
}

// SumRows returns the sum of x's rows: x viewed as [N, D] (D its last
// dimension) summed over N, shape [D]. float32 rows are added with the
// vector kernel in order.
func SumRows(x *Tensor) *Tensor {
	d := x.Dim(-1)
	if x.dtype != Float32 {
		return Sum(x.Reshape(-1, d), false, 0)
	}
	out := Zeros(d)
	xs := x.Contiguous().F32()
	for r := 0; r*d < len(xs); r++ {
		kernels.Axpy(out.f32, xs[r*d:(r+1)*d], 1)
	}
	return out
}

// AddRowsInPlace adds the vector v [D] to every row of the contiguous x
// [..., D].
func AddRowsInPlace(x, v *Tensor) {
	d := x.Dim(-1)
	if v.NDim() != 1 || v.Dim(0) != d || x.dtype != v.dtype {
		panic(fmt.Sprintf("tensor: adding rows of shape %v to %v", v.shape, x.shape))
	}
	if x.dtype == Float32 {
		xs, vs := x.F32(), v.Contiguous().F32()
		for r := 0; r*d < len(xs); r++ {
			kernels.Axpy(xs[r*d:(r+1)*d], vs, 1)
		}
		return
	}
	AddInPlace(x, v)
}
