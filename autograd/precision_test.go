package autograd

import (
	"math"
	"testing"

	"github.com/loomml/loom/tensor"
)

// TestOperandPrecision: products follow the setting unless a parameter
// operand is not a declared weight matrix; each node keeps the precision
// it was recorded with.
func TestOperandPrecision(t *testing.T) {
	w := func(role Role) *Var { return NewParam("w", role, tensor.New(tensor.Float32, 2, 2)) }
	x := Const(tensor.New(tensor.Float32, 2, 2))
	derived := Mul(w(RoleMatrix), w(RoleMatrix))
	for _, c := range []struct {
		name string
		ops  []*Var
		want tensor.Precision
	}{
		{"matrix", []*Var{x, w(RoleMatrix)}, tensor.BF16},
		{"head", []*Var{x, w(RoleHead)}, tensor.BF16},
		{"expert", []*Var{x, w(RoleExpert)}, tensor.BF16},
		{"tied embedding", []*Var{x, w(RoleEmbedding)}, tensor.BF16},
		{"activations", []*Var{x, x}, tensor.BF16},
		{"derived weight", []*Var{x, derived}, tensor.BF16},
		{"factor", []*Var{x, w(RoleFactor)}, tensor.FP32},
		{"norm", []*Var{x, w(RoleNorm)}, tensor.FP32},
		{"no role", []*Var{x, w(RoleOther)}, tensor.FP32},
	} {
		var got tensor.Precision
		WithPrecision(tensor.BF16, func() { got = operandPrecision(c.ops...) })
		if got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
		if got := operandPrecision(c.ops...); got != tensor.FP32 {
			t.Errorf("%s outside WithPrecision: %v", c.name, got)
		}
	}
}

// TestLinearBF16 checks that Linear under bf16 computes the product of the
// rounded operands, forward and backward, and that the backward pass uses
// the precision of the forward pass even when the setting changed since.
func TestLinearBF16(t *testing.T) {
	r := tensor.NewRNG(1)
	x := NewParam("", RoleOther, tensor.RandN(r, 4, 3)) // an input that wants a gradient: no name, no role
	wt := NewParam("w", RoleMatrix, tensor.RandN(r, 5, 3))
	var y *Var
	WithPrecision(tensor.BF16, func() { y = Linear(x, wt, nil) })
	g := tensor.RandN(r, 4, 5)
	Sum(Mul(y, Const(g)), false).Backward()
	round := func(t *tensor.Tensor) *tensor.Tensor {
		out := t.Clone()
		for i, v := range out.F32() {
			out.F32()[i] = math.Float32frombits(uint32(tensor.BF16FromFloat32(v)) << 16)
		}
		return out
	}
	check := func(name string, got, want *tensor.Tensor) {
		for i, v := range want.F32() {
			if d := got.F32()[i] - v; d > 1e-5 || d < -1e-5 {
				t.Fatalf("%s[%d] = %v, product of rounded operands %v", name, i, got.F32()[i], v)
			}
		}
	}
	check("y", y.Value, tensor.MatMul(round(x.Value), round(wt.Value), false, true))
	check("dx", x.Grad, tensor.MatMul(round(g), round(wt.Value), false, false))
	check("dw", wt.Grad, tensor.MatMul(round(g), round(x.Value), true, false))
}
