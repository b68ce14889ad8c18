package pde

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// maxAbsInterior is the largest |a−b| over the interior nodes.
func maxAbsInterior(a, b []float64, n int) float64 {
	m := 0.0
	for j := 1; j < n-1; j++ {
		for i := 1; i < n-1; i++ {
			m = max(m, math.Abs(a[j*n+i]-b[j*n+i]))
		}
	}
	return m
}

// The manufactured solutions' exact derivatives match central finite
// differences of their values.
func TestSolutionDerivatives(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const h = 1e-4
	for trial := range 20 {
		s := SampleSolution(r)
		x, y := 1.6*r.Float64()-0.8, 1.6*r.Float64()-0.8
		d := s.Eval(x, y)
		u := func(x, y float64) float64 { return s.Eval(x, y).U }
		ux := (u(x+h, y) - u(x-h, y)) / (2 * h)
		uy := (u(x, y+h) - u(x, y-h)) / (2 * h)
		// Second derivatives from the exact first ones (avoids h² cancellation).
		uxx := (s.Eval(x+h, y).UX - s.Eval(x-h, y).UX) / (2 * h)
		uyy := (s.Eval(x, y+h).UY - s.Eval(x, y-h).UY) / (2 * h)
		for _, c := range []struct {
			name      string
			got, want float64
		}{{"ux", d.UX, ux}, {"uy", d.UY, uy}, {"uxx", d.UXX, uxx}, {"uyy", d.UYY, uyy}} {
			if math.Abs(c.got-c.want) > 1e-5*(1+math.Abs(c.want)) {
				t.Errorf("trial %d %s: exact %g, finite differences %g", trial, c.name, c.got, c.want)
			}
		}
	}
}

// order returns log2 of successive error ratios when the grid is halved.
func order(errs []float64) []float64 {
	var out []float64
	for i := 1; i < len(errs); i++ {
		out = append(out, math.Log2(errs[i-1]/errs[i]))
	}
	return out
}

// The discrete operator applied to a manufactured solution gives the exact
// source to second order, and the finite-difference solution converges to
// the manufactured solution at second order, for every family.
func TestManufacturedResidualAndSolveOrder(t *testing.T) {
	for _, fam := range Families {
		t.Run(fam, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, uint64(len(fam))))
			op, err := SampleOperator(fam, r)
			if err != nil {
				t.Fatal(err)
			}
			s := Solution{Terms: []Ridge{{"sin", 1.3, -0.7, 0.4, 0.8}, {"tanh", 0.5, 1.1, -0.2, -0.6}, {"rational", -0.9, 0.6, 0.3, 0.5}}}
			p := Manufactured(fam, op, s)
			var resErr, solErr []float64
			for _, n := range []int{17, 33, 65} {
				u := Grid(p.Exact, n)
				lu, err := ApplyFD(op, u, n)
				if err != nil {
					t.Fatal(err)
				}
				resErr = append(resErr, maxAbsInterior(lu, Grid(p.F, n), n))
				sol, err := SolveFD(p, n)
				if err != nil {
					t.Fatal(err)
				}
				solErr = append(solErr, maxAbsInterior(sol, u, n))
			}
			for name, errs := range map[string][]float64{"residual": resErr, "solution": solErr} {
				for _, q := range order(errs) {
					if q < 1.8 || q > 2.3 {
						t.Errorf("%s errors %v: observed order %.2f, want 2", name, errs, q)
					}
				}
			}
		})
	}
}

// The banded solver with pivoting matches a dense solve on an operator
// whose diagonal is small (pivoting needed).
func TestBandSolveAgainstDense(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const N, kl, ku = 12, 3, 2
	a := newBand(N, kl, ku)
	dense := make([][]float64, N)
	for i := range dense {
		dense[i] = make([]float64, N)
		for j := max(0, i-kl); j <= min(N-1, i+ku); j++ {
			v := r.NormFloat64()
			if i == j {
				v *= 1e-3
			}
			dense[i][j] = v
			a.set(i, j, v)
		}
	}
	b := make([]float64, N)
	for i := range b {
		b[i] = r.NormFloat64()
	}
	x, err := a.solve(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range N {
		s := 0.0
		for j := range N {
			s += dense[i][j] * x[j]
		}
		if math.Abs(s-b[i]) > 1e-9 {
			t.Fatalf("row %d: A·x = %g, b = %g", i, s, b[i])
		}
	}
}

func TestErrors(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	good := Manufactured(Poisson, Operator{XX: -1, YY: -1}, SampleSolution(r))
	cases := []struct {
		name, want string
		err        func() error
	}{
		{"unknown family", `unknown PDE family "heat"`, func() error { _, err := SampleOperator("heat", r); return err }},
		{"NaN coefficient", "coefficient of ux is NaN", func() error { return Operator{XX: -1, YY: -1, X: math.NaN()}.Validate() }},
		{"Inf coefficient", "coefficient of u is +Inf", func() error {
			_, err := SolveFD(Problem{Op: Operator{XX: 1, YY: 1, U: math.Inf(1)}, F: good.F, G: good.G}, 9)
			return err
		}},
		{"not elliptic", "same sign", func() error { return Operator{XX: 1, YY: -1}.Validate() }},
		{"small grid", "at least 3", func() error { _, err := SolveFD(good, 2); return err }},
		{"non-finite source", `channel "source"`, func() error {
			p := good
			p.F = func(x, y float64) float64 { return math.NaN() }
			_, err := Raster(p, 8)
			return err
		}},
	}
	for _, c := range cases {
		err := c.err()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

// The raster holds the boundary data on the edge, the transformed source
// inside and the coefficients everywhere.
func TestRaster(t *testing.T) {
	p := Manufactured(Helmholtz, Operator{XX: 1, YY: 1, U: 2}, Solution{Terms: []Ridge{{"sin", 1, 2, 0, 1}}})
	const n = 8
	ch, err := Raster(p, n)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch) != len(Channels) {
		t.Fatalf("%d channels, want %d", len(ch), len(Channels))
	}
	x, y := Node(0, n), Node(3, n)
	if ch[0][3*n] != 1 || math.Abs(ch[1][3*n]-p.G(x, y)) > 1e-12 || ch[2][3*n] != 0 {
		t.Errorf("edge node: mask %g value %g (want %g) source %g", ch[0][3*n], ch[1][3*n], p.G(x, y), ch[2][3*n])
	}
	x = Node(2, n)
	f := p.F(x, y)
	if want := math.Copysign(math.Log1p(math.Abs(f)), f); ch[0][3*n+2] != 0 || math.Abs(ch[2][3*n+2]-want) > 1e-12 {
		t.Errorf("interior node: mask %g source %g, want 0 and %g", ch[0][3*n+2], ch[2][3*n+2], want)
	}
	if ch[3][5] != 2 || ch[6][5] != 1 || ch[4][5] != 0 {
		t.Errorf("coefficient planes %g %g %g, want 2 0 1", ch[3][5], ch[4][5], ch[6][5])
	}
}
