// Package pde holds the numerics behind HyPINO ("HyPINO: Multi-Physics
// Neural Operators via HyperPINNs and the Method of Manufactured
// Solutions", Bischof et al., arXiv 2509.05117; code rbischof/hypino):
// linear second-order PDE operators on the square [-1, 1]², three PDE
// families (Poisson, Helmholtz, advection–diffusion), random analytic
// manufactured solutions with exact derivatives (so the source f = L u is
// exact), a second-order finite-difference solver to check solutions, and
// the rasterisation of a PDE specification on a grid, the input of the
// hypernetwork.
package pde

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// Operator is the constant-coefficient linear operator
//
//	L u = XX·u_xx + YY·u_yy + X·u_x + Y·u_y + U·u,
//
// HyPINO's five PDE terms (u, ux, uy, uxx, uyy) with their coefficients.
type Operator struct {
	U, X, Y, XX, YY float64
}

// Coeffs returns the coefficients in the order u, ux, uy, uxx, uyy.
func (o Operator) Coeffs() [5]float64 { return [5]float64{o.U, o.X, o.Y, o.XX, o.YY} }

// Apply returns L u given u and its derivatives.
func (o Operator) Apply(d Derivs) float64 {
	return o.XX*d.UXX + o.YY*d.UYY + o.X*d.UX + o.Y*d.UY + o.U*d.U
}

// Validate names a non-finite coefficient, or an operator that is not of
// second order (the finite-difference solver and the families need u_xx
// and u_yy).
func (o Operator) Validate() error {
	names := [5]string{"u", "ux", "uy", "uxx", "uyy"}
	for i, c := range o.Coeffs() {
		if math.IsNaN(c) || math.IsInf(c, 0) {
			return fmt.Errorf("pde: coefficient of %s is %g, want a finite number", names[i], c)
		}
	}
	if o.XX == 0 || o.YY == 0 || o.XX*o.YY < 0 {
		return fmt.Errorf("pde: coefficients of uxx and uyy are %g and %g, want two non-zero numbers of the same sign (an elliptic operator)", o.XX, o.YY)
	}
	return nil
}

// String writes the operator as HyPINO's PDE strings do.
func (o Operator) String() string {
	var parts []string
	for i, c := range o.Coeffs() {
		if c != 0 {
			parts = append(parts, fmt.Sprintf("%.3g·%s", c, [5]string{"u", "ux", "uy", "uxx", "uyy"}[i]))
		}
	}
	return strings.Join(parts, " + ")
}

// The PDE families.
const (
	Poisson            = "poisson"             // −Δu = f
	Helmholtz          = "helmholtz"           // Δu + k²u = f, k ∈ [0.5, 2]
	AdvectionDiffusion = "advection-diffusion" // −εΔu + b·∇u = f, ε ∈ [0.1, 1], b ∈ [−2, 2]²
)

// Families lists the PDE family names.
var Families = []string{Poisson, Helmholtz, AdvectionDiffusion}

// CheckFamily names an unknown family.
func CheckFamily(name string) error {
	for _, f := range Families {
		if f == name {
			return nil
		}
	}
	return fmt.Errorf("pde: unknown PDE family %q, want one of %s", name, strings.Join(Families, ", "))
}

// SampleOperator draws an operator of the family. Helmholtz's k² ≤ 4 stays
// below the first Dirichlet eigenvalue of −Δ on the square (π²/2 ≈ 4.93),
// so every instance has a unique solution.
func SampleOperator(family string, r *rand.Rand) (Operator, error) {
	if err := CheckFamily(family); err != nil {
		return Operator{}, err
	}
	switch family {
	case Poisson:
		return Operator{XX: -1, YY: -1}, nil
	case Helmholtz:
		k := 0.5 + 1.5*r.Float64()
		return Operator{XX: 1, YY: 1, U: k * k}, nil
	default:
		eps := 0.1 + 0.9*r.Float64()
		return Operator{XX: -eps, YY: -eps, X: 4*r.Float64() - 2, Y: 4*r.Float64() - 2}, nil
	}
}

// Derivs are a function's value and derivatives up to second order (no
// mixed term: the operators have none) at a point.
type Derivs struct {
	U, UX, UY, UXX, UYY float64
}

// Ridge is one term D·ψ(A·x + B·y + C) of a manufactured solution.
type Ridge struct {
	Psi        string
	A, B, C, D float64
}

