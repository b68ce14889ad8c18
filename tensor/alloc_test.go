package tensor

import (
	"fmt"
	"math"
	"testing"
)

// In test binaries uninit's tensors start as NaN, so an operation that
// leaves an element unwritten shows up as NaN in its output.
func TestUninitPoisonedInTests(t *testing.T) {
	for _, n := range []int{0, 3, 1023, 1024, 5000} {
		for _, dt := range []DType{Float32, Float64} {
			x := uninit(dt, n)
			if x.Numel() != n || !x.IsContiguous() {
				t.Fatalf("uninit(%v, %d): numel %d", dt, n, x.Numel())
			}
			for i, v := range x.Float64s() {
				if !math.IsNaN(v) {
					t.Fatalf("uninit(%v, %d)[%d] = %v, want NaN in tests", dt, n, i, v)
				}
			}
		}
	}
}

// Every operation that allocates its output with uninit writes all of it,
// for shapes that exercise its edge paths (broadcasting, strided inputs,
// inner dimension zero, empty tensors, both dtypes).
func TestUninitOpsWriteEveryElement(t *testing.T) {
	r := NewRNG(11)
	big := RandN(r, 4, 8, 40, 40) // > 1024 elements: the unzeroed allocation path
	strided := RandN(r, 40, 4, 8, 40).Permute(1, 2, 0, 3)
	w, b, sq := RandN(r, 40), RandN(r, 40), RandN(r, 40, 40)
	cases := []struct {
		name string
		f    func(x *Tensor) *Tensor
	}{
		{"matmul", func(x *Tensor) *Tensor { return MatMul(x, x, false, true) }},
		{"matmul-shared-b", func(x *Tensor) *Tensor { return MatMul(x, sq.To(x.DType()), false, false) }},
		{"matmul-k0", func(x *Tensor) *Tensor { return MatMul(x.Slice(-1, 0, 0), x.Slice(-1, 0, 0), false, true) }},
		{"matmul-transA", func(x *Tensor) *Tensor { return MatMul(x, x, true, false) }},
		{"clone", func(x *Tensor) *Tensor { return x.Clone() }},
		{"contiguous", func(x *Tensor) *Tensor { return x.Transpose(-1, -2).Contiguous() }},
		{"to", func(x *Tensor) *Tensor { return x.To(Float64).To(Float32) }},
		{"add-broadcast", func(x *Tensor) *Tensor { return Add(x, x.Slice(1, 0, 1)) }},
		{"mul-rows", func(x *Tensor) *Tensor { return Mul(x, w.To(x.DType())) }},
		{"map", func(x *Tensor) *Tensor {
			return Map(x, func(v float32) float32 { return v + 1 }, func(v float64) float64 { return v + 1 })
		}},
		{"gelu", Gelu},
		{"gelu-grad", func(x *Tensor) *Tensor { return GeluGrad(x, x) }},
		{"silu", Silu},
		{"silu-grad", func(x *Tensor) *Tensor { return SiluGrad(x, x) }},
		{"zip", func(x *Tensor) *Tensor { return Zip(func(a, b float64) float64 { return a - b }, x, x) }},
		{"softmax-last", func(x *Tensor) *Tensor { return Softmax(x, -1) }},
		{"softmax-inner", func(x *Tensor) *Tensor { return LogSoftmax(x, 1) }},
		{"softmax-backward", func(x *Tensor) *Tensor { return SoftmaxBackward(Softmax(x, -1), x, -1) }},
		{"softmax-dropout", func(x *Tensor) *Tensor { o, p := SoftmaxDropout(x, 0.3, 5); return Add(o, p) }},
		{"softmax-dropout-backward", func(x *Tensor) *Tensor {
			_, p := SoftmaxDropout(x, 0.3, 5)
			return SoftmaxDropoutBackward(p, x, 0.3, 5)
		}},
		{"dropout-rows", func(x *Tensor) *Tensor { return DropoutRows(x, 0.5, 9) }},
		{"layernorm", func(x *Tensor) *Tensor { return LayerNorm(x, w.To(x.DType()), b.To(x.DType()), 1e-5) }},
		{"rmsnorm", func(x *Tensor) *Tensor { return RMSNorm(x, w.To(x.DType()), 1e-5) }},
	}
	// Low-precision weights: the product widens them per tile (m > 1) or
	// per row (m = 1, the decoding path); only float32 activations.
	for _, dt := range []DType{BFloat16, Float16, Q8_0} {
		wp := Pack(RandN(r, 64, 64), dt)
		for _, m := range []int{1, 80} {
			t.Run(fmt.Sprintf("matmul-packed/%v/m%d", dt, m), func(t *testing.T) {
				out := MatMul(RandN(r, m, 64), wp, false, true)
				checkWritten(t, out)
			})
		}
	}
	inputs := map[string]*Tensor{"contiguous": big, "strided": strided, "empty": RandN(r, 0, 8, 40, 40)}
	for _, c := range cases {
		for in, x := range inputs {
			for _, dt := range []DType{Float32, Float64} {
				t.Run(fmt.Sprintf("%s/%s/%v", c.name, in, dt), func(t *testing.T) {
					out := c.f(x.To(dt))
					checkWritten(t, out)
				})
			}
		}
	}
}

// checkWritten fails t if out holds a NaN: an element its operation left
// as uninit's poison.
func checkWritten(t *testing.T, out *Tensor) {
	t.Helper()
	for i, v := range out.Float64s() {
		if math.IsNaN(v) {
			t.Fatalf("element %d of %v is NaN: not written", i, out.Shape())
		}
	}
}
