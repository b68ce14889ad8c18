package autograd

import (
	"github.com/loomml/loom/tensor"
)

// expandBack broadcasts a reduced gradient g back over the reduced axes of a
// tensor of shape (as a contiguous tensor).
func expandBack(g *tensor.Tensor, shape, axes []int) *tensor.Tensor {
	keep := tensor.ReducedShape(shape, axes, true)
	return g.Reshape(keep...).Expand(shape...).Contiguous()
}

func reducedCount(shape, axes []int) int {
	n := 1
	for _, a := range axes {
		n *= shape[a]
	}
	return n
}

// Sum returns the sum over axes (all axes when none are given).
func Sum(x *Var, keepdim bool, axes ...int) *Var {
	ax := tensor.NormAxes(axes, x.NDim())
	return record("sum", tensor.Sum(x.Value, keepdim, axes...), func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{expandBack(g, x.Shape(), ax)}
	}, linear(func(g *Var) *Var { return expandBackVar(g, x.Shape(), ax) }), x)
}

// Mean returns the mean over axes (all axes when none are given).
func Mean(x *Var, keepdim bool, axes ...int) *Var {
	ax := tensor.NormAxes(axes, x.NDim())
	n := reducedCount(x.Shape(), ax)
	return record("mean", tensor.Mean(x.Value, keepdim, axes...), func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.MulScalar(expandBack(g, x.Shape(), ax), 1/float64(n))}
	}, linear(func(g *Var) *Var { return MulScalar(expandBackVar(g, x.Shape(), ax), 1/float64(n)) }), x)
}

// Max returns the maximum over axes (all axes when none are given), as
// torch.amax: the gradient is shared equally among tied maxima.
func Max(x *Var, keepdim bool, axes ...int) *Var {
	ax := tensor.NormAxes(axes, x.NDim())
	y := tensor.Max(x.Value, keepdim, axes...)
	// share is 1/(number of maxima) at each maximum, 0 elsewhere.
	share := func() (hit, count *tensor.Tensor) {
		ye := expandBack(y, x.Shape(), ax)
		hit = tensor.Zip(func(x, y float64) float64 {
			if x == y {
				return 1
			}
			return 0
		}, x.Value.Contiguous(), ye)
		return hit, expandBack(tensor.Sum(hit, true, ax...), x.Shape(), ax)
	}
	return record("max", y, func(g *tensor.Tensor) []*tensor.Tensor {
		hit, count := share()
		return []*tensor.Tensor{tensor.Div(tensor.Mul(expandBack(g, x.Shape(), ax), hit), count)}
	}, linear(func(g *Var) *Var {
		hit, count := share()
		return Mul(expandBackVar(g, x.Shape(), ax), Const(tensor.Div(hit, count)))
	}), x)
}

// Variance returns the variance over axes with divisor N − correction (1 gives
// the unbiased estimate, as torch.var's default).
func Variance(x *Var, correction int, keepdim bool, axes ...int) *Var {
	ax := tensor.NormAxes(axes, x.NDim())
	n := reducedCount(x.Shape(), ax)
	return record("var", tensor.Var(x.Value, correction, keepdim, axes...), func(g *tensor.Tensor) []*tensor.Tensor {
		mean := expandBack(tensor.Mean(x.Value, true, ax...), x.Shape(), ax)
		d := tensor.Sub(x.Value, mean)
		scale := 2 / float64(n-correction)
		return []*tensor.Tensor{tensor.Mul(tensor.MulScalar(d, scale), expandBack(g, x.Shape(), ax))}
	}, vjpFunc(func(in []*Var, _, g *Var, _ []bool) []*Var {
		x := in[0]
		d := Sub(x, Mean(x, true, ax...))
		return []*Var{Mul(MulScalar(d, 2/float64(n-correction)), expandBackVar(g, x.Shape(), ax))}
	}), x)
}

