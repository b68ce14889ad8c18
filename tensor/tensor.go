package tensor

import (
	"fmt"
	"strings"

	"github.com/loomml/loom/dtype"
	"github.com/loomml/loom/internal/kernels"
)

// DType is the element type of a tensor's storage: a row of package
// dtype's table, the one table of weight types.
type DType = dtype.DType

const (
	// Float32 is the working precision of every model.
	Float32 = dtype.Float32
	// Float64 is used by gradient checks and by analyses that need it.
	Float64 = dtype.Float64
)

// Float is the set of Go element types a Tensor can hold.
type Float interface{ ~float32 | ~float64 }

// Tensor is a dense n-dimensional array of float32 or float64 elements.
//
// A tensor is a view on storage: shape, strides (in elements) and an offset.
// Views made by Slice, Transpose, Permute, Expand and (for contiguous tensors)
// Reshape share storage with their source; writes through one are seen by the
// other. Operations return new contiguous tensors unless documented as views.
// A zero-dimensional tensor (shape []) is a scalar with one element.
type Tensor struct {
	dtype   DType
	f32     []float32
	f64     []float64
	shape   []int
	strides []int
	offset  int
	raw     []byte // storage of packed dtypes (lowp.go)
	empty   bool   // a placeholder without storage (Empty)
}

// numelOf returns the product of shape, panicking on negative dimensions.
func numelOf(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("tensor: negative dimension in shape %v", shape))
		}
		n *= d
	}
	return n
}

// contiguousStrides returns row-major strides for shape.
func contiguousStrides(shape []int) []int {
	st := make([]int, len(shape))
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = s
		s *= shape[i]
	}
	return st
}

// New returns a zero-filled contiguous tensor of the given dtype and shape.
func New(dt DType, shape ...int) *Tensor {
	n := numelOf(shape)
	t := &Tensor{dtype: dt, shape: append([]int(nil), shape...), strides: contiguousStrides(shape)}
	switch dt {
	case Float32:
		t.f32 = make([]float32, n)
	case Float64:
		t.f64 = make([]float64, n)
	default:
		panic(fmt.Sprintf("tensor: unsupported dtype %v", dt))
	}
	return t
}

// Empty returns a tensor of the given dtype and shape with no storage, a
// placeholder (PyTorch's "meta" tensor) that a loader replaces before use:
// only its dtype and shape may be read; any element access panics. Models
// are built with empty weights so that loading a checkpoint allocates each
// tensor once, in the precision asked for.
func Empty(dt DType, shape ...int) *Tensor {
	numelOf(shape)
	return &Tensor{dtype: dt, shape: append([]int(nil), shape...), strides: contiguousStrides(shape), empty: true}
}

// IsEmpty reports whether t is a storage-less placeholder made by Empty.
func (t *Tensor) IsEmpty() bool { return t.empty }

// Zeros returns a zero-filled float32 tensor.
func Zeros(shape ...int) *Tensor { return New(Float32, shape...) }

// Full returns a float32 tensor with every element set to v.
func Full(v float32, shape ...int) *Tensor {
	t := Zeros(shape...)
	for i := range t.f32 {
		t.f32[i] = v
	}
	return t
}

// Ones returns a float32 tensor of ones.
func Ones(shape ...int) *Tensor { return Full(1, shape...) }

// Scalar returns a zero-dimensional float32 tensor holding v.
func Scalar(v float32) *Tensor { return FromFloat32([]float32{v}) }

// FromFloat32 wraps data (not copied) as a contiguous tensor of the given
// shape; with no shape it is a 1-D tensor of len(data) elements.
func FromFloat32(data []float32, shape ...int) *Tensor {
	if shape == nil {
		if len(data) == 1 {
			shape = []int{}
		} else {
			shape = []int{len(data)}
		}
	}
	if numelOf(shape) != len(data) {
		panic(fmt.Sprintf("tensor: %d elements do not fill shape %v", len(data), shape))
	}
	return &Tensor{dtype: Float32, f32: data, shape: append([]int{}, shape...), strides: contiguousStrides(shape)}
}

