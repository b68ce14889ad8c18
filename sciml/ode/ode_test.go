package ode

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// closed-form test problems.
var exact = []struct {
	name string
	f    Func
	y0   []float64
	sol  func(t float64) []float64
}{
	{"decay", func(_ float64, y, dy []float64) { dy[0] = -y[0] }, []float64{1},
		func(t float64) []float64 { return []float64{math.Exp(-t)} }},
	{"harmonic", func(_ float64, y, dy []float64) { dy[0], dy[1] = y[1], -y[0] }, []float64{1, 0},
		func(t float64) []float64 { return []float64{math.Cos(t), -math.Sin(t)} }},
	// y′ = −2t·y², y(0) = 1: y = 1/(1+t²) (non-autonomous).
	{"rational", func(t float64, y, dy []float64) { dy[0] = -2 * t * y[0] * y[0] }, []float64{1},
		func(t float64) []float64 { return []float64{1 / (1 + t*t)} }},
}

func maxErr(a, b []float64) float64 {
	m := 0.0
	for i := range a {
		m = math.Max(m, math.Abs(a[i]-b[i]))
	}
	return m
}

// observedOrder integrates to T with n and 2n steps and returns log2 of the
// ratio of the errors.
func observedOrder(t *testing.T, step func(f Func, t, h float64, y []float64), f Func, y0 []float64, sol func(float64) []float64, T float64, n int) float64 {
	t.Helper()
	errAt := func(n int) float64 {
		y := append([]float64(nil), y0...)
		h := T / float64(n)
		for i := range n {
			step(f, float64(i)*h, h, y)
		}
		return maxErr(y, sol(T))
	}
	return math.Log2(errAt(n) / errAt(2*n))
}

func TestOrderOfAccuracy(t *testing.T) {
	rk4 := func(f Func, t, h float64, y []float64) { RK4Step(f, t, y, h, y) }
	dp5 := func(f Func, t, h float64, y []float64) {
		e := make([]float64, len(y))
		DOPRI5Step(f, t, y, h, nil, y, e)
	}
	for _, p := range exact {
		for _, m := range []struct {
			name  string
			step  func(Func, float64, float64, []float64)
			order float64
		}{{"rk4", rk4, 4}, {"dopri5", dp5, 5}} {
			got := observedOrder(t, m.step, p.f, p.y0, p.sol, 2, 40)
			if math.Abs(got-m.order) > 0.35 {
				t.Errorf("%s/%s: observed order %.3f, want %.0f", p.name, m.name, got, m.order)
			}
		}
	}
}

// The embedded estimate is the local error of the 4th-order solution, which
// is O(h⁵): halving h divides it by ≈ 32.
func TestEmbeddedErrorEstimate(t *testing.T) {
	for _, p := range exact {
		est := func(h float64) float64 {
			y5, e := make([]float64, len(p.y0)), make([]float64, len(p.y0))
			DOPRI5Step(p.f, 0.3, p.sol(0.3), h, nil, y5, e)
			return math.Sqrt(e[0]*e[0] + e[len(e)-1]*e[len(e)-1])
		}
		if got := math.Log2(est(0.1) / est(0.05)); math.Abs(got-5) > 0.4 {
			t.Errorf("%s: local error estimate scales as h^%.2f, want h^5", p.name, got)
		}
	}
}

func TestRK45Tolerance(t *testing.T) {
	ts := []float64{0, 0.5, 1, 2, 3, 5}
	for _, p := range exact {
		prev := math.Inf(1)
		prevEvals := 0
		for _, tol := range []float64{1e-4, 1e-7, 1e-10} {
			ys, st, err := RK45(p.f, p.y0, ts, Options{RTol: tol, ATol: tol})
			if err != nil {
				t.Fatalf("%s: %v", p.name, err)
			}
			e := 0.0
			for i, tt := range ts {
				e = math.Max(e, maxErr(ys[i], p.sol(tt)))
			}
			if e > 200*tol || e >= prev {
				t.Errorf("%s tol %g: max error %.3g (previous tolerance %.3g), want ≤ 200·tol and decreasing", p.name, tol, e, prev)
			}
			if st.Evals <= prevEvals {
				t.Errorf("%s tol %g: %d evaluations, want more than the %d of the looser tolerance", p.name, tol, st.Evals, prevEvals)
			}
			prev, prevEvals = e, st.Evals
		}
	}
}

