package tensor

import (
	"fmt"
	"math"
	"sort"
)

// Concat joins tensors along dim; all other dimensions must match.
func Concat(dim int, xs ...*Tensor) *Tensor {
	if len(xs) == 0 {
		panic("tensor: Concat of nothing")
	}
	dim = xs[0].axis(dim)
	shape := append([]int(nil), xs[0].shape...)
	shape[dim] = 0
	for _, x := range xs {
		if x.NDim() != len(shape) || x.dtype != xs[0].dtype {
			panic(fmt.Sprintf("tensor: Concat of %v and %v", xs[0].shape, x.shape))
		}
		for i, d := range x.shape {
			if i != dim && d != shape[i] {
				panic(fmt.Sprintf("tensor: Concat along %d of %v and %v", dim, xs[0].shape, x.shape))
			}
		}
		shape[dim] += x.shape[dim]
	}
	out := New(xs[0].dtype, shape...)
	at := 0
	for _, x := range xs {
		out.Slice(dim, at, at+x.shape[dim]).CopyFrom(x)
		at += x.shape[dim]
	}
	return out
}

// Split returns views of x cut along dim into pieces of the given sizes,
// which must add up to the dimension.
func Split(x *Tensor, dim int, sizes ...int) []*Tensor {
	dim = x.axis(dim)
	total := 0
	for _, s := range sizes {
		total += s
	}
	if total != x.shape[dim] {
		panic(fmt.Sprintf("tensor: Split sizes %v do not add up to dimension %d of shape %v", sizes, dim, x.shape))
	}
	out := make([]*Tensor, len(sizes))
	at := 0
	for i, s := range sizes {
		out[i] = x.Slice(dim, at, at+s)
		at += s
	}
	return out
}

// checkIndex panics with a clear message when i is not in [0, n).
func checkIndex(i, n int, what string) {
	if i < 0 || i >= n {
		panic(fmt.Sprintf("tensor: %s index %d out of range [0, %d)", what, i, n))
	}
}

// IndexSelect returns the entries of x at positions idx along dim (the
// dimension becomes len(idx) long).
func IndexSelect(x *Tensor, dim int, idx []int) *Tensor {
	dim = x.axis(dim)
	c := x.Contiguous()
	outer, n, inner := splitAxis(x.shape, dim)
	shape := append([]int(nil), x.shape...)
	shape[dim] = len(idx)
	out := New(x.dtype, shape...)
	for _, i := range idx {
		checkIndex(i, n, "IndexSelect")
	}
	if x.dtype == Float32 {
		indexSelect(out.f32, c.F32(), idx, outer, n, inner)
	} else {
		indexSelect(out.f64, c.F64(), idx, outer, n, inner)
	}
	return out
}

func indexSelect[T Float](dst, src []T, idx []int, outer, n, inner int) {
	k := len(idx)
	for o := 0; o < outer; o++ {
		for j, i := range idx {
			copy(dst[(o*k+j)*inner:(o*k+j+1)*inner], src[(o*n+i)*inner:(o*n+i+1)*inner])
		}
	}
}

// IndexAdd adds src's slices along dim into x at positions idx (repeated
// positions accumulate): the adjoint of IndexSelect. x must be contiguous.
func IndexAdd(x *Tensor, dim int, idx []int, src *Tensor) {
	dim = x.axis(dim)
	outer, n, inner := splitAxis(x.shape, dim)
	s := src.Contiguous()
	for _, i := range idx {
		checkIndex(i, n, "IndexAdd")
	}
	if x.dtype == Float32 {
		indexAdd(x.F32(), s.F32(), idx, outer, n, inner)
	} else {
		indexAdd(x.F64(), s.F64(), idx, outer, n, inner)
	}
}

func indexAdd[T Float](dst, src []T, idx []int, outer, n, inner int) {
	k := len(idx)
	for o := 0; o < outer; o++ {
		for j, i := range idx {
			d := dst[(o*n+i)*inner : (o*n+i+1)*inner]
			for c, v := range src[(o*k+j)*inner : (o*k+j+1)*inner] {
				d[c] += v
			}
		}
	}
}

// Embedding gathers rows of weight [V, D] for ids and returns them with shape
// [shape..., D] (shape defaults to [len(ids)]).
func Embedding(weight *Tensor, ids []int, shape ...int) *Tensor {
	if weight.NDim() != 2 {
		panic(fmt.Sprintf("tensor: embedding weight has shape %v, want [vocab, dim]", weight.shape))
	}
	if shape == nil {
		shape = []int{len(ids)}
	}
	if numelOf(shape) != len(ids) {
		panic(fmt.Sprintf("tensor: %d ids do not fill shape %v", len(ids), shape))
	}
	var out *Tensor
	if weight.dtype.Packed() {
		out = packedRows(weight, ids)
	} else {
		out = IndexSelect(weight, 0, ids)
	}
	return out.Reshape(append(append([]int(nil), shape...), weight.shape[1])...)
}

// Gather returns out with out[i₀…i_dim…] = x[i₀…idx[i₀…i_dim…]…] along dim, as
// torch.gather; idx has shape idxShape, with x's rank and sizes no larger
// than x's outside dim.
func Gather(x *Tensor, dim int, idx []int, idxShape []int) *Tensor {
	dim = x.axis(dim)
	if len(idxShape) != x.NDim() || numelOf(idxShape) != len(idx) {
		panic(fmt.Sprintf("tensor: Gather index shape %v (%d indices) for input %v", idxShape, len(idx), x.shape))
	}
	for i, d := range idxShape {
		if i != dim && d > x.shape[i] {
			panic(fmt.Sprintf("tensor: Gather index shape %v exceeds input %v at dimension %d", idxShape, x.shape, i))
		}
	}
	out := New(x.dtype, idxShape...)
	forEachGather(x, dim, idx, idxShape, func(i, o int) {
		if x.dtype == Float32 {
			out.f32[i] = x.f32[o]
		} else {
			out.f64[i] = x.f64[o]
		}
	})
	return out
}

