package ode

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// System is a named ODE system u' = f(u; p) with nominal parameters, as in
// PROSE's generators (felix-lyx/prose, prose_ode/.../generators.py): the
// same equations, nominal values and state ordering.
type System struct {
	Name    string
	Dim     int
	Params  []string  // parameter names
	Nominal []float64 // nominal values, one per parameter
	Formula string    // the equations, for documentation
	rhs     func(p, u, du []float64)
}

var systems = []System{
	{Name: "lorenz", Dim: 3, Params: []string{"sigma", "rho", "beta"}, Nominal: []float64{10, 28, 8.0 / 3},
		Formula: "u0' = σ(u1 − u0), u1' = u0(ρ − u2) − u1, u2' = u0·u1 − β·u2",
		rhs: func(p, u, du []float64) {
			du[0] = p[0] * (u[1] - u[0])
			du[1] = u[0]*(p[1]-u[2]) - u[1]
			du[2] = u[0]*u[1] - p[2]*u[2]
		}},
	{Name: "rossler", Dim: 3, Params: []string{"a", "b", "c"}, Nominal: []float64{0.1, 0.1, 14},
		Formula: "u0' = −u1 − u2, u1' = u0 + a·u1, u2' = b + u2(u0 − c)",
		rhs: func(p, u, du []float64) {
			du[0] = -u[1] - u[2]
			du[1] = u[0] + p[0]*u[1]
			du[2] = p[1] + u[2]*(u[0]-p[2])
		}},
	{Name: "thomas", Dim: 3, Params: []string{"b"}, Nominal: []float64{0.17},
		Formula: "u0' = sin u1 − b·u0, u1' = sin u2 − b·u1, u2' = sin u0 − b·u2",
		rhs: func(p, u, du []float64) {
			du[0] = math.Sin(u[1]) - p[0]*u[0]
			du[1] = math.Sin(u[2]) - p[0]*u[1]
			du[2] = math.Sin(u[0]) - p[0]*u[2]
		}},
	{Name: "sprott_linz_f", Dim: 3, Params: []string{"a"}, Nominal: []float64{0.5},
		Formula: "u0' = u1 + u2, u1' = −u0 + a·u1, u2' = u0² − u2",
		rhs: func(p, u, du []float64) {
			du[0] = u[1] + u[2]
			du[1] = -u[0] + p[0]*u[1]
			du[2] = u[0]*u[0] - u[2]
		}},
	{Name: "duffing", Dim: 3, Params: []string{"alpha", "beta", "gamma", "delta", "omega"}, Nominal: []float64{-1, -5, 8, -0.02, 0.5},
		Formula: "u0' = 1 (time), u1' = u2, u2' = δ·u2 + α·u1 + β·u1³ + γ·cos(ω·u0)",
		rhs: func(p, u, du []float64) {
			du[0] = 1
			du[1] = u[2]
			du[2] = p[3]*u[2] + p[0]*u[1] + p[1]*u[1]*u[1]*u[1] + p[2]*math.Cos(p[4]*u[0])
		}},
}

// Systems returns the names of the registered systems.
func Systems() []string {
	names := make([]string, len(systems))
	for i, s := range systems {
		names[i] = s.Name
	}
	return names
}

// Lookup returns the named system, or an error naming the known ones.
func Lookup(name string) (System, error) {
	for _, s := range systems {
		if s.Name == name {
			return s, nil
		}
	}
	return System{}, fmt.Errorf("ode: unknown ODE system %q; known systems: %s", name, strings.Join(Systems(), ", "))
}

// Func returns the system's right-hand side with parameters p, or an error
// naming the parameter when p has the wrong length or a non-finite value.
func (s System) Func(p []float64) (Func, error) {
	if len(p) != len(s.Params) {
		return nil, fmt.Errorf("ode: %s takes %d parameters (%s), have %d", s.Name, len(s.Params), strings.Join(s.Params, ", "), len(p))
	}
	for i, v := range p {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("ode: %s parameter %s = %v, want a finite value", s.Name, s.Params[i], v)
		}
	}
	p = append([]float64(nil), p...)
	return func(_ float64, u, du []float64) { s.rhs(p, u, du) }, nil
}

// Sample draws parameters uniformly within ±gamma·|nominal| of the nominal
// values (PROSE: gamma = 0.1), each rounded to three significant digits as
// PROSE's refine_floats does, so that the symbolic form holds them exactly.
func (s System) Sample(rng *rand.Rand, gamma float64) ([]float64, error) {
	if math.IsNaN(gamma) || math.IsInf(gamma, 0) || gamma < 0 || gamma >= 1 {
		return nil, fmt.Errorf("ode: parameter range gamma = %v, want a value in [0, 1)", gamma)
	}
	p := make([]float64, len(s.Nominal))
	for i, m := range s.Nominal {
		half := math.Abs(m) * gamma
		p[i] = Round3(m - half + 2*half*rng.Float64())
	}
	return p, nil
}

// Round3 rounds x to three significant digits.
func Round3(x float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'e', 2, 64), 64)
	return v
}
