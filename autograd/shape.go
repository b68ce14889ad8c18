package autograd

import (
	"github.com/loomml/loom/tensor"
)

// Shape and indexing operations. Views (Transpose, Permute, Expand, Slice)
// share storage with their input; their gradients are ordinary tensors.

// Reshape returns x with a new shape (one dimension may be -1).
func Reshape(x *Var, shape ...int) *Var {
	in := x.Shape()
	return record("reshape", x.Value.Reshape(shape...), func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{g.Reshape(in...)}
	}, vjpFunc(reshapeBack), x)
}

// reshapeBack is the vjp of the ops that only reshape (no closure needed).
func reshapeBack(in []*Var, _, g *Var, _ []bool) []*Var { return []*Var{Reshape(g, in[0].Shape()...)} }

// Transpose swaps dimensions d0 and d1 (a view).
func Transpose(x *Var, d0, d1 int) *Var {
	return record("transpose", x.Value.Transpose(d0, d1), func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{g.Transpose(d0, d1)} // a view; consumers copy if they must
	}, linear(func(g *Var) *Var { return Transpose(g, d0, d1) }), x)
}

// Permute reorders dimensions: result dimension i is x's dimension perm[i]
// (a view).
func Permute(x *Var, perm ...int) *Var {
	inv := tensor.InversePerm(perm)
	return record("permute", x.Value.Permute(perm...), func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{g.Permute(inv...)} // a view; consumers copy if they must
	}, linear(func(g *Var) *Var { return Permute(g, inv...) }), x)
}

// Contiguous returns x laid out contiguously (a copy only when x is a view).
func Contiguous(x *Var) *Var {
	if x.Value.IsContiguous() {
		return x
	}
	return record("contiguous", x.Value.Contiguous(), identityBackward, vjpFunc(identityVJP), x)
}

// Expand broadcasts x to shape (a view; -1 keeps a dimension).
func Expand(x *Var, shape ...int) *Var {
	in := x.Shape()
	return record("expand", x.Value.Expand(shape...), func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.SumTo(g, in)}
	}, vjpFunc(func(in []*Var, _, g *Var, _ []bool) []*Var { return []*Var{sumTo(g, in[0].Shape())} }), x)
}

// Unsqueeze inserts a dimension of size 1 at dim.
func Unsqueeze(x *Var, dim int) *Var {
	in := x.Shape()
	return record("unsqueeze", x.Value.Unsqueeze(dim), func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{g.Reshape(in...)}
	}, vjpFunc(reshapeBack), x)
}

// Squeeze removes dimension dim, which must have size 1.
func Squeeze(x *Var, dim int) *Var {
	in := x.Shape()
	return record("squeeze", x.Value.Squeeze(dim), func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{g.Reshape(in...)}
	}, vjpFunc(reshapeBack), x)
}

// Slice restricts dimension dim to [start, end) (a view; negative bounds
// count from the end).
func Slice(x *Var, dim, start, end int) *Var {
	out := x.Value.Slice(dim, start, end)
	d := tensor.NormAxis(dim, x.NDim())
	n := x.Dim(d)
	if start < 0 {
		start += n
	}
	return record("slice", out, func(g *tensor.Tensor) []*tensor.Tensor {
		dx := tensor.ZerosLike(x.Value)
		dx.Slice(d, start, start+out.Dim(d)).CopyFrom(g)
		return []*tensor.Tensor{dx}
	}, linear(func(g *Var) *Var { return padTo(g, x.Shape(), d, start) }), x)
}

// Concat joins xs along dim.
func Concat(dim int, xs ...*Var) *Var {
	vals := make([]*tensor.Tensor, len(xs))
	sizes := make([]int, len(xs))
	d := tensor.NormAxis(dim, xs[0].NDim())
	for i, x := range xs {
		vals[i] = x.Value
		sizes[i] = x.Dim(d)
	}
	return record("concat", tensor.Concat(d, vals...), func(g *tensor.Tensor) []*tensor.Tensor {
		parts := tensor.Split(g, d, sizes...)
		for i := range parts {
			if xs[i].requiresGrad {
				parts[i] = parts[i].Contiguous()
			} else {
				parts[i] = nil
			}
		}
		return parts
	}, vjpFunc(func(in []*Var, _, g *Var, need []bool) []*Var {
		parts := make([]*Var, len(in))
		at := 0
		for i, s := range sizes {
			if need[i] {
				parts[i] = Slice(g, d, at, at+s)
			}
			at += s
		}
		return parts
	}), xs...)
}

// Split cuts x along dim into pieces of the given sizes.
func Split(x *Var, dim int, sizes ...int) []*Var {
	out := make([]*Var, len(sizes))
	at := 0
	for i, s := range sizes {
		out[i] = Slice(x, dim, at, at+s)
		at += s
	}
	if at != x.Dim(dim) {
		panic("autograd: Split sizes do not add up to the dimension")
	}
	return out
}

// IndexSelect picks the entries at positions idx along dim.
func IndexSelect(x *Var, dim int, idx []int) *Var {
	return record("index_select", tensor.IndexSelect(x.Value, dim, idx), func(g *tensor.Tensor) []*tensor.Tensor {
		dx := tensor.ZerosLike(x.Value)
		tensor.IndexAdd(dx, dim, idx, g)
		return []*tensor.Tensor{dx}
	}, linear(func(g *Var) *Var { return indexAddTo(g, x.Shape(), dim, idx) }), x)
}

