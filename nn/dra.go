package nn

// DRA, the Dynamic Range Activator, from "Neural Networks with a Dynamic
// Range Activator …" (arXiv 2408.14915; official code Baran-phys/DynamicFormer,
// dra/activations.py):
//
//	DRA(x) = x + b·sin²(a·x)/a + c·cos(a·x) + d·tanh(b·x)
//
// with four learnable scalars a, b, c, d drawn from N(0, 1), one set per
// activation. The division by a is evaluated as a·x²·sinc²(a·x), which is
// finite (and tends to 0) as a → 0; the official code divides directly.

import (
	"math"

	"github.com/loomml/loom/autograd"
)

// DRA is the Dynamic Range Activator.
type DRA struct {
	A, B, C, D *autograd.Var // one element each
}

// Apply maps x elementwise.
func (m *DRA) Apply(x *autograd.Var) *autograd.Var {
	return scalarAct("dra", x, []*autograd.Var{m.A, m.B, m.C, m.D}, draValue, draGrad)
}

// Params returns a, b, c, d.
func (m *DRA) Params() []*autograd.Var { return []*autograd.Var{m.A, m.B, m.C, m.D} }

func draValue(x float64, θ []float64) float64 {
	a, b, c, d := θ[0], θ[1], θ[2], θ[3]
	return x + b*sinSqOver(a, x) + c*math.Cos(a*x) + d*math.Tanh(b*x)
}

func draGrad(x float64, θ, dθ []float64) float64 {
	a, b, c, d := θ[0], θ[1], θ[2], θ[3]
	s, co := math.Sincos(a * x)
	t := math.Tanh(b * x)
	sech2 := 1 - t*t
	dθ[0] = b*sinSqOverDa(a, x) - c*x*s
	dθ[1] = sinSqOver(a, x) + d*x*sech2
	dθ[2] = co
	dθ[3] = t
	return 1 + b*math.Sin(2*a*x) - c*a*s + d*b*sech2
}

// sinc is sin(z)/z, 1 at 0, accurate for small z.
func sinc(z float64) float64 {
	if math.Abs(z) < 1e-4 {
		return 1 - z*z/6
	}
	return math.Sin(z) / z
}

// sinSqOver is sin²(a·x)/a = a·x²·sinc²(a·x).
func sinSqOver(a, x float64) float64 {
	s := sinc(a * x)
	return a * x * x * s * s
}

// sinSqOverDa is ∂/∂a of sin²(a·x)/a = x²·(2·sinc(2ax) − sinc²(ax)).
func sinSqOverDa(a, x float64) float64 {
	s := sinc(a * x)
	return x * x * (2*sinc(2*a*x) - s*s)
}

func init() {
	RegisterActivation("dra", func(c ActivationConfig) (Activation, error) {
		return &DRA{
			A: scalarParam(c.Prefix, "a", c.Init), B: scalarParam(c.Prefix, "b", c.Init),
			C: scalarParam(c.Prefix, "c", c.Init), D: scalarParam(c.Prefix, "d", c.Init),
		}, nil
	})
}
