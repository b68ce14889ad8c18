package nn

import (
	"math"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/tensor"
)

// TestPattentionByHand: Θ(x·Kᵀ)·V for one row, computed here with the
// official l2_norm_gelu (A/‖A‖₂·√n, exact GELU).
func TestPattentionByHand(t *testing.T) {
	p, err := NewPattention(PattentionConfig{Prefix: "p", In: 3, Out: 2, Slots: 4, Init: Init{RNG: tensor.NewRNG(1), Std: 1}})
	if err != nil {
		t.Fatal(err)
	}
	x := []float64{0.5, -1, 2}
	K, V := p.Keys.Value.F32(), p.Values.Value.F32()
	a := make([]float64, 4)
	var ss float64
	for j := range a {
		for i := range x {
			a[j] += x[i] * float64(K[j*3+i])
		}
		ss += a[j] * a[j]
	}
	want := make([]float64, 2)
	for j := range a {
		z := a[j] / math.Sqrt(ss) * 2 // √4
		g := 0.5 * z * (1 + math.Erf(z/math.Sqrt2))
		for o := range want {
			want[o] += g * float64(V[j*2+o])
		}
	}
	got := p.Forward(autograd.Const(tensor.FromFloat32([]float32{0.5, -1, 2}, 1, 3))).Value.F32()
	for o := range want {
		if math.Abs(float64(got[o])-want[o]) > 1e-5 {
			t.Errorf("output %d: %v, want %v", o, got[o], want[o])
		}
	}
}

// TestPattentionGradCheck: input, key and value gradients against finite
// differences.
func TestPattentionGradCheck(t *testing.T) {
	rng := tensor.NewRNG(2)
	in := []*tensor.Tensor{tensor.RandN(rng, 2, 3, 4), tensor.RandN(rng, 5, 4), tensor.RandN(rng, 5, 3)}
	f := func(xs []*autograd.Var) *autograd.Var {
		p := &Pattention{Keys: xs[1], Values: xs[2], Tau: 4}
		return p.Forward(xs[0])
	}
	if err := autograd.GradCheck(f, in, autograd.CheckOptions{Float32Tol: 1e-4}); err != nil {
		t.Fatal(err)
	}
}

// TestPattentionGrow: appended slots (zero keys, random values, τ kept)
// leave the output unchanged, and the new keys receive non-zero
// gradients; growing by nothing is refused.
func TestPattentionGrow(t *testing.T) {
	p, err := NewPattention(PattentionConfig{Prefix: "p", In: 6, Out: 5, Slots: 8, Init: Init{RNG: tensor.NewRNG(3), Std: 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	x := autograd.Const(tensor.RandN(tensor.NewRNG(4), 7, 6))
	var before []float32
	autograd.NoGrad(func() { before = p.Forward(x).Value.F32() })
	if err := p.Grow(8, 0.5, tensor.NewRNG(5)); err != nil {
		t.Fatal(err)
	}
	if p.Slots() != 16 || p.Tau != 8 {
		t.Fatalf("after growing: %d slots, τ %d", p.Slots(), p.Tau)
	}
	out := p.Forward(x)
	for i, v := range out.Value.F32() {
		if math.Abs(float64(v-before[i])) > 1e-6 {
			t.Fatalf("output %d changed from %v to %v", i, before[i], v)
		}
	}
	autograd.Sum(autograd.Mul(out, out), false).Backward()
	g := p.Keys.Grad.F32()
	var newNorm float64
	for _, v := range g[8*6:] {
		newNorm += float64(v * v)
	}
	if newNorm == 0 {
		t.Error("the new keys receive no gradient")
	}
	if err := p.Grow(0, 0.5, tensor.NewRNG(5)); err == nil {
		t.Error("growing by 0 slots accepted")
	}
}

// TestNonParametricLayerNorm has no parameters and normalises.
func TestNonParametricLayerNorm(t *testing.T) {
	n, err := NewNorm("layernorm_nonparam", NormConfig{Prefix: "n", Dim: 4, Eps: 1e-5})
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Params()) != 0 {
		t.Errorf("%d parameters", len(n.Params()))
	}
	y := n.Forward(autograd.Const(tensor.FromFloat32([]float32{1, 2, 3, 4}, 1, 4))).Value.F32()
	if math.Abs(float64(y[0]+y[3])) > 1e-6 || y[3] < 1.3 || y[3] > 1.35 {
		t.Errorf("normalised %v", y)
	}
}

// TestL2ScaleGradCheck: the fused normalisation's gradient, and its
// composed form's, against finite differences.
func TestL2ScaleGradCheck(t *testing.T) {
	in := []*tensor.Tensor{tensor.RandN(tensor.NewRNG(9), 3, 7)}
	if err := autograd.GradCheck(func(xs []*autograd.Var) *autograd.Var { return autograd.L2Scale(xs[0], 2.5, 1e-12) }, in, autograd.CheckOptions{Float32Tol: 1e-5}); err != nil {
		t.Fatal(err)
	}
}
