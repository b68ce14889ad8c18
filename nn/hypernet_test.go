package nn

import (
	"math"
	"strings"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/tensor"
)

func hyperSpecs() []ParamSpec {
	return []ParamSpec{
		{Name: "l1.weight", Shape: []int{32, 64}},
		{Name: "l1.bias", Shape: []int{32}},
		{Name: "l2.weight", Shape: []int{10, 32}},
		{Name: "l2.bias", Shape: []int{10}},
	}
}

func norm2(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x * x
	}
	return math.Sqrt(s)
}

func TestEncodeMIP(t *testing.T) {
	r := math.Sqrt2 / 2
	cases := []struct {
		gamma, want []float64
	}{
		{[]float64{0}, []float64{1, 0}},
		{[]float64{1}, []float64{0, 1}},
		{[]float64{0.5}, []float64{r, r}},
		{[]float64{0, 1, 0.5}, []float64{1, 0, r, 0, 1, r}}, // all cosines, then all sines
		{[]float64{1.0 / 3}, []float64{math.Sqrt(3) / 2, 0.5}},
	}
	for _, c := range cases {
		got := EncodeMIP(c.gamma)
		if len(got) != len(c.want) {
			t.Fatalf("EncodeMIP(%v) = %v, want %v", c.gamma, got, c.want)
		}
		for i := range got {
			if math.Abs(got[i]-c.want[i]) > 1e-12 {
				t.Fatalf("EncodeMIP(%v) = %v, want %v", c.gamma, got, c.want)
			}
		}
		if n := norm2(got); math.Abs(n-math.Sqrt(float64(len(c.gamma)))) > 1e-12 {
			t.Errorf("‖EncodeMIP(%v)‖ = %g, want √%d", c.gamma, n, len(c.gamma))
		}
	}
}

func TestHyperNetInit(t *testing.T) {
	specs := hyperSpecs()
	for _, tc := range []struct {
		param             string
		encode, residual  bool
		wantInputWidthMul int
	}{
		{HyperMIP, true, true, 2},
		{HyperDefault, false, false, 1},
		{HyperEncoding, true, false, 2},
		{HyperResidual, false, true, 1},
	} {
		h, err := NewHyperNet("h", HyperNetConfig{Inputs: 1, Hidden: []int{16, 64}, Outputs: specs, Parametrization: tc.param}, tensor.NewRNG(7))
		if err != nil {
			t.Fatal(err)
		}
		if got := h.Layers[0].InFeatures(); got != tc.wantInputWidthMul {
			t.Errorf("%s: input width %d, want %d", tc.param, got, tc.wantInputWidthMul)
		}
		if h.NumOutputs() != 32*64+32+10*32+10 {
			t.Fatalf("%s: %d outputs", tc.param, h.NumOutputs())
		}
		theta0 := h.Theta0().Value.Float64s()
		out := h.Layers[len(h.Layers)-1].Weight.Value.Float64s()
		in := h.Layers[len(h.Layers)-1].InFeatures()
		off := 0
		for _, s := range specs {
			n := s.Size()
			chunk := theta0[off : off+n]
			switch {
			case !tc.residual || strings.HasSuffix(s.Name, "bias"):
				if norm2(chunk) != 0 {
					t.Errorf("%s: θ₀ of %s is not zero", tc.param, s.Name)
				}
			default: // Kaiming normal, fan-in: std √2/√in
				want := math.Sqrt2 / math.Sqrt(float64(s.Shape[1]))
				if got := norm2(chunk) / math.Sqrt(float64(n)); math.Abs(got/want-1) > 0.1 {
					t.Errorf("%s: θ₀ of %s has std %.4f, want %.4f", tc.param, s.Name, got, want)
				}
			}
			// Output rows of the chunk: Kaiming normal with fan-out = chunk size.
			rows := out[off*in : (off+n)*in]
			want := math.Sqrt2 / math.Sqrt(float64(n))
			if got := norm2(rows) / math.Sqrt(float64(len(rows))); math.Abs(got/want-1) > 0.25 {
				t.Errorf("%s: output rows of %s have std %.4f, want %.4f", tc.param, s.Name, got, want)
			}
			off += n
		}
		for i, l := range h.Layers[:len(h.Layers)-1] {
			want := math.Sqrt2 / math.Sqrt(float64(l.OutFeatures()))
			w := l.Weight.Value.Float64s()
			if got := norm2(w) / math.Sqrt(float64(len(w))); math.Abs(got/want-1) > 0.35 {
				t.Errorf("%s: hidden %d std %.4f, want %.4f (fan-out)", tc.param, i, got, want)
			}
		}
	}
}

