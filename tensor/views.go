package tensor

import "fmt"

// Reshape returns a tensor with the same elements in row-major order and a new
// shape; one dimension may be -1 and is inferred. It is a view when t is
// contiguous and a copy otherwise.
func (t *Tensor) Reshape(shape ...int) *Tensor {
	shape = InferShape(t.Numel(), shape)
	c := t.Contiguous()
	return c.view(shape, contiguousStrides(shape), c.offset)
}

// InferShape resolves a single -1 in shape so that it holds n elements,
// panicking when that is impossible.
func InferShape(n int, shape []int) []int {
	shape = append([]int(nil), shape...)
	infer := -1
	p := 1
	for i, d := range shape {
		switch {
		case d == -1 && infer < 0:
			infer = i
		case d < 0:
			panic(fmt.Sprintf("tensor: invalid shape %v", shape))
		default:
			p *= d
		}
	}
	if infer >= 0 {
		if p == 0 || n%p != 0 {
			panic(fmt.Sprintf("tensor: cannot reshape %d elements to %v", n, shape))
		}
		shape[infer] = n / p
		p = n
	}
	if p != n {
		panic(fmt.Sprintf("tensor: cannot reshape %d elements to %v", n, shape))
	}
	return shape
}

// Slice returns the view of t with dimension dim restricted to [start, end).
// Negative start and end count from the end of the dimension.
func (t *Tensor) Slice(dim, start, end int) *Tensor {
	dim = t.axis(dim)
	n := t.shape[dim]
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	if start < 0 || end > n || start > end {
		panic(fmt.Sprintf("tensor: slice [%d, %d) out of range for dimension %d of shape %v", start, end, dim, t.shape))
	}
	shape := append([]int(nil), t.shape...)
	shape[dim] = end - start
	return t.view(shape, append([]int(nil), t.strides...), t.offset+start*t.strides[dim])
}

// Transpose returns the view of t with dimensions d0 and d1 swapped.
func (t *Tensor) Transpose(d0, d1 int) *Tensor {
	d0, d1 = t.axis(d0), t.axis(d1)
	perm := make([]int, len(t.shape))
	for i := range perm {
		perm[i] = i
	}
	perm[d0], perm[d1] = d1, d0
	return t.Permute(perm...)
}

// Permute returns the view of t whose dimension i is t's dimension perm[i].
func (t *Tensor) Permute(perm ...int) *Tensor {
	if len(perm) != len(t.shape) {
		panic(fmt.Sprintf("tensor: permutation %v for shape %v", perm, t.shape))
	}
	seen := make([]bool, len(perm))
	shape := make([]int, len(perm))
	strides := make([]int, len(perm))
	for i, p := range perm {
		p = t.axis(p)
		if seen[p] {
			panic(fmt.Sprintf("tensor: %v is not a permutation", perm))
		}
		seen[p] = true
		shape[i] = t.shape[p]
		strides[i] = t.strides[p]
	}
	return t.view(shape, strides, t.offset)
}

// InversePerm returns the permutation that undoes perm.
func InversePerm(perm []int) []int {
	inv := make([]int, len(perm))
	for i, p := range perm {
		inv[NormAxis(p, len(perm))] = i
	}
	return inv
}

// Expand returns a broadcast view of t with the given shape: dimensions of
// size 1 are repeated with stride 0 and new leading dimensions are added, as
// in NumPy broadcasting. A -1 keeps the existing size.
func (t *Tensor) Expand(shape ...int) *Tensor {
	nd := len(shape)
	if nd < len(t.shape) {
		panic(fmt.Sprintf("tensor: cannot expand shape %v to %v", t.shape, shape))
	}
	out := make([]int, nd)
	strides := make([]int, nd)
	lead := nd - len(t.shape)
	for i := 0; i < nd; i++ {
		if i < lead {
			if shape[i] < 0 {
				panic(fmt.Sprintf("tensor: cannot expand shape %v to %v", t.shape, shape))
			}
			out[i] = shape[i]
			continue
		}
		src := t.shape[i-lead]
		want := shape[i]
		if want == -1 {
			want = src
		}
		switch {
		case src == want:
			strides[i] = t.strides[i-lead]
		case src == 1:
			strides[i] = 0
		default:
			panic(fmt.Sprintf("tensor: cannot expand shape %v to %v", t.shape, shape))
		}
		out[i] = want
	}
	return t.view(out, strides, t.offset)
}

// Unsqueeze returns a view with a new dimension of size 1 at position dim
// (negative dim counts from the end of the result).
func (t *Tensor) Unsqueeze(dim int) *Tensor {
	dim = NormAxis(dim, len(t.shape)+1)
	shape := append(append(append([]int(nil), t.shape[:dim]...), 1), t.shape[dim:]...)
	st := 1
	if dim < len(t.shape) {
		st = t.strides[dim] * t.shape[dim]
	}
	strides := append(append(append([]int(nil), t.strides[:dim]...), st), t.strides[dim:]...)
	return t.view(shape, strides, t.offset)
}

// Squeeze returns a view without dimension dim, which must have size 1.
func (t *Tensor) Squeeze(dim int) *Tensor {
	dim = t.axis(dim)
	if t.shape[dim] != 1 {
		panic(fmt.Sprintf("tensor: cannot squeeze dimension %d of shape %v", dim, t.shape))
	}
	shape := append(append([]int(nil), t.shape[:dim]...), t.shape[dim+1:]...)
	strides := append(append([]int(nil), t.strides[:dim]...), t.strides[dim+1:]...)
	return t.view(shape, strides, t.offset)
}

// BroadcastShapes returns the NumPy broadcast of the given shapes, or an error
// naming them when they are incompatible.
func BroadcastShapes(shapes ...[]int) ([]int, error) {
	nd := 0
	for _, s := range shapes {
		nd = max(nd, len(s))
	}
	out := make([]int, nd)
	for i := range out {
		out[i] = 1
	}
	for _, s := range shapes {
		lead := nd - len(s)
		for i, d := range s {
			o := out[lead+i]
			switch {
			case o == d || d == 1:
			case o == 1:
				out[lead+i] = d
			default:
				return nil, fmt.Errorf("tensor: shapes %v do not broadcast", shapes)
			}
		}
	}
	return out, nil
}
