package nn

import (
	"math"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/format/safetensors"
	"github.com/loomml/loom/tensor"
)

// The PyTorch fixtures come from testdata/gen_activations.py (PyTorch 1.13,
// float32), which follows the papers' official code.

func loadFixture(t *testing.T, f *safetensors.File, name string) *tensor.Tensor {
	t.Helper()
	data, shape, err := f.Float32(name)
	if err != nil {
		t.Fatal(err)
	}
	return tensor.FromFloat32(data, shape...)
}

func maxAbsDiff(a, b *tensor.Tensor) float64 {
	var m float64
	bv := b.Float64s()
	for i, v := range a.Float64s() {
		m = max(m, math.Abs(v-bv[i]))
	}
	return m
}

// build returns the activation registered as name with its parameters set
// from vals (by the last part of their names).
func build(t *testing.T, name string, vals map[string]*tensor.Tensor) Activation {
	t.Helper()
	act, err := NewActivation(name, ActivationConfig{Prefix: "act", Dim: 24, Init: Init{RNG: tensor.NewRNG(1), Std: 0.02}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range act.Params() {
		key := p.Name[len("act."):]
		v, ok := vals[key]
		if !ok {
			t.Fatalf("%s: no value for %s", name, p.Name)
		}
		p.Value = v.Clone()
	}
	return act
}

func TestActivationsMatchPyTorch(t *testing.T) {
	f, err := safetensors.Open("testdata/activations.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, c := range []struct {
		fixture, act string
		params       []string
	}{
		{"polynorm", "polynorm", []string{"weight", "bias"}},
		{"polynorm_init", "polynorm", []string{"weight", "bias"}},
		{"polyrelu", "polyrelu", []string{"weight", "bias"}},
		{"dra", "dra", []string{"a", "b", "c", "d"}},
		{"snake", "snake", []string{"a"}},
	} {
		t.Run(c.fixture, func(t *testing.T) {
			vals := map[string]*tensor.Tensor{}
			for _, p := range c.params {
				vals[p] = loadFixture(t, f, c.fixture+"."+p)
			}
			act := build(t, c.act, vals)
			x := autograd.Leaf(loadFixture(t, f, c.fixture+".x"))
			y := act.Apply(x)
			want := loadFixture(t, f, c.fixture+".out")
			if d := maxAbsDiff(y.Value, want); d > 2e-5*(1+maxAbs(want)) {
				t.Errorf("output: max |Δ| %.3g", d)
			}
			y.BackwardWith(loadFixture(t, f, c.fixture+".gout"))
			gx := loadFixture(t, f, c.fixture+".gx")
			if d := maxAbsDiff(x.Grad, gx); d > 2e-5*(1+maxAbs(gx)) {
				t.Errorf("input gradient: max |Δ| %.3g", d)
			}
			for i, p := range act.Params() {
				g := loadFixture(t, f, c.fixture+".g"+c.params[i])
				if d := maxAbsDiff(p.Grad, g); d > 1e-4*(1+maxAbs(g)) {
					t.Errorf("gradient of %s: %v, PyTorch %v", p.Name, p.Grad.Float64s(), g.Float64s())
				}
			}
		})
	}
}

func maxAbs(t *tensor.Tensor) float64 {
	var m float64
	for _, v := range t.Float64s() {
		m = max(m, math.Abs(v))
	}
	return m
}

func TestActivationGradCheck(t *testing.T) {
	rng := tensor.NewRNG(7)
	x := tensor.RandN(rng, 3, 7)
	for i, v := range x.F32() { // away from ReLU's kink
		if math.Abs(float64(v)) < 0.1 {
			x.F32()[i] = v + 0.2*float32(math.Copysign(1, float64(v)))
		}
	}
	vec := func(vs ...float32) *tensor.Tensor { return tensor.FromFloat32(vs, len(vs)) }
	for _, c := range []struct {
		name   string
		params []*tensor.Tensor
		make   func(ps []*autograd.Var) Activation
	}{
		{"polynorm", []*tensor.Tensor{vec(0.5, -0.3, 0.8), vec(0.1)},
			func(ps []*autograd.Var) Activation { return &PolyNorm{Weight: ps[0], Bias: ps[1], Eps: PolyEps} }},
		{"polyrelu", []*tensor.Tensor{vec(0.2, -0.4, 0.7), vec(-0.05)},
			func(ps []*autograd.Var) Activation { return &PolyReLU{Weight: ps[0], Bias: ps[1]} }},
		{"dra", []*tensor.Tensor{vec(0.7), vec(-1.2), vec(0.4), vec(0.9)},
			func(ps []*autograd.Var) Activation { return &DRA{A: ps[0], B: ps[1], C: ps[2], D: ps[3]} }},
		{"dra a≈0", []*tensor.Tensor{vec(1e-6), vec(-1.2), vec(0.4), vec(0.9)},
			func(ps []*autograd.Var) Activation { return &DRA{A: ps[0], B: ps[1], C: ps[2], D: ps[3]} }},
		{"snake", []*tensor.Tensor{vec(0.8)},
			func(ps []*autograd.Var) Activation { return &Snake{A: ps[0]} }},
		{"snake a≈0", []*tensor.Tensor{vec(-3e-5)},
			func(ps []*autograd.Var) Activation { return &Snake{A: ps[0]} }},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := autograd.GradCheck(func(xs []*autograd.Var) *autograd.Var {
				return c.make(xs[1:]).Apply(xs[0])
			}, append([]*tensor.Tensor{x}, c.params...), autograd.CheckOptions{Float32Tol: 1e-4})
			if err != nil {
				t.Error(err)
			}
		})
	}
}

// BenchmarkActivations: forward and backward of each activation on a
// [16·128, 512] FFN hidden tensor (the PolyCom reproduction's shape).
func BenchmarkActivations(b *testing.B) {
	x := tensor.RandN(tensor.NewRNG(1), 2048, 512)
	g := tensor.RandN(tensor.NewRNG(2), 2048, 512)
	for _, name := range []string{"relu", "gelu", "silu", "polyrelu", "polynorm", "dra", "snake"} {
		act, err := NewActivation(name, ActivationConfig{Prefix: "act", Dim: 512, Init: Init{RNG: tensor.NewRNG(3), Std: 1}})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(4 * x.Numel()))
			for b.Loop() {
				xv := autograd.Leaf(x)
				act.Apply(xv).BackwardWith(g)
			}
		})
	}
}