// Basis names the ridge functions ψ, HyPINO's RandomFunction library.
var Basis = []string{"id", "sin", "cos", "tanh", "sigmoid", "rational"}

// psi returns ψ(z), ψ'(z), ψ”(z).
func psi(name string, z float64) (float64, float64, float64) {
	switch name {
	case "id":
		return z, 1, 0
	case "sin":
		return math.Sin(z), math.Cos(z), -math.Sin(z)
	case "cos":
		return math.Cos(z), -math.Sin(z), -math.Cos(z)
	case "tanh":
		t := math.Tanh(z)
		return t, 1 - t*t, -2 * t * (1 - t*t)
	case "sigmoid":
		s := 1 / (1 + math.Exp(-z))
		return s, s * (1 - s), s * (1 - s) * (1 - 2*s)
	case "rational":
		q := 1 / (1 + z*z)
		return q, -2 * z * q * q, (6*z*z - 2) * q * q * q
	}
	panic("pde: unknown ridge function " + name)
}

// Solution is a manufactured solution u(x, y) = Σ D·ψ(A·x + B·y + C), a
// sum of ridge functions as HyPINO's additive rule, whose derivatives are
// exact.
type Solution struct {
	Terms []Ridge
}

// Eval returns u and its derivatives at (x, y).
func (s Solution) Eval(x, y float64) Derivs {
	var d Derivs
	for _, t := range s.Terms {
		v, v1, v2 := psi(t.Psi, t.A*x+t.B*y+t.C)
		d.U += t.D * v
		d.UX += t.D * v1 * t.A
		d.UY += t.D * v1 * t.B
		d.UXX += t.D * v2 * t.A * t.A
		d.UYY += t.D * v2 * t.B * t.B
	}
	return d
}

// SampleSolution draws 2 to 4 ridge terms: ψ uniform over Basis, each of
// A and B zero with probability ¼ (otherwise uniform in [−2.5, 2.5]), C
// uniform in [−π, π], D uniform in [−1, 1]. (HyPINO draws 6 to 10 terms
// with A, B in [−10, 10] and also multiplies and composes; the smaller
// range suits the small PINNs here.)
func SampleSolution(r *rand.Rand) Solution {
	n := 2 + r.IntN(3)
	s := Solution{Terms: make([]Ridge, n)}
	coef := func() float64 {
		if r.Float64() < 0.25 {
			return 0
		}
		return 5*r.Float64() - 2.5
	}
	for i := range s.Terms {
		s.Terms[i] = Ridge{Psi: Basis[r.IntN(len(Basis))], A: coef(), B: coef(), C: 2*math.Pi*r.Float64() - math.Pi, D: 2*r.Float64() - 1}
	}
	return s
}

// Problem is a Dirichlet problem on [−1, 1]²: L u = F inside, u = G on
// the boundary. Exact, when not nil, is the known solution (a manufactured
// one).
type Problem struct {
	Family string
	Op     Operator
	F, G   func(x, y float64) float64
	Exact  func(x, y float64) float64
}

// Manufactured returns the problem whose solution is s: F = L s exactly,
// G = s.
func Manufactured(family string, op Operator, s Solution) Problem {
	return Problem{
		Family: family, Op: op,
		F:     func(x, y float64) float64 { return op.Apply(s.Eval(x, y)) },
		G:     func(x, y float64) float64 { return s.Eval(x, y).U },
		Exact: func(x, y float64) float64 { return s.Eval(x, y).U },
	}
}

// Bumps returns a problem with no closed-form solution: a source made of
// 1 to 3 Gaussian bumps (amplitude in [−10, 10], width in [0.2, 0.5]) and
// homogeneous Dirichlet data, as the paper's Poisson/Helmholtz benchmarks
// with a source term; its reference comes from the finite-difference
// solver.
func Bumps(family string, op Operator, r *rand.Rand) Problem {
	type bump struct{ a, x, y, w float64 }
	bs := make([]bump, 1+r.IntN(3))
	for i := range bs {
		bs[i] = bump{20*r.Float64() - 10, 1.2*r.Float64() - 0.6, 1.2*r.Float64() - 0.6, 0.2 + 0.3*r.Float64()}
	}
	return Problem{
		Family: family, Op: op,
		F: func(x, y float64) float64 {
			s := 0.0
			for _, b := range bs {
				s += b.a * math.Exp(-((x-b.x)*(x-b.x)+(y-b.y)*(y-b.y))/(2*b.w*b.w))
			}
			return s
		},
		G: func(x, y float64) float64 { return 0 },
	}
}