// thetaNorm returns ‖θ(γ)‖ for a one-input hypernetwork.
func thetaNorm(t *testing.T, h *HyperNet, g float64) float64 {
	t.Helper()
	var n float64
	autograd.NoGrad(func() {
		ps, err := h.Emit([]float64{g})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			n += math.Pow(norm2(p.Value.Float64s()), 2)
		}
	})
	return math.Sqrt(n)
}

// At init the default hypernetwork is positively homogeneous in γ (zero
// biases, LeakyReLU), so ‖θ(γ)‖ = γ‖θ(1)‖; under MIP ‖θ‖ barely moves.
func TestHyperNetMagnitude(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		def, _ := NewHyperNet("d", HyperNetConfig{Inputs: 1, Hidden: []int{16, 64}, Outputs: hyperSpecs(), Parametrization: HyperDefault}, tensor.NewRNG(seed))
		mip, _ := NewHyperNet("m", HyperNetConfig{Inputs: 1, Hidden: []int{16, 64}, Outputs: hyperSpecs(), Parametrization: HyperMIP}, tensor.NewRNG(seed))
		one := thetaNorm(t, def, 1)
		if one == 0 {
			t.Fatal("default θ(1) is zero")
		}
		m0 := thetaNorm(t, mip, 0)
		for _, g := range []float64{0, 0.1, 0.25, 0.5, 0.9} {
			if got := thetaNorm(t, def, g); math.Abs(got-g*one) > 1e-4*one {
				t.Errorf("seed %d: default ‖θ(%g)‖ = %g, want γ‖θ(1)‖ = %g", seed, g, got, g*one)
			}
			if got := thetaNorm(t, mip, g); math.Abs(got/m0-1) > 0.05 {
				t.Errorf("seed %d: MIP ‖θ(%g)‖ = %g, ‖θ(0)‖ = %g: not magnitude invariant", seed, g, got, m0)
			}
		}
	}
}

// θ = θ₀ + Δθ: the gradient of a loss of θ with respect to θ₀ (the output
// bias) is the loss's gradient with respect to θ; here L = ½‖θ‖², so it
// is θ itself, and the hidden layers get gradients too.
func TestHyperNetResidualGradient(t *testing.T) {
	h, err := NewHyperNet("h", HyperNetConfig{Inputs: 2, Hidden: []int{8}, Outputs: hyperSpecs()[2:], Parametrization: HyperMIP}, tensor.NewRNG(3))
	if err != nil {
		t.Fatal(err)
	}
	ps, err := h.Emit([]float64{0.3, 0.8})
	if err != nil {
		t.Fatal(err)
	}
	if got := ps[0].Shape(); got[0] != 10 || got[1] != 32 {
		t.Fatalf("weight shape %v", got)
	}
	var loss *autograd.Var
	var flat []float64
	for _, p := range ps {
		term := autograd.MulScalar(autograd.Sum(autograd.Mul(p, p), false), 0.5)
		if loss == nil {
			loss = term
		} else {
			loss = autograd.Add(loss, term)
		}
		flat = append(flat, p.Value.Float64s()...)
	}
	loss.Backward()
	g := h.Theta0().Grad.Float64s()
	for i := range g {
		if math.Abs(g[i]-flat[i]) > 1e-5 {
			t.Fatalf("∂L/∂θ₀[%d] = %g, want θ[%d] = %g", i, g[i], i, flat[i])
		}
	}
	if h.Layers[0].Weight.Grad == nil {
		t.Error("no gradient reached the first hidden layer")
	}
}