// FromFloat64 wraps data (not copied) as a contiguous float64 tensor.
func FromFloat64(data []float64, shape ...int) *Tensor {
	if shape == nil {
		if len(data) == 1 {
			shape = []int{}
		} else {
			shape = []int{len(data)}
		}
	}
	if numelOf(shape) != len(data) {
		panic(fmt.Sprintf("tensor: %d elements do not fill shape %v", len(data), shape))
	}
	return &Tensor{dtype: Float64, f64: data, shape: append([]int{}, shape...), strides: contiguousStrides(shape)}
}

// ZerosLike returns a zero tensor with x's dtype and shape.
func ZerosLike(x *Tensor) *Tensor { return New(x.dtype, x.shape...) }

// DType returns the element type.
func (t *Tensor) DType() DType { return t.dtype }

// Shape returns the shape. The slice must not be modified.
func (t *Tensor) Shape() []int { return t.shape }

// Strides returns the strides in elements. The slice must not be modified.
func (t *Tensor) Strides() []int { return t.strides }

// Offset returns the position of the first element in the storage.
func (t *Tensor) Offset() int { return t.offset }

// NDim returns the number of dimensions.
func (t *Tensor) NDim() int { return len(t.shape) }

// Numel returns the number of elements.
func (t *Tensor) Numel() int { return numelOf(t.shape) }

// Dim returns the size of dimension d; negative d counts from the end.
func (t *Tensor) Dim(d int) int { return t.shape[t.axis(d)] }

// axis normalises a possibly negative axis, panicking when out of range.
func (t *Tensor) axis(d int) int {
	return NormAxis(d, len(t.shape))
}

// NormAxis maps a possibly negative axis d of an n-dimensional tensor to
// [0, n), panicking when it is out of range.
func NormAxis(d, n int) int {
	if d < 0 {
		d += n
	}
	if d < 0 || d >= n {
		panic(fmt.Sprintf("tensor: axis out of range for %d dimensions", n))
	}
	return d
}

// IsContiguous reports whether the elements are laid out row-major without
// gaps starting at the offset.
func (t *Tensor) IsContiguous() bool {
	s := 1
	for i := len(t.shape) - 1; i >= 0; i-- {
		if t.shape[i] != 1 && t.strides[i] != s {
			return false
		}
		s *= t.shape[i]
	}
	return true
}

// SameShape reports whether a and b have equal shapes.
func SameShape(a, b *Tensor) bool { return EqualShape(a.shape, b.shape) }

// EqualShape reports whether two shapes are equal.
func EqualShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// F32 returns the elements of a contiguous float32 tensor as a slice aliasing
// its storage. It panics for other dtypes or non-contiguous views (call
// Contiguous first).
func (t *Tensor) F32() []float32 {
	if t.dtype != Float32 {
		panic("tensor: F32 on a " + t.dtype.String() + " tensor")
	}
	if !t.IsContiguous() {
		panic("tensor: F32 on a non-contiguous view; call Contiguous first")
	}
	return t.f32[t.offset : t.offset+t.Numel()]
}

// F64 is F32 for float64 tensors.
func (t *Tensor) F64() []float64 {
	if t.dtype != Float64 {
		panic("tensor: F64 on a " + t.dtype.String() + " tensor")
	}
	if !t.IsContiguous() {
		panic("tensor: F64 on a non-contiguous view; call Contiguous first")
	}
	return t.f64[t.offset : t.offset+t.Numel()]
}

// Data returns the elements of a contiguous tensor whose dtype matches T,
// aliasing its storage. It is the generic form of F32 and F64.
func Data[T Float](t *Tensor) []T {
	var z T
	switch any(z).(type) {
	case float32:
		return any(t.F32()).([]T)
	case float64:
		return any(t.F64()).([]T)
	}
	panic("tensor: unsupported element type")
}

// storage returns the whole backing slice as []T.
func storage[T Float](t *Tensor) []T {
	var z T
	switch any(z).(type) {
	case float32:
		if t.dtype != Float32 {
			panic("tensor: dtype mismatch: want float32, have " + t.dtype.String())
		}
		return any(t.f32).([]T)
	default:
		if t.dtype != Float64 {
			panic("tensor: dtype mismatch: want float64, have " + t.dtype.String())
		}
		return any(t.f64).([]T)
	}
}