// Node returns the coordinate of grid index i on an n-point grid over
// [−1, 1] (i = 0 is −1, i = n−1 is 1).
func Node(i, n int) float64 { return -1 + 2*float64(i)/float64(n-1) }

// Grid evaluates fn on the n×n nodes, row-major with y as the slow index:
// out[j*n+i] = fn(Node(i), Node(j)).
func Grid(fn func(x, y float64) float64, n int) []float64 {
	out := make([]float64, n*n)
	for j := range n {
		for i := range n {
			out[j*n+i] = fn(Node(i, n), Node(j, n))
		}
	}
	return out
}

// ApplyFD applies the operator's second-order central-difference
// discretisation to grid values u (n×n, as Grid) at the interior nodes;
// the boundary entries of the result are 0.
func ApplyFD(op Operator, u []float64, n int) ([]float64, error) {
	if n < 3 {
		return nil, fmt.Errorf("pde: grid of %d points per side, want at least 3", n)
	}
	if len(u) != n*n {
		return nil, fmt.Errorf("pde: %d grid values for a %d×%d grid", len(u), n, n)
	}
	h := 2 / float64(n-1)
	out := make([]float64, n*n)
	for j := 1; j < n-1; j++ {
		for i := 1; i < n-1; i++ {
			k := j*n + i
			c, w, e, s, no := u[k], u[k-1], u[k+1], u[k-n], u[k+n]
			out[k] = op.XX*(w-2*c+e)/(h*h) + op.YY*(s-2*c+no)/(h*h) + op.X*(e-w)/(2*h) + op.Y*(no-s)/(2*h) + op.U*c
		}
	}
	return out, nil
}

// SolveFD solves the problem's second-order finite-difference
// discretisation on an n×n grid (Dirichlet values from G on the edge
// nodes) by banded Gaussian elimination with partial pivoting, and returns
// the grid values (as Grid).
func SolveFD(p Problem, n int) ([]float64, error) {
	if err := p.Op.Validate(); err != nil {
		return nil, err
	}
	if n < 3 {
		return nil, fmt.Errorf("pde: grid of %d points per side, want at least 3", n)
	}
	if p.F == nil || p.G == nil {
		return nil, fmt.Errorf("pde: problem without a source F or boundary data G")
	}
	h := 2 / float64(n-1)
	u := make([]float64, n*n)
	for j := range n {
		for i := range n {
			if i == 0 || j == 0 || i == n-1 || j == n-1 {
				u[j*n+i] = p.G(Node(i, n), Node(j, n))
			}
		}
	}
	m := n - 2 // interior nodes per side
	N := m * m
	a := newBand(N, m, m)
	b := make([]float64, N)
	op := p.Op
	cC := -2*op.XX/(h*h) - 2*op.YY/(h*h) + op.U
	cW, cE := op.XX/(h*h)-op.X/(2*h), op.XX/(h*h)+op.X/(2*h)
	cS, cN := op.YY/(h*h)-op.Y/(2*h), op.YY/(h*h)+op.Y/(2*h)
	for j := 1; j < n-1; j++ {
		for i := 1; i < n-1; i++ {
			r := (j-1)*m + (i - 1)
			b[r] = p.F(Node(i, n), Node(j, n))
			a.set(r, r, cC)
			for _, nb := range []struct {
				di, dj int
				c      float64
			}{{-1, 0, cW}, {1, 0, cE}, {0, -1, cS}, {0, 1, cN}} {
				ii, jj := i+nb.di, j+nb.dj
				if ii == 0 || jj == 0 || ii == n-1 || jj == n-1 {
					b[r] -= nb.c * u[jj*n+ii]
				} else {
					a.set(r, (jj-1)*m+(ii-1), nb.c)
				}
			}
		}
	}
	x, err := a.solve(b)
	if err != nil {
		return nil, err
	}
	for j := 1; j < n-1; j++ {
		for i := 1; i < n-1; i++ {
			u[j*n+i] = x[(j-1)*m+(i-1)]
		}
	}
	return u, nil
}

// band is an N×N matrix with kl sub- and ku super-diagonals, stored with
// room for the kl extra super-diagonals that partial pivoting fills.
type band struct {
	n, kl, ku, w int
	v            []float64
}