// The gradient with respect to every hypernetwork parameter matches finite
// differences.
func TestHyperNetGradCheck(t *testing.T) {
	for _, param := range []string{HyperMIP, HyperDefault} {
		specs := []ParamSpec{{Name: "w.weight", Shape: []int{3, 2}}, {Name: "w.bias", Shape: []int{3}}}
		h, err := NewHyperNet("h", HyperNetConfig{Inputs: 1, Hidden: []int{4}, Outputs: specs, Parametrization: param}, tensor.NewRNG(5))
		if err != nil {
			t.Fatal(err)
		}
		params := h.Params()
		inputs := make([]*tensor.Tensor, len(params))
		for i, p := range params {
			inputs[i] = p.Value
		}
		x := tensor.FromFloat64([]float64{0.4, -1.2, 0.7, 0.1}, 2, 2)
		err = autograd.GradCheck(func(xs []*autograd.Var) *autograd.Var {
			enc := h.EncodeGamma([]float64{0.6})
			in := autograd.Const(tensor.FromFloat64(enc, 1, len(enc)))
			hh := &HyperNet{Config: h.Config, offsets: h.offsets, total: h.total}
			for i := range h.Layers {
				hh.Layers = append(hh.Layers, &Linear{Weight: xs[2*i], Bias: xs[2*i+1]})
			}
			th := hh.Unflatten(autograd.Reshape(hh.Forward(in), hh.total))
			y := autograd.Tanh(autograd.Linear(autograd.Const(x), th[0], th[1]))
			return autograd.Sum(autograd.Mul(y, y), false)
		}, inputs, autograd.CheckOptions{})
		if err != nil {
			t.Errorf("%s: %v", param, err)
		}
	}
}

func TestHyperNetSetTheta0(t *testing.T) {
	specs := []ParamSpec{{Name: "a.weight", Shape: []int{2, 2}}, {Name: "a.bias", Shape: []int{2}}}
	h, err := NewHyperNet("h", HyperNetConfig{Inputs: 1, Hidden: []int{3}, Outputs: specs}, tensor.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.SetTheta0([]*tensor.Tensor{tensor.FromFloat64([]float64{1, 2, 3, 4}, 2, 2), tensor.FromFloat64([]float64{5, 6}, 2)}); err != nil {
		t.Fatal(err)
	}
	got := h.Theta0().Value.Float64s()
	for i, w := range []float64{1, 2, 3, 4, 5, 6} {
		if got[i] != w {
			t.Fatalf("θ₀ = %v", got)
		}
	}
	if err := h.SetTheta0([]*tensor.Tensor{tensor.Zeros(3), tensor.Zeros(2)}); err == nil || !strings.Contains(err.Error(), "a.weight") {
		t.Errorf("wrong shape: %v", err)
	}
}

func TestHyperNetErrors(t *testing.T) {
	specs := hyperSpecs()
	cases := []struct {
		name string
		c    HyperNetConfig
		want string
	}{
		{"no inputs", HyperNetConfig{Inputs: 0, Outputs: specs}, "inputs 0"},
		{"bad hidden", HyperNetConfig{Inputs: 1, Hidden: []int{4, 0}, Outputs: specs}, "hidden width 0"},
		{"no outputs", HyperNetConfig{Inputs: 1}, "no outputs"},
		{"duplicate", HyperNetConfig{Inputs: 1, Outputs: []ParamSpec{specs[0], specs[0]}}, "two outputs named"},
		{"empty shape", HyperNetConfig{Inputs: 1, Outputs: []ParamSpec{{Name: "x"}}}, "no shape"},
		{"zero size", HyperNetConfig{Inputs: 1, Outputs: []ParamSpec{{Name: "x", Shape: []int{0}}}}, "positive sizes"},
		{"parametrization", HyperNetConfig{Inputs: 1, Outputs: specs, Parametrization: "mop"}, `unknown parametrization "mop"`},
		{"slope", HyperNetConfig{Inputs: 1, Outputs: specs, Slope: math.NaN()}, "slope"},
	}
	for _, c := range cases {
		if _, err := NewHyperNet("h", c.c, tensor.NewRNG(1)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	h, _ := NewHyperNet("h", HyperNetConfig{Inputs: 1, Outputs: specs}, tensor.NewRNG(1))
	for _, g := range [][]float64{{-0.1}, {1.5}, {math.NaN()}, {0.1, 0.2}} {
		if _, err := h.Emit(g); err == nil {
			t.Errorf("Emit(%v): no error", g)
		}
	}
}