// ScatterAdd adds src (shaped like idx) into the contiguous x along dim at
// the positions given by idx: the adjoint of Gather.
func ScatterAdd(x *Tensor, dim int, idx []int, idxShape []int, src *Tensor) {
	dim = x.axis(dim)
	s := src.Contiguous()
	forEachGather(x, dim, idx, idxShape, func(i, o int) {
		if x.dtype == Float32 {
			x.f32[o] += s.F32()[i]
		} else {
			x.f64[o] += s.F64()[i]
		}
	})
}

// forEachGather calls f(i, o) for each index position i (row-major over
// idxShape) and the storage offset o in x it selects.
func forEachGather(x *Tensor, dim int, idx []int, idxShape []int, f func(i, o int)) {
	nd := len(idxShape)
	pos := make([]int, nd)
	n := x.shape[dim]
	for i := range idx {
		o := x.offset
		for d := 0; d < nd; d++ {
			p := pos[d]
			if d == dim {
				p = idx[i]
				checkIndex(p, n, "Gather")
			}
			o += p * x.strides[d]
		}
		f(i, o)
		for d := nd - 1; d >= 0; d-- {
			pos[d]++
			if pos[d] < idxShape[d] {
				break
			}
			pos[d] = 0
		}
	}
}

// Where returns a where cond is nonzero and b elsewhere, all three
// broadcasting together.
func Where(cond, a, b *Tensor) *Tensor {
	shape, err := BroadcastShapes(cond.shape, a.shape, b.shape)
	if err != nil {
		panic(err.Error())
	}
	if a.dtype != b.dtype {
		panic("tensor: Where of different dtypes")
	}
	ce := cond.Expand(shape...).Contiguous()
	ae := a.Expand(shape...).Contiguous()
	be := b.Expand(shape...).Contiguous()
	out := New(a.dtype, shape...)
	if a.dtype == Float32 {
		where(out.f32, ce, ae.F32(), be.F32())
	} else {
		where(out.f64, ce, ae.F64(), be.F64())
	}
	return out
}

func where[T Float](dst []T, cond *Tensor, a, b []T) {
	cs := cond.Float64s()
	for i := range dst {
		if cs[i] != 0 {
			dst[i] = a[i]
		} else {
			dst[i] = b[i]
		}
	}
}

// MaskedFill returns x with value wherever mask (broadcast to x) is nonzero.
func MaskedFill(x, mask *Tensor, value float64) *Tensor {
	return Where(mask, ScalarLike(x, value).Expand(x.shape...), x)
}

// Cumsum returns the running sum along axis (accumulated in float64).
func Cumsum(x *Tensor, axis int) *Tensor { return cumsumOp(x, axis, false) }

// ReverseCumsum returns the running sum from the end along axis: the adjoint
// of Cumsum.
func ReverseCumsum(x *Tensor, axis int) *Tensor { return cumsumOp(x, axis, true) }

func cumsumOp(x *Tensor, axis int, reverse bool) *Tensor {
	axis = x.axis(axis)
	c := x.Contiguous()
	out := New(x.dtype, x.shape...)
	outer, n, inner := splitAxis(x.shape, axis)
	if x.dtype == Float32 {
		cumsum(out.f32, c.F32(), outer, n, inner, reverse)
	} else {
		cumsum(out.f64, c.F64(), outer, n, inner, reverse)
	}
	return out
}

func cumsum[T Float](dst, src []T, outer, n, inner int, reverse bool) {
	for o := 0; o < outer; o++ {
		for j := 0; j < inner; j++ {
			var acc float64
			for k := 0; k < n; k++ {
				kk := k
				if reverse {
					kk = n - 1 - k
				}
				p := (o*n+kk)*inner + j
				acc += float64(src[p])
				dst[p] = T(acc)
			}
		}
	}
}

// TopK returns the k largest (or smallest) entries along axis in descending
// (ascending) order, and their positions along axis. Ties keep the lower
// position first; NaN counts as larger than every number, as in PyTorch.
func TopK(x *Tensor, k, axis int, largest bool) (*Tensor, []int) {
	axis = x.axis(axis)
	n := x.shape[axis]
	if k < 0 || k > n {
		panic(fmt.Sprintf("tensor: TopK k=%d for dimension of size %d", k, n))
	}
	c := x.Contiguous()
	outer, _, inner := splitAxis(x.shape, axis)
	shape := append([]int(nil), x.shape...)
	shape[axis] = k
	out := New(x.dtype, shape...)
	idx := make([]int, numelOf(shape))
	vals := c.Float64s()
	order := make([]int, n)
	less := func(va, vb float64) bool { // does a come before b?
		an, bn := va != va, vb != vb
		if an || bn {
			return an && !bn // NaN is the largest
		}
		return va > vb
	}
	for o := 0; o < outer; o++ {
		for j := 0; j < inner; j++ {
			at := func(i int) float64 { return vals[(o*n+i)*inner+j] }
			for i := range order {
				order[i] = i
			}
			sort.SliceStable(order, func(a, b int) bool {
				va, vb := at(order[a]), at(order[b])
				if largest {
					return less(va, vb)
				}
				return less(vb, va) && !(math.IsNaN(va) && math.IsNaN(vb))
			})
			for r := 0; r < k; r++ {
				p := (o*k+r)*inner + j
				idx[p] = order[r]
				if out.dtype == Float32 {
					out.f32[p] = float32(at(order[r]))
				} else {
					out.f64[p] = at(order[r])
				}
			}
		}
	}
	return out, idx
}
