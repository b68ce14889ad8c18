package nn

import (
	"math"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/optim"
	"github.com/loomml/loom/tensor"
)

func TestPolyReLUWithLinearCoefficientIsReLU(t *testing.T) {
	x := tensor.RandN(tensor.NewRNG(3), 5, 33)
	// a = (1, 0, 0) for the powers (1, 2, 3); stored highest power first.
	p := &PolyReLU{Weight: autograd.Param("w", tensor.FromFloat32([]float32{0, 0, 1}, 3)), Bias: autograd.Param("b", tensor.Zeros(1))}
	got := p.Apply(autograd.Const(x)).Value.F32()
	for i, v := range autograd.Relu(autograd.Const(x)).Value.F32() {
		if got[i] != v {
			t.Fatalf("element %d: PolyReLU %v, ReLU %v", i, got[i], v)
		}
	}
}

// Each PolyNorm term N(xᵖ) has RMS 1 over the last dimension, also for
// inputs whose sixth power overflows float32.
func TestPolyNormTermsHaveUnitRMS(t *testing.T) {
	for _, scale := range []float64{1, 1e-2, 1e4, 1e7, 3e30} {
		x := tensor.RandN(tensor.NewRNG(5), 4, 64)
		for i := range x.F32() {
			x.F32()[i] *= float32(scale)
		}
		for power := 1; power <= 3; power++ {
			w := make([]float32, 3)
			w[3-power] = 1
			p := &PolyNorm{Weight: autograd.Param("w", tensor.FromFloat32(w, 3)), Bias: autograd.Param("b", tensor.Zeros(1)), Eps: PolyEps}
			y := p.Apply(autograd.Const(x)).Value.F32()
			for r := range 4 {
				var s float64
				for _, v := range y[r*64 : (r+1)*64] {
					if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
						t.Fatalf("scale %g power %d: non-finite output", scale, power)
					}
					s += float64(v) * float64(v)
				}
				rms := math.Sqrt(s / 64)
				// ε = 1e-6 lowers the RMS of tiny terms (x² at scale 1e-2 has
				// mean square ~1e-8 ≪ ε); elsewhere it must be 1.
				if scale >= 1 && math.Abs(rms-1) > 1e-5 {
					t.Errorf("scale %g power %d row %d: RMS %.7f, want 1", scale, power, r, rms)
				}
			}
		}
	}
}

// A 1000-step AdamW run of a small regression network on inputs of
// magnitude ~1e3 (x³ ~ 1e9, x⁶ ~ 1e18) never produces a NaN or an infinity.
func TestPolyComLargeInputsStayFinite(t *testing.T) {
	for _, name := range []string{"polynorm", "polyrelu"} {
		t.Run(name, func(t *testing.T) {
			rng := tensor.NewRNG(11)
			in := Init{RNG: rng, Std: 0.02}
			l1, l2 := NewLinear("l1", 16, 64, true, in), NewLinear("l2", 64, 1, true, in)
			act, err := NewActivation(name, ActivationConfig{Prefix: "act", Dim: 64, Init: in})
			if err != nil {
				t.Fatal(err)
			}
			params := Collect(l1, act, l2)
			opt := optim.NewAdamW([]*optim.Group{{Params: params, LR: 1e-3}})
			x := tensor.RandN(rng, 64, 16)
			y := tensor.New(tensor.Float32, 64, 1)
			for i := range 64 {
				var s float64
				for j := range 16 {
					s += math.Sin(float64(x.At(i, j)))
				}
				y.Set(s, i, 0)
			}
			for i := range x.F32() {
				x.F32()[i] *= 1000
			}
			for step := range 1000 {
				autograd.ZeroGrads(params)
				loss := autograd.MSELoss(l2.Forward(act.Apply(l1.Forward(autograd.Const(x)))), autograd.Const(y))
				if v := loss.Item(); math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("step %d: loss %v", step, v)
				}
				loss.Backward()
				opt.Step()
			}
			for _, p := range params {
				for _, v := range p.Value.F32() {
					if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
						t.Fatalf("%s is not finite after 1000 steps", p.Name)
					}
				}
			}
		})
	}
}
