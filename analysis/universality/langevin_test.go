package universality

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// The analytic gradient of the log posterior against central differences.
func TestLangevinGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, a := range []Arch{{1, 1}, {2, 3}, {3, 4}} {
		l, err := NewLangevin(a, 1.3, 2.0/3, 0.1, 1, 0, 0, rng)
		if err != nil {
			t.Fatal(err)
		}
		n1, n0 := make([]float64, a.Points()), make([]float64, a.Points())
		for x := range n1 {
			n1[x], n0[x] = float64(rng.IntN(5)), float64(rng.IntN(5))
		}
		for range 5 {
			th := make([]float64, a.Params())
			for i := range th {
				th[i] = rng.NormFloat64()
			}
			g := make([]float64, len(th))
			l.Grad(th, n1, n0, g)
			for i := range th {
				const h = 1e-6
				p, m := append([]float64(nil), th...), append([]float64(nil), th...)
				p[i] += h
				m[i] -= h
				num := (l.LogPosterior(p, n1, n0) - l.LogPosterior(m, n1, n0)) / (2 * h)
				if math.Abs(num-g[i]) > 1e-5*max(1, math.Abs(num)) {
					t.Fatalf("%v: ∂/∂θ%d analytic %v, numeric %v", a, i, g[i], num)
				}
			}
		}
	}
}

// quadrature is the exact posterior predictive of Arch{1, 1} (weights w,
// v) on a grid.
func quadrature(beta, priorVar float64, n1, n0 []float64) []float64 {
	a := Arch{1, 1}
	l := &Langevin{Arch: a, Beta: beta, PriorVar: priorVar}
	const lim, h = 6.0, 0.01
	var lps []float64
	var ps [][]float64
	mx := math.Inf(-1)
	for w := -lim; w <= lim; w += h {
		for v := -lim; v <= lim; v += h {
			th := []float64{w, v}
			lp := l.LogPosterior(th, n1, n0)
			f := a.Eval(th)
			lps = append(lps, lp)
			ps = append(ps, []float64{Sigmoid(beta * f[0]), Sigmoid(beta * f[1])})
			mx = max(mx, lp)
		}
	}
	out := make([]float64, 2)
	z := 0.0
	for k, lp := range lps {
		w := math.Exp(lp - mx)
		z += w
		out[0] += w * ps[k][0]
		out[1] += w * ps[k][1]
	}
	out[0] /= z
	out[1] /= z
	return out
}

// The Langevin ensemble (full-data and minibatch gradients) and the
// importance-sampled mixture match the exact posterior predictive of a
// two-weight network. The posterior has two basins (w, v > 0 fits input
// +1, w, v < 0 fits input −1) which chains cross rarely, so the chains
// run long (shorter runs keep the prior's split between the basins and
// miss by about 0.05).
func TestLangevinMatchesPosterior(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	const beta, pv = 1.5, 2.0 / 3
	data := [][2]int{}
	for range 3 {
		for range 6 {
			data = append(data, [2]int{1, 1})
		}
		data = append(data, [2]int{1, 0}, [2]int{0, 1})
		for range 5 {
			data = append(data, [2]int{0, 0})
		}
	}
	n1, n0 := make([]float64, 2), make([]float64, 2)
	for _, d := range data {
		if d[1] == 1 {
			n1[d[0]]++
		} else {
			n0[d[0]]++
		}
	}
	want := quadrature(beta, pv, n1, n0)
	prior := quadrature(beta, pv, []float64{0, 0}, []float64{0, 0})
	for _, tc := range []struct {
		batch int
		tol   float64
	}{{0, 0.015}, {8, 0.03}} {
		batch := tc.batch
		l, err := NewLangevin(Arch{1, 1}, beta, pv, 0.5, 200, 0, batch, rand.New(rand.NewPCG(5, uint64(batch))))
		if err != nil {
			t.Fatal(err)
		}
		got := l.PredictAll()
		for x := range got {
			if math.Abs(got[x]-prior[x]) > 0.05 {
				t.Fatalf("prior draws predict %v, prior %v", got, prior)
			}
		}
		for _, d := range data {
			l.Observe(d[0], d[1])
		}
		l.Run(20000)
		got = l.PredictAll()
		for x := range got {
			if math.Abs(got[x]-want[x]) > tc.tol {
				t.Errorf("batch %d: Langevin predicts %v, exact posterior %v (prior %v)", batch, got, want, prior)
			}
		}
	}
	s, err := NewSampled(Arch{1, 1}, beta, pv, 200000, rand.New(rand.NewPCG(6, 6)))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range data {
		s.Observe(d[0], d[1])
	}
	got := s.PredictAll()
	for x := range got {
		if math.Abs(got[x]-want[x]) > 0.01 {
			t.Errorf("importance sampling predicts %v, exact %v", got, want)
		}
	}
	if ess := s.ESS(); ess < 1000 || ess > 200000 {
		t.Errorf("ESS %v", ess)
	}
}

func TestLangevinErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, tc := range []struct {
		beta, pv, eta   float64
		k, steps, batch int
		want            string
	}{
		{0, 1, 1, 1, 1, 0, "Beta"},
		{1, -1, 1, 1, 1, 0, "PriorVar"},
		{1, 1, math.Inf(1), 1, 1, 0, "Eta"},
		{1, 1, 1, 0, 1, 0, "chains"},
		{1, 1, 1, 1, -1, 0, "Steps"},
		{1, 1, 1, 1, 1, -2, "Batch"},
	} {
		_, err := NewLangevin(Arch{2, 2}, tc.beta, tc.pv, tc.eta, tc.k, tc.steps, tc.batch, rng)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one naming %s", tc, err, tc.want)
		}
	}
	if _, err := NewLangevin(Arch{0, 2}, 1, 1, 1, 1, 1, 0, rng); err == nil {
		t.Error("Inputs = 0 accepted")
	}
	if _, err := NewSampled(Arch{2, 2}, 1, 1, 0, rng); err == nil {
		t.Error("0 draws accepted")
	}
}
