package nn

// Snake, from "Neural Networks Fail to Learn Periodic Functions and How to
// Fix It" (arXiv 2006.08195): Snake(x) = x + sin²(a·x)/a with one learnable
// scalar a drawn from N(0, 1), as the DRA paper's comparison uses it
// (Baran-phys/DynamicFormer, dra/test.ipynb "LearnedSnake"). The division is
// evaluated as in DRA (dra.go), finite as a → 0.

import (
	"math"

	"github.com/loomml/loom/autograd"
)

// Snake is x + sin²(a·x)/a.
type Snake struct {
	A *autograd.Var // one element
}

// Apply maps x elementwise.
func (m *Snake) Apply(x *autograd.Var) *autograd.Var {
	return scalarAct("snake", x, []*autograd.Var{m.A},
		func(x float64, θ []float64) float64 { return x + sinSqOver(θ[0], x) },
		func(x float64, θ, dθ []float64) float64 {
			dθ[0] = sinSqOverDa(θ[0], x)
			return 1 + math.Sin(2*θ[0]*x)
		})
}

// Params returns a.
func (m *Snake) Params() []*autograd.Var { return []*autograd.Var{m.A} }

func init() {
	RegisterActivation("snake", func(c ActivationConfig) (Activation, error) {
		return &Snake{A: scalarParam(c.Prefix, "a", c.Init)}, nil
	})
}