func newBand(n, kl, ku int) *band {
	w := 2*kl + ku + 1
	return &band{n: n, kl: kl, ku: ku, w: w, v: make([]float64, n*w)}
}

func (a *band) at(r, c int) *float64 { return &a.v[r*a.w+c-r+a.kl] }

func (a *band) set(r, c int, x float64) { *a.at(r, c) = x }

// solve factors a in place (LU with partial pivoting within the band) and
// returns the solution of a·x = b.
func (a *band) solve(b []float64) ([]float64, error) {
	n, kl, ku := a.n, a.kl, a.ku
	x := append([]float64(nil), b...)
	for k := range n {
		hi := min(k+kl, n-1)
		p := k
		for r := k + 1; r <= hi; r++ {
			if math.Abs(*a.at(r, k)) > math.Abs(*a.at(p, k)) {
				p = r
			}
		}
		piv := *a.at(p, k)
		if piv == 0 || math.IsNaN(piv) {
			return nil, fmt.Errorf("pde: the finite-difference system is singular (zero pivot at unknown %d)", k)
		}
		last := min(k+kl+ku, n-1)
		if p != k {
			for c := k; c <= last; c++ {
				pa, ka := a.at(p, c), a.at(k, c)
				*pa, *ka = *ka, *pa
			}
			x[p], x[k] = x[k], x[p]
		}
		for r := k + 1; r <= hi; r++ {
			f := *a.at(r, k) / piv
			if f == 0 {
				continue
			}
			*a.at(r, k) = 0
			for c := k + 1; c <= last; c++ {
				*a.at(r, c) -= f * *a.at(k, c)
			}
			x[r] -= f * x[k]
		}
	}
	for r := n - 1; r >= 0; r-- {
		s := x[r]
		for c := r + 1; c <= min(r+kl+ku, n-1); c++ {
			s -= *a.at(r, c) * x[c]
		}
		x[r] = s / *a.at(r, r)
	}
	return x, nil
}

// Channels names the rasterised specification's channels, in order: the
// boundary mask (1 on the edge nodes), the Dirichlet values there (0
// elsewhere), the source f on the interior as sign(f)·ln(1 + |f|)
// (HyPINO's transform of the source, which can be large), and one
// constant field per operator coefficient (u, ux, uy, uxx, uyy).
var Channels = []string{"boundary mask", "boundary value", "source", "c_u", "c_ux", "c_uy", "c_uxx", "c_uyy"}

// Raster returns the problem's specification on an n×n grid as
// len(Channels) planes, each n*n values laid out as Grid.
func Raster(p Problem, n int) ([][]float64, error) {
	if n < 3 {
		return nil, fmt.Errorf("pde: raster of %d points per side, want at least 3", n)
	}
	if p.F == nil || p.G == nil {
		return nil, fmt.Errorf("pde: problem without a source F or boundary data G")
	}
	return RasterGrid(p.Op, Grid(p.G, n), Grid(p.F, n), n)
}

// RasterGrid is Raster from grid values (n×n, as Grid) of the boundary
// data g (read on the edge nodes) and the source f (read inside): the
// form HyPINO's delta-PINN refinement feeds back, with the residuals of
// the current solution as g and f.
func RasterGrid(op Operator, g, f []float64, n int) ([][]float64, error) {
	if n < 3 {
		return nil, fmt.Errorf("pde: raster of %d points per side, want at least 3", n)
	}
	if len(g) != n*n || len(f) != n*n {
		return nil, fmt.Errorf("pde: %d boundary and %d source values for a %d×%d raster", len(g), len(f), n, n)
	}
	if err := op.Validate(); err != nil {
		return nil, err
	}
	out := make([][]float64, len(Channels))
	for c := range out {
		out[c] = make([]float64, n*n)
	}
	co := op.Coeffs()
	for j := range n {
		for i := range n {
			k := j*n + i
			if i == 0 || j == 0 || i == n-1 || j == n-1 {
				out[0][k] = 1
				out[1][k] = g[k]
			} else {
				out[2][k] = math.Copysign(math.Log1p(math.Abs(f[k])), f[k])
			}
			for c := range co {
				out[3+c][k] = co[c]
			}
		}
	}
	for c := range out {
		for k, v := range out[c] {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("pde: channel %q is %g at node %d, want finite values", Channels[c], v, k)
			}
		}
	}
	return out, nil
}
