package tensor

import (
	"fmt"

	"github.com/loomml/loom/internal/kernels"
)

// HalfRows is a strided float16 view for attention's keys and values in
// an f16 key/value cache (as llama.cpp keeps its cache): [B, H, S, D]
// elements of raw (IEEE halves, little-endian), element (b, h, s, d) at
// index offset + b·strides[0] + h·strides[1] + s·strides[2] + d (the last
// dimension contiguous). FlashAttentionWith reads it in place of a
// float32 k or v; anything else widens it first (Float32).
type HalfRows struct {
	raw     []byte
	shape   [4]int
	strides [3]int
	offset  int
}

// NewHalfRows returns the view, checking that it lies inside raw.
func NewHalfRows(raw []byte, offset int, shape [4]int, strides [3]int) (*HalfRows, error) {
	last := offset
	for i, n := range shape {
		if n < 0 || offset < 0 {
			return nil, fmt.Errorf("tensor: half rows of shape %v at offset %d", shape, offset)
		}
		if n == 0 {
			return &HalfRows{raw: raw, shape: shape, strides: strides, offset: offset}, nil
		}
		if i < 3 {
			last += (n - 1) * strides[i]
		} else {
			last += n - 1
		}
	}
	if 2*(last+1) > len(raw) {
		return nil, fmt.Errorf("tensor: half rows of shape %v, strides %v at offset %d need %d bytes, have %d", shape, strides, offset, 2*(last+1), len(raw))
	}
	return &HalfRows{raw: raw, shape: shape, strides: strides, offset: offset}, nil
}

// Shape returns [B, H, S, D].
func (h *HalfRows) Shape() []int { return h.shape[:] }

// rows returns the bytes of rows s0…s1−1 of (b, head), which are contiguous
// when strides[2] = D.
func (h *HalfRows) rows(b, head, s0, s1 int) []byte {
	o := h.offset + b*h.strides[0] + head*h.strides[1] + s0*h.strides[2]
	return h.raw[2*o : 2*(o+(s1-s0-1)*h.strides[2]+h.shape[3])]
}

// widenRows writes rows s0…s1−1 of (b, head) to dst as float32, D values
// per row, exactly.
func (h *HalfRows) widenRows(dst []float32, b, head, s0, s1 int) {
	D := h.shape[3]
	if h.strides[2] == D {
		kernels.Widen(kernels.F16, dst[:(s1-s0)*D], h.rows(b, head, s0, s1))
		return
	}
	for s := s0; s < s1; s++ {
		kernels.Widen(kernels.F16, dst[(s-s0)*D:(s-s0+1)*D], h.rows(b, head, s, s+1))
	}
}

// Float32 returns the view widened to a contiguous float32 tensor.
func (h *HalfRows) Float32() *Tensor {
	B, H, S, D := h.shape[0], h.shape[1], h.shape[2], h.shape[3]
	out := uninit(Float32, B, H, S, D) // every row written below
	if S == 0 || D == 0 {
		return out
	}
	for b := range B {
		for hd := range H {
			h.widenRows(out.f32[(b*H+hd)*S*D:], b, hd, 0, S)
		}
	}
	return out
}

// StoreHalf writes x [B, H, T, D] (float32, any strides with the last
// dimension contiguous, as a head split of a projection is) rounded to
// IEEE halves (kernels.Narrow) into positions s0 … s0+T−1 of raw, a
// [B, H, capacity, D] store: row by row from x's memory, without a
// contiguous copy first, the heads in parallel.
func StoreHalf(raw []byte, capacity, s0 int, x *Tensor) {
	if x.dtype != Float32 || x.NDim() != 4 {
		panic(fmt.Sprintf("tensor: StoreHalf of a %v %v tensor", x.dtype, x.shape))
	}
	B, H, T, D := x.shape[0], x.shape[1], x.shape[2], x.shape[3]
	if s0 < 0 || s0+T > capacity || len(raw) < 2*B*H*capacity*D {
		panic(fmt.Sprintf("tensor: StoreHalf of %v at position %d into %d bytes of capacity %d", x.shape, s0, len(raw), capacity))
	}
	if D > 1 && x.strides[3] != 1 {
		x = x.Contiguous()
	}
	xs := x.f32
	store := func(bh int) {
		b, h := bh/H, bh%H
		for t := range T {
			src := x.offset + b*x.strides[0] + h*x.strides[1] + t*x.strides[2]
			dst := (bh*capacity + s0 + t) * D
			kernels.Narrow(kernels.F16, raw[2*dst:2*(dst+D)], xs[src:src+D])
		}
	}
	if B*H > 1 && B*H*T*D >= 1<<15 {
		kernels.Parallel(B*H, store)
		return
	}
	for bh := range B * H {
		store(bh)
	}
}
