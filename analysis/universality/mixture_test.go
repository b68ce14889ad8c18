package universality

import (
	"math"
	"math/rand/v2"
	"testing"
)

// targets picks functions of very different weights: the heaviest
// non-constant one, the lightest, and two between.
func targets(c *Class) []int {
	heavy, light := -1, -1
	for i, f := range c.Funcs {
		if f.Constant() {
			continue
		}
		if heavy < 0 || f.LogW > c.Funcs[heavy].LogW {
			heavy = i
		}
		if light < 0 || f.LogW < c.Funcs[light].LogW {
			light = i
		}
	}
	return []int{heavy, light, len(c.Funcs) / 3, 2 * len(c.Funcs) / 3}
}

// After every update the posterior sums to 1 (to 1e-12), the pointwise
// regret never exceeds −ln W_0(θ*) and equals −ln W_0 + ln π_n(f*)
// exactly (q(y^n) = Σ_f w_f p_f(y^n) ≥ w* p*(y^n)) — on sequences from the
// target and on sequences that are not (the bound holds for every
// sequence).
func TestPointwiseBound(t *testing.T) {
	for _, a := range []Arch{{2, 2}, {3, 2}} {
		c, err := Enumerate(a, 1.5)
		if err != nil {
			t.Fatal(err)
		}
		for _, target := range targets(c) {
			logW0 := c.Funcs[target].LogW
			for seed := range uint64(25) {
				rng := rand.New(rand.NewPCG(seed, uint64(target)))
				n := 150
				var xs, ys []int
				switch seed % 5 {
				case 0: // adversarial: labels from another function
					xs, ys = c.Sample(rng.IntN(len(c.Funcs)), n, rng)
				case 1: // adversarial: the label the target finds least likely
					xs, _ = c.Sample(target, n, rng)
					ys = make([]int, n)
					for t, x := range xs {
						if c.P1(target, x) < 0.5 {
							ys[t] = 1
						}
					}
				default:
					xs, ys = c.Sample(target, n, rng)
				}
				m := NewMixture(c)
				reg := 0.0
				for s := range xs {
					reg += c.LogP(target, xs[s], ys[s]) + m.Update(xs[s], ys[s])
					sum := 0.0
					for _, p := range m.Posterior() {
						sum += p
					}
					if math.Abs(sum-1) > 1e-12 {
						t.Fatalf("%v: posterior sums to 1%+.3g after %d updates", a, sum-1, s+1)
					}
					if reg > -logW0+1e-9 {
						t.Fatalf("%v target %d seed %d: regret %v after %d samples above −ln W_0 = %v", a, target, seed, reg, s+1, -logW0)
					}
					if want := -logW0 + m.LogPosterior()[target]; math.Abs(reg-want) > 1e-9*max(1, math.Abs(want)) {
						t.Fatalf("%v: regret %v, want −ln W_0 + ln π(f*) = %v", a, reg, want)
					}
				}
			}
		}
	}
}

// Online's records agree with the mixture's, and the expected regret
// averaged over many sequences from the target stays below the bound
// min_ε (−ln W_ε + nε).
func TestExpectedBound(t *testing.T) {
	c, err := Enumerate(Arch{3, 2}, 1)
	if err != nil {
		t.Fatal(err)
	}
	checks := []int{1, 5, 20, 50, 100, 200}
	for _, target := range targets(c) {
		b := c.Ball(target)
		const seqs = 40
		realised := make([]float64, checks[len(checks)-1])
		expected := make([]float64, len(realised))
		for seed := range uint64(seqs) {
			xs, ys := c.Sample(target, len(realised), rand.New(rand.NewPCG(seed, 7)))
			r, err := c.Online(target, xs, ys, []int{0, 10, len(xs)})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Predictions) != 3 || len(r.Regret) != len(xs) {
				t.Fatalf("records: %d predictions, %d regrets", len(r.Predictions), len(r.Regret))
			}
			for x, p := range r.Predictions[0] { // the prior predictive
				want := 0.0
				for i := range c.Funcs {
					want += math.Exp(c.Funcs[i].LogW) * c.P1(i, x)
				}
				if math.Abs(p-want) > 1e-12 {
					t.Fatalf("prior predictive %v, want %v", p, want)
				}
			}
			for s := range realised {
				if math.Abs(r.PosteriorSum[s]-1) > 1e-12 {
					t.Fatalf("posterior sum %v", r.PosteriorSum[s])
				}
				realised[s] += r.Regret[s] / seqs
				expected[s] += r.Expected[s] / seqs
			}
		}
		for _, n := range checks {
			bound, _ := b.Bound(n)
			if expected[n-1] > bound {
				t.Errorf("target %d, n = %d: mean expected regret %v above the bound %v", target, n, expected[n-1], bound)
			}
			// The realised mean is noisier; it must agree with the expected one.
			if math.Abs(realised[n-1]-expected[n-1]) > 0.5+0.25*expected[n-1] {
				t.Errorf("target %d, n = %d: realised mean %v, expected %v", target, n, realised[n-1], expected[n-1])
			}
		}
	}
	if _, err := c.Online(-1, nil, nil, nil); err == nil {
		t.Error("target −1 accepted")
	}
	if _, err := c.Online(0, []int{1}, nil, nil); err == nil {
		t.Error("unequal lengths accepted")
	}
}

// The mixture over distinct functions predicts exactly as the mixture
// over every weight setting, computed directly from the weights.
func TestMixtureMatchesWeights(t *testing.T) {
	a := Arch{2, 2}
	c, err := Enumerate(a, 0.8)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	xs, ys := c.Sample(len(c.Funcs)/2, 30, rng)
	m := NewMixture(c)
	logLik := make([]float64, int(a.Size()))
	theta := make([]float64, a.Params())
	tables := make([][]float64, len(logLik))
	for code := range tables {
		for i, w := range ternary(code, a.Params()) {
			theta[i] = float64(w)
		}
		tables[code] = a.Eval(theta)
	}
	for s := range xs {
		for x := range a.Points() {
			num, den := 0.0, 0.0
			for code, f := range tables {
				w := math.Exp(logLik[code])
				num += w * Sigmoid(0.8*f[x])
				den += w
			}
			if got := m.Predict(x); math.Abs(got-num/den) > 1e-12 {
				t.Fatalf("step %d, input %d: mixture %v, over weights %v", s, x, got, num/den)
			}
		}
		m.Update(xs[s], ys[s])
		for code, f := range tables {
			logLik[code] += LogSigmoid(float64(2*ys[s]-1) * 0.8 * f[xs[s]])
		}
	}
}