// dtypeOf returns the DType for the Go type T.
func dtypeOf[T Float]() DType {
	var z T
	if _, ok := any(z).(float32); ok {
		return Float32
	}
	return Float64
}

// newT returns a zero contiguous tensor with element type T.
func newT[T Float](shape ...int) *Tensor { return New(dtypeOf[T](), shape...) }

// offsetOf returns the storage index of the element at idx.
func (t *Tensor) offsetOf(idx []int) int {
	if len(idx) != len(t.shape) {
		panic(fmt.Sprintf("tensor: %d indices for shape %v", len(idx), t.shape))
	}
	o := t.offset
	for i, v := range idx {
		if v < 0 {
			v += t.shape[i]
		}
		if v < 0 || v >= t.shape[i] {
			panic(fmt.Sprintf("tensor: index %v out of range for shape %v", idx, t.shape))
		}
		o += v * t.strides[i]
	}
	return o
}

// At returns the element at idx (negative indices count from the end).
func (t *Tensor) At(idx ...int) float64 {
	o := t.offsetOf(idx)
	if t.dtype == Float32 {
		return float64(t.f32[o])
	}
	return t.f64[o]
}

// Set stores v at idx.
func (t *Tensor) Set(v float64, idx ...int) {
	o := t.offsetOf(idx)
	if t.dtype == Float32 {
		t.f32[o] = float32(v)
	} else {
		t.f64[o] = v
	}
}

// Item returns the only element of a one-element tensor.
func (t *Tensor) Item() float64 {
	if t.Numel() != 1 {
		panic(fmt.Sprintf("tensor: Item on shape %v", t.shape))
	}
	if t.dtype == Float32 {
		return float64(t.f32[t.offset])
	}
	return t.f64[t.offset]
}

// view returns a tensor sharing t's storage with a new geometry.
func (t *Tensor) view(shape, strides []int, offset int) *Tensor {
	if t.raw != nil {
		panic("tensor: views of " + t.dtype.String() + " tensors are not supported")
	}
	return &Tensor{dtype: t.dtype, f32: t.f32, f64: t.f64, shape: shape, strides: strides, offset: offset}
}

// Contiguous returns t if it is contiguous, else a contiguous copy.
func (t *Tensor) Contiguous() *Tensor {
	if t.IsContiguous() {
		return t
	}
	return t.Clone()
}

// Clone returns a contiguous copy of t.
func (t *Tensor) Clone() *Tensor {
	out := uninit(t.dtype, t.shape...)
	if t.dtype == Float32 {
		copyStrided(out.f32, t.f32, t.offset, t.shape, t.strides)
	} else {
		copyStrided(out.f64, t.f64, t.offset, t.shape, t.strides)
	}
	return out
}

// CopyFrom copies src's elements into t (shapes must match; either may be a
// view; src may broadcast to t's shape).
func (t *Tensor) CopyFrom(src *Tensor) {
	if t.dtype != src.dtype {
		panic("tensor: CopyFrom between dtypes " + t.dtype.String() + " and " + src.dtype.String())
	}
	if !SameShape(t, src) {
		src = src.Expand(t.shape...)
	}
	if t.IsContiguous() {
		if t.dtype == Float32 {
			copyStrided(t.F32(), src.f32, src.offset, src.shape, src.strides)
		} else {
			copyStrided(t.F64(), src.f64, src.offset, src.shape, src.strides)
		}
		return
	}
	c := src.Contiguous()
	if nd := len(t.shape); nd > 1 && t.strides[nd-1] == 1 {
		// Rows contiguous (a KV cache's new positions, say): copy row by row.
		w := t.shape[nd-1]
		forEachOffset(t.shape[:nd-1], t.strides[:nd-1], t.offset, func(i, o int) {
			if t.dtype == Float32 {
				copy(t.f32[o:o+w], c.f32[c.offset+i*w:c.offset+(i+1)*w])
			} else {
				copy(t.f64[o:o+w], c.f64[c.offset+i*w:c.offset+(i+1)*w])
			}
		})
		return
	}
	forEachOffset(t.shape, t.strides, t.offset, func(i, o int) {
		if t.dtype == Float32 {
			t.f32[o] = c.f32[c.offset+i]
		} else {
			t.f64[o] = c.f64[c.offset+i]
		}
	})
}

