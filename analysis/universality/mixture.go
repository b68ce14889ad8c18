package universality

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Mixture is the online Bayesian mixture learner over a Class: the
// predictive q(y | x, past) = Σ_f π(f | past) p_f(y | x), with the
// posterior π kept in the log domain and renormalised after every
// update. Its prior is the uniform prior over the ternary weight settings,
// which puts weight Count/3^Params on each distinct function.
type Mixture struct {
	c       *Class
	logPost []float64
	post    []float64 // exp(logPost), refreshed after each update
}

// NewMixture starts the learner at the prior.
func NewMixture(c *Class) *Mixture {
	m := &Mixture{c: c, logPost: make([]float64, len(c.Funcs)), post: make([]float64, len(c.Funcs))}
	for i, f := range c.Funcs {
		m.logPost[i] = f.LogW
	}
	m.normalise()
	return m
}

func (m *Mixture) normalise() {
	mx := math.Inf(-1)
	for _, v := range m.logPost {
		mx = max(mx, v)
	}
	s := 0.0
	for i, v := range m.logPost {
		m.post[i] = math.Exp(v - mx)
		s += m.post[i]
	}
	lz := mx + math.Log(s)
	for i := range m.logPost {
		m.logPost[i] -= lz
		m.post[i] /= s
	}
}

// Posterior is π(f | past) for every function (shared; do not modify).
func (m *Mixture) Posterior() []float64 { return m.post }

// LogPosterior is ln π(f | past) (shared; do not modify).
func (m *Mixture) LogPosterior() []float64 { return m.logPost }

// Predict is q(y = 1 | x, past).
func (m *Mixture) Predict(x int) float64 {
	s := 0.0
	p1 := m.c.p1Table()
	for i, f := range m.c.Funcs {
		s += m.post[i] * p1[int(f.F[x])-m.c.lo]
	}
	return s
}

// PredictAll is q(y = 1 | x, past) at every input.
func (m *Mixture) PredictAll() []float64 {
	out := make([]float64, m.c.Arch.Points())
	p1 := m.c.p1Table()
	for i, f := range m.c.Funcs {
		w := m.post[i]
		for x, v := range f.F {
			out[x] += w * p1[int(v)-m.c.lo]
		}
	}
	return out
}

// Update observes (x, y) and returns the learner's log-loss on it,
// −ln q(y | x, past), computed before the update as Σ_f π_f p_f(y|x); the
// posterior itself is updated in the log domain.
func (m *Mixture) Update(x, y int) float64 {
	q := 0.0
	py, lpy := m.c.p[y], m.c.logp[y]
	for i, f := range m.c.Funcs {
		v := int(f.F[x]) - m.c.lo
		q += m.post[i] * py[v]
		m.logPost[i] += lpy[v]
	}
	m.normalise()
	return -math.Log(q)
}

// p1Table is σ(β v) for every output value v (offset by lo).
func (c *Class) p1Table() []float64 { return c.p[1] }

// Sample draws n labelled inputs from function target: x uniform over the
// inputs, y ~ Bernoulli(σ(β f(x))).
func (c *Class) Sample(target, n int, rng *rand.Rand) (xs, ys []int) {
	xs, ys = make([]int, n), make([]int, n)
	for t := range n {
		xs[t] = rng.IntN(c.Arch.Points())
		if rng.Float64() < c.P1(target, xs[t]) {
			ys[t] = 1
		}
	}
	return xs, ys
}

// Run is the mixture's record on one sequence from a target.
type Run struct {
	// Regret[t] is the cumulative log-loss regret after t+1 samples,
	// Σ_{s≤t} ln p*(y_s|x_s) − ln q(y_s|x_s) (nats).
	Regret []float64
	// Expected[t] is the cumulative conditional expected regret,
	// Σ_{s≤t} E_x KL(p*(·|x) ‖ q(·|x, past_s)): the same expectation as
	// Regret with the draw of (x_s, y_s) integrated out (lower variance).
	Expected []float64
	// Predictions[k] is q(y = 1 | x, past) at every input after
	// Checkpoints[k] samples.
	Predictions [][]float64
	// PosteriorSum[t] is Σ_f π after t+1 updates.
	PosteriorSum []float64
}

// Online runs a fresh mixture over the sequence (xs, ys) drawn from
// target, recording the predictive at the checkpoints (sample counts).
func (c *Class) Online(target int, xs, ys []int, checkpoints []int) (*Run, error) {
	if len(xs) != len(ys) {
		return nil, fmt.Errorf("universality: %d inputs and %d labels", len(xs), len(ys))
	}
	if target < 0 || target >= len(c.Funcs) {
		return nil, fmt.Errorf("universality: target %d, want 0 to %d", target, len(c.Funcs)-1)
	}
	m := NewMixture(c)
	r := &Run{}
	star := make([]float64, c.Arch.Points())
	for x := range star {
		star[x] = c.P1(target, x)
	}
	ck := 0
	record := func(t int, q []float64) {
		for ck < len(checkpoints) && checkpoints[ck] == t {
			r.Predictions = append(r.Predictions, q)
			ck++
		}
	}
	reg, exp := 0.0, 0.0
	for t := range xs {
		q := m.PredictAll()
		record(t, q)
		kl := 0.0
		for x := range q {
			kl += BernoulliKL(star[x], q[x])
		}
		exp += kl / float64(len(q))
		loss := m.Update(xs[t], ys[t])
		reg += c.LogP(target, xs[t], ys[t]) + loss
		r.Regret = append(r.Regret, reg)
		r.Expected = append(r.Expected, exp)
		s := 0.0
		for _, p := range m.post {
			s += p
		}
		r.PosteriorSum = append(r.PosteriorSum, s)
	}
	record(len(xs), m.PredictAll())
	return r, nil
}