// Embedding gathers rows of weight [V, D] for ids, returning
// [shape..., D]; its backward scatter-adds into the rows used.
func Embedding(weight *Var, ids []int, shape ...int) *Var {
	return record("embedding", tensor.Embedding(weight.Value, ids, shape...), func(g *tensor.Tensor) []*tensor.Tensor {
		dw := tensor.ZerosLike(weight.Value)
		tensor.IndexAdd(dw, 0, ids, g.Reshape(len(ids), weight.Dim(1)))
		return []*tensor.Tensor{dw}
	}, linear(func(g *Var) *Var { return indexAddTo(Reshape(g, len(ids), weight.Dim(1)), weight.Shape(), 0, ids) }), weight)
}

// Gather returns out[…i_dim…] = x[…idx[…i_dim…]…] along dim, as torch.gather
// (idx has shape idxShape).
func Gather(x *Var, dim int, idx []int, idxShape []int) *Var {
	return record("gather", tensor.Gather(x.Value, dim, idx, idxShape), func(g *tensor.Tensor) []*tensor.Tensor {
		dx := tensor.ZerosLike(x.Value)
		tensor.ScatterAdd(dx, dim, idx, idxShape, g)
		return []*tensor.Tensor{dx}
	}, linear(func(g *Var) *Var { return scatterAddTo(g, x.Shape(), dim, idx, idxShape) }), x)
}

// Where returns a where cond is nonzero, else b (all three broadcast).
func Where(cond *tensor.Tensor, a, b *Var) *Var {
	out := tensor.Where(cond, a.Value, b.Value)
	return record("where", out, func(g *tensor.Tensor) []*tensor.Tensor {
		zero := tensor.ScalarLike(g, 0)
		return grads2(a, b,
			func() *tensor.Tensor { return tensor.Where(cond, g, zero) },
			func() *tensor.Tensor { return tensor.Where(cond, zero, g) })
	}, vjpFunc(func(in []*Var, _, g *Var, need []bool) []*Var {
		zero := Const(tensor.ScalarLike(g.Value, 0))
		return vgrads2(in, need,
			func() *Var { return Where(cond, g, zero) },
			func() *Var { return Where(cond, zero, g) })
	}), a, b)
}

// MaskedFill returns x with value wherever mask (broadcast to x) is nonzero.
func MaskedFill(x *Var, mask *tensor.Tensor, value float64) *Var {
	return record("masked_fill", tensor.MaskedFill(x.Value, mask, value), func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.MaskedFill(g, mask, 0)}
	}, linear(func(g *Var) *Var { return MaskedFill(g, mask, 0) }), x)
}

// Dropout zeroes each element with probability p and scales the rest by
// 1/(1−p) (inverted dropout), drawing the mask from r. With p = 0 it
// returns x.
func Dropout(x *Var, p float64, r *tensor.RNG) *Var {
	if p == 0 {
		return x
	}
	return DropoutMask(x, tensor.DropoutMask(r, p, x.Value.DType(), x.Shape()...))
}

// DropoutSeeded is Dropout with tensor.DropoutRows' mask: one draw from r
// seeds it, rows are masked in parallel, and the backward pass regenerates
// the mask rather than keeping it. (Dropout draws every element from r in
// order, which seeded runs made before it depend on.) With r nil (not
// training) or p 0 it returns x.
func DropoutSeeded(x *Var, p float64, r *tensor.RNG) *Var {
	if r == nil || p == 0 {
		return x
	}
	return dropoutRows(x, p, r.Uint64())
}

// dropoutRows is x with tensor.DropoutRows' mask for seed.
func dropoutRows(x *Var, p float64, seed uint64) *Var {
	return record("dropout", tensor.DropoutRows(x.Value, p, seed), func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.DropoutRows(g, p, seed)}
	}, linear(func(g *Var) *Var { return dropoutRows(g, p, seed) }), x)
}

// DropoutMask multiplies x by a supplied dropout mask (0 or 1/(1−p) per
// element, as tensor.DropoutMask makes).
func DropoutMask(x *Var, mask *tensor.Tensor) *Var {
	mask = mask.To(x.Value.DType())
	return record("dropout", tensor.Mul(x.Value, mask), func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.Mul(g, mask)}
	}, linear(func(g *Var) *Var { return DropoutMask(g, mask) }), x)
}

// Cumsum returns the running sum along axis.
func Cumsum(x *Var, axis int) *Var {
	return record("cumsum", tensor.Cumsum(x.Value, axis), func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.ReverseCumsum(g, axis)}
	}, linear(func(g *Var) *Var { return reverseCumsum(g, axis) }), x)
}

// TopK returns the k largest (or smallest) values along axis, sorted, and
// their positions; the gradient flows to the selected entries.
func TopK(x *Var, k, axis int, largest bool) (*Var, []int) {
	vals, idx := tensor.TopK(x.Value, k, axis, largest)
	shape := vals.Shape()
	return record("topk", vals, func(g *tensor.Tensor) []*tensor.Tensor {
		dx := tensor.ZerosLike(x.Value)
		tensor.ScatterAdd(dx, axis, idx, shape, g)
		return []*tensor.Tensor{dx}
	}, linear(func(g *Var) *Var { return scatterAddTo(g, x.Shape(), axis, idx, shape) }), x), idx
}