// copyStrided gathers the strided view (src, off, shape, strides) into the
// contiguous dst.
func copyStrided[T Float](dst, src []T, off int, shape, strides []int) {
	if n := len(dst); n > 2*parallelChunk && len(shape) > 1 && shape[0] > 1 && kernels.Threads() > 1 {
		// Large copies: split the leading dimension across threads.
		per := n / shape[0]
		kernels.Parallel(shape[0], func(i int) {
			copyStridedSerial(dst[i*per:(i+1)*per], src, off+i*strides[0], shape[1:], strides[1:])
		})
		return
	}
	copyStridedSerial(dst, src, off, shape, strides)
}

// copyStridedSerial is copyStrided on the calling goroutine.
func copyStridedSerial[T Float](dst, src []T, off int, shape, strides []int) {
	nd := len(shape)
	if nd == 0 {
		if len(dst) > 0 {
			dst[0] = src[off]
		}
		return
	}
	n := len(dst)
	if n == 0 {
		return
	}
	inner := shape[nd-1]
	is := strides[nd-1]
	idx := make([]int, nd)
	o := off
	for i := 0; i < n; i += inner {
		row := dst[i : i+inner]
		if is == 1 {
			copy(row, src[o:o+inner])
		} else {
			for j := range row {
				row[j] = src[o+j*is]
			}
		}
		// advance the odometer over all but the last dim
		for d := nd - 2; d >= 0; d-- {
			idx[d]++
			o += strides[d]
			if idx[d] < shape[d] {
				break
			}
			o -= idx[d] * strides[d]
			idx[d] = 0
		}
	}
}

// forEachOffset calls f(i, o) for the i-th element in row-major order and its
// storage offset o.
func forEachOffset(shape, strides []int, off int, f func(i, o int)) {
	n := numelOf(shape)
	nd := len(shape)
	idx := make([]int, nd)
	o := off
	for i := 0; i < n; i++ {
		f(i, o)
		for d := nd - 1; d >= 0; d-- {
			idx[d]++
			o += strides[d]
			if idx[d] < shape[d] {
				break
			}
			o -= idx[d] * strides[d]
			idx[d] = 0
		}
	}
}

// To returns t converted to dtype dt (t itself when it already has dt).
func (t *Tensor) To(dt DType) *Tensor {
	if t.dtype == dt {
		return t
	}
	if dt.Packed() {
		return Pack(t, dt)
	}
	if t.dtype.Packed() {
		return t.widen().To(dt)
	}
	c := t.Contiguous()
	out := uninit(dt, t.shape...)
	if dt == Float64 {
		for i, v := range c.F32() {
			out.f64[i] = float64(v)
		}
	} else {
		for i, v := range c.F64() {
			out.f32[i] = float32(v)
		}
	}
	return out
}

// Float64s returns a fresh copy of the elements as float64, in row-major order.
func (t *Tensor) Float64s() []float64 {
	c := t.Contiguous()
	out := make([]float64, c.Numel())
	if c.dtype == Float32 {
		for i, v := range c.F32() {
			out[i] = float64(v)
		}
	} else {
		copy(out, c.F64())
	}
	return out
}

// Float32s returns a fresh copy of the elements as float32, in row-major order.
func (t *Tensor) Float32s() []float32 {
	c := t.Contiguous()
	out := make([]float32, c.Numel())
	if c.dtype == Float32 {
		copy(out, c.F32())
	} else {
		for i, v := range c.F64() {
			out[i] = float32(v)
		}
	}
	return out
}

// String formats small tensors in full and large ones by shape only.
func (t *Tensor) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "Tensor(%v, %v", t.dtype, t.shape)
	if n := t.Numel(); n <= 64 {
		fmt.Fprintf(&sb, ", %v", t.Float64s())
	}
	sb.WriteString(")")
	return sb.String()
}