// RK45 and a fine RK4 agree on every registered system over a short time.
func TestSystemsRK45AgainstRK4(t *testing.T) {
	ts := []float64{0, 0.25, 0.5, 0.75, 1}
	for _, name := range Systems() {
		s, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := s.Func(s.Nominal)
		if err != nil {
			t.Fatal(err)
		}
		y0 := []float64{0.5, -1, 1.5}
		a, _, err := RK45(f, y0, ts, Options{RTol: 1e-9, ATol: 1e-9})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, err := RK4(f, y0, ts, 400)
		if err != nil {
			t.Fatal(err)
		}
		for i := range ts {
			if d := maxErr(a[i], b[i]); d > 1e-6*(1+math.Abs(b[i][0])) {
				t.Errorf("%s t=%g: RK45 %v, RK4 %v", name, ts[i], a[i], b[i])
			}
		}
	}
}

func TestSample(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, name := range Systems() {
		s, _ := Lookup(name)
		for range 50 {
			p, err := s.Sample(rng, 0.1)
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range p {
				m := s.Nominal[i]
				if math.Abs(v-m) > 0.1*math.Abs(m)+0.005*math.Abs(m) {
					t.Fatalf("%s %s = %g outside ±10 %% of %g", name, s.Params[i], v, m)
				}
				if Round3(v) != v {
					t.Fatalf("%s %s = %v has more than 3 significant digits", name, s.Params[i], v)
				}
			}
		}
	}
}

func TestBadInput(t *testing.T) {
	lor, _ := Lookup("lorenz")
	decay := exact[0].f
	cases := []struct {
		name string
		run  func() error
		want string
	}{
		{"unknown system", func() error { _, err := Lookup("lorentz"); return err }, `unknown ODE system "lorentz"; known systems: lorenz`},
		{"NaN parameter", func() error { _, err := lor.Func([]float64{10, math.NaN(), 2.6}); return err }, "parameter rho = NaN"},
		{"Inf parameter", func() error { _, err := lor.Func([]float64{math.Inf(1), 28, 2.6}); return err }, "parameter sigma = +Inf"},
		{"parameter count", func() error { _, err := lor.Func([]float64{1}); return err }, "takes 3 parameters"},
		{"gamma", func() error { _, err := lor.Sample(rand.New(rand.NewPCG(1, 1)), math.NaN()); return err }, "gamma = NaN"},
		{"NaN y0", func() error { _, _, err := RK45(decay, []float64{math.NaN()}, []float64{0, 1}, Options{}); return err }, "y0[0] = NaN"},
		{"empty y0", func() error { _, err := RK4(decay, nil, []float64{0, 1}, 1); return err }, "empty initial state"},
		{"times", func() error { _, _, err := RK45(decay, []float64{1}, []float64{0, 1, 1}, Options{}); return err }, "increase strictly"},
		{"NaN time", func() error { _, err := RK4(decay, []float64{1}, []float64{0, math.NaN()}, 1); return err }, "output time 1 is NaN"},
		{"rtol", func() error { _, _, err := RK45(decay, []float64{1}, []float64{0, 1}, Options{RTol: -1}); return err }, "RTol = -1"},
		{"substeps", func() error { _, err := RK4(decay, []float64{1}, []float64{0, 1}, 0); return err }, "substeps = 0"},
		// y' = y², y(0) = 1 blows up at t = 1.
		{"blow-up rk45", func() error {
			_, _, err := RK45(func(_ float64, y, dy []float64) { dy[0] = y[0] * y[0] }, []float64{1}, []float64{0, 2}, Options{MaxSteps: 100000})
			return err
		}, ""},
		{"blow-up rk4", func() error {
			_, err := RK4(func(_ float64, y, dy []float64) { dy[0] = y[0] * y[0] }, []float64{1}, []float64{0, 2}, 10)
			return err
		}, "not finite"},
	}
	for _, c := range cases {
		err := c.run()
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q, want it to contain %q", c.name, err, c.want)
		}
	}
}