// MatMul returns op(a)·op(b) with op the transpose when transA/transB, for
// a [..., M, K] and b [..., K, N] (as stored before transposition); batch
// dimensions broadcast.
func MatMul(a, b *Var, transA, transB bool) *Var {
	prec := operandPrecision(a, b)
	out := tensor.MatMulWith(a.Value, b.Value, transA, transB, prec)
	return record("matmul", out, func(g *tensor.Tensor) []*tensor.Tensor {
		grads := make([]*tensor.Tensor, 2)
		av, bv := a.Value, b.Value
		if a.requiresGrad {
			var da *tensor.Tensor
			switch {
			case !transA:
				da = tensor.MatMulWith(g, bv, false, !transB, prec) // G·op(B)ᵀ
			case !transB:
				da = tensor.MatMulWith(bv, g, false, true, prec) // B·Gᵀ
			default:
				da = tensor.MatMulWith(bv, g, true, true, prec) // Bᵀ·Gᵀ
			}
			grads[0] = tensor.SumTo(da, av.Shape())
		}
		if b.requiresGrad {
			var db *tensor.Tensor
			if bv.NDim() == 2 && av.NDim() > 2 && !transA {
				// Shared weight: fold the batch into the rows of one GEMM.
				k := av.Dim(-1)
				af := av.Reshape(-1, k)
				gf := g.Reshape(-1, g.Dim(-1))
				if transB {
					db = tensor.MatMulWith(gf, af, true, false, prec) // Gᵀ·A
				} else {
					db = tensor.MatMulWith(af, gf, true, false, prec) // Aᵀ·G
				}
			} else {
				switch {
				case !transB:
					db = tensor.MatMulWith(av, g, !transA, false, prec) // op(A)ᵀ·G
				case !transA:
					db = tensor.MatMulWith(g, av, true, false, prec) // Gᵀ·A
				default:
					db = tensor.MatMulWith(g, av, true, true, prec) // Gᵀ·Aᵀ
				}
			}
			grads[1] = tensor.SumTo(db, bv.Shape())
		}
		return grads
	}, vjpFunc(func(in []*Var, _, g *Var, need []bool) []*Var {
		a, b := in[0], in[1]
		return vgrads2(in, need,
			func() *Var {
				switch {
				case !transA:
					return MatMul(g, b, false, !transB) // G·op(B)ᵀ
				case !transB:
					return MatMul(b, g, false, true) // B·Gᵀ
				}
				return MatMul(b, g, true, true) // Bᵀ·Gᵀ
			},
			func() *Var {
				switch {
				case !transB:
					return MatMul(a, g, !transA, false) // op(A)ᵀ·G
				case !transA:
					return MatMul(g, a, true, false) // Gᵀ·A
				}
				return MatMul(g, a, true, true) // Gᵀ·Aᵀ
			})
	}), a, b)
}

// Linear returns x·wᵀ + b for x [..., in], w [out, in] and b [out] (nil for
// no bias): one matrix product with the bias added in place, and a backward
// pass that sums the bias gradient over rows directly.
func Linear(x, w, b *Var) *Var {
	prec := operandPrecision(w)
	out := tensor.MatMulWith(x.Value, w.Value, false, true, prec)
	if b != nil {
		tensor.AddRowsInPlace(out, b.Value)
	}
	mm := func(g *tensor.Tensor) []*tensor.Tensor {
		grads := make([]*tensor.Tensor, 3)
		if x.requiresGrad {
			grads[0] = tensor.MatMulWith(g, w.Value, false, false, prec) // G·W
		}
		if w.requiresGrad {
			k := x.Dim(-1)
			grads[1] = tensor.MatMulWith(g.Reshape(-1, g.Dim(-1)), x.Value.Reshape(-1, k), true, false, prec) // Gᵀ·X
		}
		if b != nil && b.requiresGrad {
			grads[2] = tensor.SumRows(g)
		}
		return grads
	}
	return record("linear", out, mm, vjpFunc(linearVJP), x, w, b)
}

func linearVJP(in []*Var, _, g *Var, need []bool) []*Var {
	x, w := in[0], in[1]
	grads := make([]*Var, 3)
	if need[0] {
		grads[0] = MatMul(g, w, false, false) // G·W
	}
	g2 := Reshape(g, -1, g.Dim(-1))
	if need[1] {
		grads[1] = MatMul(g2, Reshape(x, -1, x.Dim(-1)), true, false) // Gᵀ·X
	}
	if need[2] {
		grads[2] = Sum(g2, false, 0)
	}
	return grads
}
