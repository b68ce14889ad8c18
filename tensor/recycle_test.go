package tensor

import "testing"

// TestRecycle: a dead temporary's storage serves the next allocation of
// its size; views, small tensors and tensors sharing storage with a kept
// one are left alone.
func TestRecycle(t *testing.T) {
	n := recycleMin + 3
	a := uninit(Float32, n)
	p := &a.f32[0]
	Recycle(a)
	if a.f32 != nil {
		t.Fatal("a recycled tensor still holds its storage")
	}
	b := uninit(Float32, 1, n)
	if &b.f32[0] != p {
		t.Fatal("the next allocation of the same size did not reuse the storage")
	}
	for _, x := range b.f32 {
		if x == x { // poisoned with NaN in tests, like any uninit tensor
			t.Fatal("reused storage not poisoned")
		}
	}
	// Refused: a view, a small tensor, one sharing storage with a kept tensor.
	c := New(Float32, 2, n)
	v := c.Slice(0, 1, 2)
	Recycle(v)
	if v.f32 == nil {
		t.Fatal("a view was recycled")
	}
	small := New(Float32, 100)
	Recycle(small)
	if small.f32 == nil {
		t.Fatal("a small tensor was recycled")
	}
	d := New(Float32, n)
	Recycle(d, d.Reshape(1, n))
	if d.f32 == nil {
		t.Fatal("a tensor sharing storage with a kept one was recycled")
	}
	Recycle(nil)
}

// TestRecycleAll: views of one storage give it back once.
func TestRecycleAll(t *testing.T) {
	n := recycleMin
	a := uninit(Float32, 1, 1, n)
	v := a.Reshape(n) // a contiguous view of the same storage
	RecycleAll([]*Tensor{a, v})
	x, y := uninit(Float32, n), uninit(Float32, n)
	if &x.f32[0] == &y.f32[0] {
		t.Fatal("one storage was handed out twice")
	}
}
