package tensor

import "sync"

// Recycling: an inference forward pass allocates and drops the same large
// temporaries layer after layer (a 512-token prefill of a 134M model, ~35
// MB per layer). Left to the collector, part of that memory goes back to
// the OS between cycles and is faulted in again, page by page; on a
// virtual machine a page fault costs several µs, a good part of a prefill
// (docs/results/quant.md). Recycle hands a dead temporary's storage to the next
// float32 allocation of the same size instead (uninit), whose pages are
// already mapped.

// recycleMin is the smallest float32 tensor (elements) worth recycling.
const recycleMin = 1 << 16

// recycled holds free float32 storage by exact length.
var recycled sync.Map // int → *sync.Pool of *[]float32

// Recycle gives t's storage to later allocations of its size. The caller
// promises that neither t nor any view of its storage is used afterwards
// (nor any tensor sharing it: keep lists tensors that must stay valid, and
// t is left alone if it shares storage with one of them). Only contiguous
// float32 tensors that own their whole storage, of at least 64 Ki
// elements, are taken; others are left to the collector.
func Recycle(t *Tensor, keep ...*Tensor) {
	if !Recyclable(t) {
		return
	}
	for _, k := range keep {
		if k != nil && k.dtype == Float32 && len(k.f32) > 0 && overlap(k.f32, t.f32) {
			return
		}
	}
	s := t.f32
	t.f32 = nil // a use after Recycle fails loudly
	p, _ := recycled.LoadOrStore(len(s), &sync.Pool{})
	p.(*sync.Pool).Put(&s)
}

// Recyclable reports whether Recycle would take t's storage (ignoring
// keep): a contiguous float32 tensor of at least 64 Ki elements owning its
// whole storage. Callers test it before gathering anything to keep.
func Recyclable(t *Tensor) bool {
	return t != nil && t.dtype == Float32 && t.offset == 0 && len(t.f32) >= recycleMin && cap(t.f32) == len(t.f32) && t.IsContiguous() && numelOf(t.shape) == len(t.f32)
}

// overlap reports whether a's and b's backing memory intersect.
func overlap(a, b []float32) bool {
	a, b = a[:cap(a)], b[:cap(b)]
	pa, pb := &a[0], &b[0]
	ea, eb := &a[len(a)-1], &b[len(b)-1]
	return !(uintptrOf(ea) < uintptrOf(pb) || uintptrOf(eb) < uintptrOf(pa))
}

// reuse returns recycled storage of n float32 elements, or nil.
func reuse(n int) []float32 {
	if n < recycleMin {
		return nil
	}
	p, ok := recycled.Load(n)
	if !ok {
		return nil
	}
	if s, ok := p.(*sync.Pool).Get().(*[]float32); ok {
		return *s
	}
	return nil
}

// RecycleAll is Recycle for several dead tensors at once, any of which may
// be views of another (each storage is given back once, through the first
// tensor that owns it whole).
func RecycleAll(dead []*Tensor, keep ...*Tensor) {
	for i, t := range dead {
		if t == nil || len(t.f32) == 0 {
			continue
		}
		shared := false
		for _, u := range dead[:i] {
			if u != nil && len(u.f32) > 0 && overlap(u.f32, t.f32) {
				shared = true
				break
			}
		}
		if shared {
			continue
		}
		s := t.f32
		Recycle(t, keep...)
		if t.f32 == nil { // given back: its views must not give it again
			for _, u := range dead[i+1:] {
				if u != nil && len(u.f32) > 0 && overlap(u.f32, s) {
					u.f32 = nil
				}
			}
		}
	}
}
