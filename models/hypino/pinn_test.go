package hypino

import (
	"math"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/sciml/pde"
	"github.com/loomml/loom/tensor"
)

func testPINN(t *testing.T) (*PINN, []*autograd.Var, *tensor.Tensor) {
	t.Helper()
	p, err := NewPINN(PINNConfig{Features: 3, Scale: 1.5, Hidden: []int{5, 4}, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	r := tensor.NewRNG(9)
	theta := p.Init(2, r, tensor.Float64)
	for _, v := range theta { // non-zero biases, distinct instances
		v.Value = tensor.Add(v.Value, tensor.Normal(r, 0, 0.3, v.Shape()...).To(tensor.Float64))
	}
	xy := tensor.Normal(r, 0, 0.5, 2, 3, 2).To(tensor.Float64)
	return p, theta, xy
}

// u(point) for instance b from the jet's value at one point.
func evalU(t *testing.T, p *PINN, theta []*autograd.Var, xy *tensor.Tensor) []float64 {
	j, err := p.Jet(theta, xy)
	if err != nil {
		t.Fatal(err)
	}
	return j.U.Value.Float64s()
}

func shifted(xy *tensor.Tensor, axis int, h float64) *tensor.Tensor {
	v := append([]float64(nil), xy.Float64s()...)
	for i := axis; i < len(v); i += 2 {
		v[i] += h
	}
	return tensor.FromFloat64(v, xy.Shape()...)
}

// The jet's u_x, u_y, u_xx, u_yy equal central finite differences of u and
// nested reverse-mode gradients (autograd.Grad with CreateGraph).
func TestJetInputDerivatives(t *testing.T) {
	p, theta, xy := testPINN(t)
	j, err := p.Jet(theta, xy)
	if err != nil {
		t.Fatal(err)
	}
	const h = 1e-4
	u0 := evalU(t, p, theta, xy)
	for axis, pair := range [2][2]*autograd.Var{{j.UX, j.UXX}, {j.UY, j.UYY}} {
		up, um := evalU(t, p, theta, shifted(xy, axis, h)), evalU(t, p, theta, shifted(xy, axis, -h))
		for i := range u0 {
			d1 := (up[i] - um[i]) / (2 * h)
			d2 := (up[i] - 2*u0[i] + um[i]) / (h * h)
			if g := pair[0].Value.Float64s()[i]; math.Abs(g-d1) > 1e-6 {
				t.Errorf("axis %d point %d: first derivative %g, finite differences %g", axis, i, g, d1)
			}
			if g := pair[1].Value.Float64s()[i]; math.Abs(g-d2) > 1e-4 {
				t.Errorf("axis %d point %d: second derivative %g, finite differences %g", axis, i, g, d2)
			}
		}
	}
	// Nested reverse mode through a differentiable input Var: the jet's
	// input features are constants, so rebuild u from a Var x with the
	// same composition (features, then the layers) and differentiate twice.
	x := autograd.Leaf(xy.Clone())
	u := p.direct(theta, x)
	g, err := autograd.Grad(autograd.Sum(u, false), []*autograd.Var{x}, autograd.GradOptions{CreateGraph: true})
	if err != nil {
		t.Fatal(err)
	}
	gx := autograd.Squeeze(autograd.Slice(g[0], 2, 0, 1), 2)
	gxx, err := autograd.Grad(autograd.Sum(gx, false), []*autograd.Var{x}, autograd.GradOptions{CreateGraph: true})
	if err != nil {
		t.Fatal(err)
	}
	uxx := autograd.Squeeze(autograd.Slice(gxx[0], 2, 0, 1), 2).Value.Float64s()
	for i, v := range j.UXX.Value.Float64s() {
		if math.Abs(v-uxx[i]) > 1e-10 {
			t.Errorf("point %d: jet u_xx %g, nested Grad %g", i, v, uxx[i])
		}
		if w := gx.Value.Float64s()[i]; math.Abs(j.UX.Value.Float64s()[i]-w) > 1e-10 {
			t.Errorf("point %d: jet u_x %g, Grad %g", i, j.UX.Value.Float64s()[i], w)
		}
	}
}

// direct is the PINN's value from a differentiable input (for the test's
// nested-gradient reference).
func (p *PINN) direct(theta []*autograd.Var, xy *autograd.Var) *autograd.Var {
	F := p.Config.Features
	om := make([]float64, 0, 2*F)
	for _, w := range p.Omega {
		om = append(om, w[0], w[1])
	}
	z := autograd.MatMul(xy, autograd.Const(tensor.FromFloat64(om, F, 2)), false, true)
	h := autograd.Concat(2, xy, autograd.Sin(z), autograd.Cos(z))
	L := len(p.Config.Hidden)
	for l := 0; l <= L; l++ {
		h = autograd.Add(autograd.MatMul(h, theta[2*l], false, true), autograd.Unsqueeze(theta[2*l+1], 1))
		if l < L {
			h = autograd.Tanh(h)
		}
	}
	return autograd.Squeeze(h, 2)
}

// ∂/∂θ of a loss on u_xx and u_yy (what reaches the hypernetwork) equals
// central finite differences in every parameter.
func TestJetParameterGradient(t *testing.T) {
	p, theta, xy := testPINN(t)
	r := tensor.NewRNG(4)
	wx := tensor.Normal(r, 0, 1, 2, 3).To(tensor.Float64)
	wy := tensor.Normal(r, 0, 1, 2, 3).To(tensor.Float64)
	loss := func() *autograd.Var {
		j, err := p.Jet(theta, xy)
		if err != nil {
			t.Fatal(err)
		}
		a := autograd.Sum(autograd.Mul(j.UXX, autograd.Const(wx)), false)
		b := autograd.Sum(autograd.Mul(autograd.Mul(j.UYY, j.UYY), autograd.Const(wy)), false)
		return autograd.Add(a, b)
	}
	autograd.ZeroGrads(theta)
	loss().Backward()
	const h = 1e-6
	for k, v := range theta {
		vals := v.Value.F64()
		grad := make([]float64, len(vals)) // nil: no path (the output bias does not reach u_xx)
		if v.Grad != nil {
			grad = v.Grad.Float64s()
		}
		for i := range vals {
			old := vals[i]
			vals[i] = old + h
			lp := loss().Value.Float64s()[0]
			vals[i] = old - h
			lm := loss().Value.Float64s()[0]
			vals[i] = old
			fd := (lp - lm) / (2 * h)
			if math.Abs(fd-grad[i]) > 1e-5*(1+math.Abs(fd)) {
				t.Errorf("parameter %d[%d]: gradient %g, finite differences %g", k, i, grad[i], fd)
			}
		}
	}
}

// Residual is L u − f with each instance's own operator.
func TestResidual(t *testing.T) {
	p, theta, xy := testPINN(t)
	j, _ := p.Jet(theta, xy)
	ops := []pde.Operator{{XX: -1, YY: -1}, {XX: 1, YY: 1, U: 2, X: 0.5, Y: -1}}
	f := tensor.FromFloat64([]float64{1, 2, 3, 4, 5, 6}, 2, 3)
	r := Residual(ops, j, f).Value.Float64s()
	for b, op := range ops {
		for n := range 3 {
			i := b*3 + n
			d := pde.Derivs{U: j.U.Value.Float64s()[i], UX: j.UX.Value.Float64s()[i], UY: j.UY.Value.Float64s()[i], UXX: j.UXX.Value.Float64s()[i], UYY: j.UYY.Value.Float64s()[i]}
			if want := op.Apply(d) - f.Float64s()[i]; math.Abs(r[i]-want) > 1e-12 {
				t.Errorf("instance %d point %d: residual %g, want %g", b, n, r[i], want)
			}
		}
	}
}

func TestPINNErrors(t *testing.T) {
	cases := []struct {
		name string
		c    PINNConfig
	}{
		{"no hidden", PINNConfig{Features: 2, Scale: 1}},
		{"bad width", PINNConfig{Features: 2, Scale: 1, Hidden: []int{4, 0}}},
		{"NaN scale", PINNConfig{Features: 2, Scale: math.NaN(), Hidden: []int{4}}},
	}
	for _, c := range cases {
		if _, err := NewPINN(c.c); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
	p, theta, xy := testPINN(t)
	if _, err := p.Jet(theta[:2], xy); err == nil {
		t.Error("too few parameters: no error")
	}
	if _, err := p.Jet(theta, tensor.Zeros(2, 3)); err == nil {
		t.Error("points of rank 2: no error")
	}
}
