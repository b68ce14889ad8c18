package tensor

import (
	"fmt"

	"github.com/loomml/loom/dtype"
	"github.com/loomml/loom/internal/kernels"
	"github.com/loomml/loom/quant"
)

// Low-precision storage dtypes. A tensor of one of these dtypes is packed:
// contiguous, its rows (the last dimension) stored in the format, and it
// takes part in few operations: MatMul as the right operand (weights,
// widened to float32 per tile inside the product), Embedding (rows widened
// on lookup), To(Float32), Pack and the accessors. Activations and every
// other operation stay float32; anything else panics naming the dtype.
const (
	// BFloat16 stores each element as the top half of its float32.
	BFloat16 = dtype.BFloat16
	// Float16 is IEEE 754 half precision.
	Float16 = dtype.Float16
	// Q8_0 is ggml's 8-bit block format: blocks of 32 elements of a row,
	// each an f16 scale d and 32 int8 q (value d·q), 34 bytes per block.
	// Rows must hold a multiple of 32 elements.
	Q8_0 = dtype.Q8_0
)

// format returns the kernels format of a packed dtype (0 for others).
func format(d DType) kernels.Format { return d.Info().Kernel }

// ParseDType returns the dtype named s: float32 (f32), float64 (f64),
// bfloat16 (bf16), float16 (f16) or q8_0 — the types tensors hold.
func ParseDType(s string) (DType, error) {
	d, err := dtype.Parse(s)
	if err != nil || !d.Computable() {
		return 0, fmt.Errorf("unknown dtype %q (want f32, bf16, f16 or q8_0)", s)
	}
	return d, nil
}

// packedBytes returns the bytes of a packed tensor of shape.
func packedBytes(d DType, shape []int) (int, error) {
	if len(shape) == 0 {
		return 0, fmt.Errorf("tensor: a %v tensor needs at least one dimension", d)
	}
	k := shape[len(shape)-1]
	if err := format(d).Valid(k); err != nil {
		return 0, fmt.Errorf("tensor: %v rows of %d elements: %v", d, k, err)
	}
	return numelOf(shape[:len(shape)-1]) * format(d).RowBytes(k), nil
}

// FromPacked wraps raw (not copied) as a packed tensor of dtype d and the
// given shape, checking its length.
func FromPacked(d DType, raw []byte, shape ...int) (*Tensor, error) {
	if !d.Packed() {
		return nil, fmt.Errorf("tensor: %v is not a packed dtype", d)
	}
	n, err := packedBytes(d, shape)
	if err != nil {
		return nil, err
	}
	if len(raw) != n {
		return nil, fmt.Errorf("tensor: %d bytes for a %v tensor of shape %v, want %d", len(raw), d, shape, n)
	}
	return &Tensor{dtype: d, raw: raw, shape: append([]int(nil), shape...), strides: contiguousStrides(shape)}, nil
}

// Pack returns t (float32) converted to the packed dtype d: bfloat16 and
// float16 round to nearest even; q8_0 quantises each block of 32 as ggml
// does, ggml's other block types with its reference quantisers (package
// quant). It panics if t's rows cannot be stored as d
// (q8_0 rows must hold a multiple of 32 elements, the k-quants of 256).
func Pack(t *Tensor, d DType) *Tensor {
	if t.dtype == d {
		return t
	}
	if !d.Packed() {
		return t.To(d)
	}
	if t.dtype != Float32 {
		t = t.To(Float32)
	}
	n, err := packedBytes(d, t.shape)
	if err != nil {
		panic(err.Error())
	}
	raw := make([]byte, n)
	k := t.shape[len(t.shape)-1]
	src := t.Contiguous().F32()
	f := format(d)
	rb := f.RowBytes(k)
	narrow := func(dst []byte, src []float32) { kernels.Narrow(f, dst, src) }
	if d != Q8_0 && d.Info().Block > 1 { // ggml's other block types: package quant's quantisers
		narrow = func(dst []byte, src []float32) {
			if err := quant.QuantizeInto(d, dst, src); err != nil {
				panic(err.Error())
			}
		}
	}
	kernels.Parallel(len(src)/max(k, 1), func(i int) {
		narrow(raw[i*rb:(i+1)*rb], src[i*k:(i+1)*k])
	})
	out, _ := FromPacked(d, raw, t.shape...)
	return out
}

// Raw returns the bytes of a packed tensor (aliased).
func (t *Tensor) Raw() []byte {
	if !t.dtype.Packed() {
		panic("tensor: Raw of a " + t.dtype.String() + " tensor")
	}
	return t.raw
}

// widen returns a packed tensor as a new float32 tensor.
func (t *Tensor) widen() *Tensor {
	out := New(Float32, t.shape...)
	k := t.shape[len(t.shape)-1]
	f := format(t.dtype)
	rb := f.RowBytes(k)
	rows := numelOf(t.shape[:len(t.shape)-1])
	kernels.Parallel(rows, func(i int) {
		kernels.Widen(f, out.f32[i*k:(i+1)*k], t.raw[i*rb:(i+1)*rb])
	})
	return out
}

// packedRows returns rows ids of the packed 2-D tensor w as a float32
// [len(ids), cols] tensor.
func packedRows(w *Tensor, ids []int) *Tensor {
	k := w.shape[1]
	f := format(w.dtype)
	rb := f.RowBytes(k)
	out := New(Float32, len(ids), k)
	for i, id := range ids {
		if id < 0 || id >= w.shape[0] {
			panic(fmt.Sprintf("tensor: index %d out of range for %d rows", id, w.shape[0]))
		}
		kernels.Widen(f, out.f32[i*k:(i+1)*k], w.raw[id*rb:(id+1)*rb])
	}
	return out
}

// matmulPacked computes out = a·wᵀ (+ beta·out) for float32 a [..., K] and
// a packed 2-D w [N, K].
func matmulPacked(out, a, w *Tensor, beta float32) {
	k := w.shape[1]
	n := w.shape[0]
	m := a.Numel() / max(k, 1)
	kernels.GemmLowT(format(w.dtype), kernels.Threads(), m, n, k, a.Contiguous().F32(), k, w.raw, beta, out.F32(), n)
}
