package tensor

import (
	"math"
	"testing"
	"unsafe"
)

// Go zeroes every slice make returns. For a tensor that an operation is
// about to overwrite completely (a matrix product with beta 0, an
// elementwise map, a copy) that zeroing is wasted work done serially on the
// calling goroutine: about 6 s of CPU in a 42 s epoch of the temporal
// forecasting Transformer, whose [32, 8, 96, 96] attention tensors are
// allocated and filled several times per step. uninit allocates without it.
//
// The rule for callers: a tensor from uninit must have every element written
// before any is read. Test binaries (testing.Testing) fill such tensors
// with NaN instead, so that an operation breaking the rule fails every
// numeric test that reaches it rather than reading stale memory silently.

// mallocgc is the runtime's allocator (kept linkable for this use; see
// go.dev/issue/67401). With a nil type the memory is pointer-free and the
// collector never scans it; needzero false skips the clearing.
//
//go:linkname mallocgc runtime.mallocgc
func mallocgc(size uintptr, typ unsafe.Pointer, needzero bool) unsafe.Pointer

// poisonUninit is true in test binaries: see uninit.
var poisonUninit = testing.Testing()

// uninit returns a contiguous tensor of the given dtype and shape whose
// elements are unspecified (NaN in tests); the caller must write all of
// them before reading any.
func uninit(dt DType, shape ...int) *Tensor {
	n := numelOf(shape)
	t := &Tensor{dtype: dt, shape: append([]int(nil), shape...), strides: contiguousStrides(shape)}
	switch dt {
	case Float32:
		t.f32 = uninitSlice[float32](n)
	case Float64:
		t.f64 = uninitSlice[float64](n)
	default:
		return New(dt, shape...)
	}
	return t
}

// uintptrOf is p's address.
func uintptrOf(p *float32) uintptr { return uintptr(unsafe.Pointer(p)) }

// uninitSlice returns n elements of unspecified content (NaN in tests);
// small slices come from make, where clearing costs nothing worth avoiding.
func uninitSlice[T float32 | float64](n int) []T {
	var s []T
	if _, f32 := any(s).([]float32); f32 {
		if r := reuse(n); r != nil {
			s = any(r).([]T) // storage a dead temporary gave back (recycle.go)
		}
	}
	if s == nil {
		if size := uintptr(n) * unsafe.Sizeof(T(0)); n < 1024 || size/unsafe.Sizeof(T(0)) != uintptr(n) {
			s = make([]T, n)
		} else {
			s = unsafe.Slice((*T)(mallocgc(size, nil, false)), n)
		}
	}
	if poisonUninit {
		nan := T(math.NaN())
		for i := range s {
			s[i] = nan
		}
	}
	return s
}
