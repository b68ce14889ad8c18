package universality

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Langevin is an ensemble of K chains of stochastic-gradient Langevin
// dynamics (Welling and Teh 2011) on the posterior of the continuous-weight
// network of an Arch, with the Gaussian prior N(0, PriorVar·I) (PriorVar
// = 2/3 matches the variance of a uniform ternary weight). Each step is
//
//	θ ← θ + (η/2) ∇ ln π(θ | data) + N(0, η I),
//
// whose stationary law (as η → 0) is the posterior; the ensemble's
// predictive is the chains' average of σ(β f_θ(x)). It learns online:
// the chains start as prior draws (the exact posterior of no data) and,
// after each observation, take Steps steps from where they are.
type Langevin struct {
	Arch     Arch
	Beta     float64
	PriorVar float64
	// Steps is the number of Langevin steps after each observation.
	Steps int
	// Eta sets the step size η_n = Eta/(1/PriorVar + β² n) for n
	// observations (the inverse of the posterior's curvature scale).
	Eta float64
	// Batch is the minibatch size of the stochastic gradient (drawn with
	// replacement, scaled by n/Batch); 0 or ≥ n: the full-data gradient.
	Batch int

	chains [][]float64
	xs, ys []int
	n1, n0 []float64 // label counts per input (the full-data statistics)
	pts    [][]float64
	rng    *rand.Rand
}

// NewLangevin draws K chains from the prior.
func NewLangevin(a Arch, beta, priorVar, eta float64, k, steps, batch int, rng *rand.Rand) (*Langevin, error) {
	switch {
	case a.Validate() != nil:
		return nil, a.Validate()
	case !(beta > 0) || math.IsInf(beta, 0):
		return nil, fmt.Errorf("universality: Beta = %v, want a finite value above 0", beta)
	case !(priorVar > 0) || math.IsInf(priorVar, 0):
		return nil, fmt.Errorf("universality: PriorVar = %v, want a finite value above 0", priorVar)
	case !(eta > 0) || math.IsInf(eta, 0):
		return nil, fmt.Errorf("universality: Eta = %v, want a finite value above 0", eta)
	case k < 1:
		return nil, fmt.Errorf("universality: chains = %d, want at least 1", k)
	case steps < 0:
		return nil, fmt.Errorf("universality: Steps = %d, want at least 0", steps)
	case batch < 0:
		return nil, fmt.Errorf("universality: Batch = %d, want at least 0", batch)
	}
	l := &Langevin{Arch: a, Beta: beta, PriorVar: priorVar, Steps: steps, Eta: eta, Batch: batch,
		n1: make([]float64, a.Points()), n0: make([]float64, a.Points()), rng: rng}
	for p := range a.Points() {
		l.pts = append(l.pts, a.Point(p))
	}
	sd := math.Sqrt(priorVar)
	for range k {
		th := make([]float64, a.Params())
		for i := range th {
			th[i] = sd * rng.NormFloat64()
		}
		l.chains = append(l.chains, th)
	}
	return l, nil
}

// Chains is the ensemble's current weights (shared; do not modify).
func (l *Langevin) Chains() [][]float64 { return l.chains }

// N is the number of observations so far.
func (l *Langevin) N() int { return len(l.xs) }

// StepSize is η for the current number of observations.
func (l *Langevin) StepSize() float64 {
	return l.Eta / (1/l.PriorVar + l.Beta*l.Beta*float64(len(l.xs)))
}

// PredictAll is the ensemble's predictive, the chains' mean of
// σ(β f_θ(x)), at every input.
func (l *Langevin) PredictAll() []float64 {
	out := make([]float64, l.Arch.Points())
	for _, th := range l.chains {
		for x, f := range l.Arch.Eval(th) {
			out[x] += Sigmoid(l.Beta * f)
		}
	}
	for x := range out {
		out[x] /= float64(len(l.chains))
	}
	return out
}

// Observe adds (x, y) to the data and moves every chain Steps steps.
func (l *Langevin) Observe(x, y int) {
	l.xs, l.ys = append(l.xs, x), append(l.ys, y)
	if y == 1 {
		l.n1[x]++
	} else {
		l.n0[x]++
	}
	l.Run(l.Steps)
}

// Run moves every chain s steps on the current data.
func (l *Langevin) Run(s int) {
	eta := l.StepSize()
	sd := math.Sqrt(eta)
	g := make([]float64, l.Arch.Params())
	n1, n0 := l.n1, l.n0
	for range s {
		if n := len(l.xs); l.Batch > 0 && l.Batch < n {
			n1, n0 = make([]float64, len(l.n1)), make([]float64, len(l.n0))
			scale := float64(n) / float64(l.Batch)
			for range l.Batch {
				i := l.rng.IntN(n)
				if l.ys[i] == 1 {
					n1[l.xs[i]] += scale
				} else {
					n0[l.xs[i]] += scale
				}
			}
		}
		for _, th := range l.chains {
			l.Grad(th, n1, n0, g)
			for i := range th {
				th[i] += eta/2*g[i] + sd*l.rng.NormFloat64()
			}
		}
	}
}

// LogPosterior is ln prior(θ) + Σ_x [n1(x) ln σ(βf(x)) + n0(x) ln σ(−βf(x))]
// up to a constant.
func (l *Langevin) LogPosterior(th, n1, n0 []float64) float64 {
	s := 0.0
	for _, w := range th {
		s -= w * w / (2 * l.PriorVar)
	}
	for x, f := range l.Arch.Eval(th) {
		s += n1[x]*LogSigmoid(l.Beta*f) + n0[x]*LogSigmoid(-l.Beta*f)
	}
	return s
}

// Grad writes ∇_θ LogPosterior(θ) into g (relu'(0) = 0).
func (l *Langevin) Grad(th, n1, n0, g []float64) {
	a := l.Arch
	for i, w := range th {
		g[i] = -w / l.PriorVar
	}
	z := make([]float64, a.Hidden)
	for p := range a.Points() {
		if n1[p] == 0 && n0[p] == 0 {
			continue
		}
		var x []float64
		if l.pts != nil {
			x = l.pts[p]
		} else {
			x = a.Point(p)
		}
		f := 0.0
		for j := range a.Hidden {
			z[j] = 0
			for i := range a.Inputs {
				z[j] += th[j*a.Inputs+i] * x[i]
			}
			f += th[a.Hidden*a.Inputs+j] * max(z[j], 0)
		}
		// d/df of n1 ln σ(βf) + n0 ln σ(−βf).
		df := l.Beta * (n1[p] - (n1[p]+n0[p])*Sigmoid(l.Beta*f))
		for j := range a.Hidden {
			if z[j] <= 0 {
				continue
			}
			v := th[a.Hidden*a.Inputs+j]
			g[a.Hidden*a.Inputs+j] += df * z[j]
			for i := range a.Inputs {
				g[j*a.Inputs+i] += df * v * x[i]
			}
		}
	}
}

// Sampled is the Bayes mixture over the continuous-weight class (the law
// Langevin samples), approximated by self-normalised importance sampling:
// N draws from the prior N(0, PriorVar·I) weighted by their likelihood.
// Its effective sample size says when the approximation is trustworthy.
type Sampled struct {
	p1   [][]float64    // [draw][input] σ(β f_θ(x))
	logp [2][][]float64 // [y][draw][input] ln p_θ(y | x)
	logW []float64      // log likelihood so far
	w    []float64      // normalised weights
	arch Arch
}

// NewSampled draws n networks from the prior.
func NewSampled(a Arch, beta, priorVar float64, n int, rng *rand.Rand) (*Sampled, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	switch {
	case n < 1:
		return nil, fmt.Errorf("universality: %d prior draws, want at least 1", n)
	case !(beta > 0) || math.IsInf(beta, 0):
		return nil, fmt.Errorf("universality: Beta = %v, want a finite value above 0", beta)
	case !(priorVar > 0) || math.IsInf(priorVar, 0):
		return nil, fmt.Errorf("universality: PriorVar = %v, want a finite value above 0", priorVar)
	}
	s := &Sampled{arch: a, logW: make([]float64, n), w: make([]float64, n)}
	sd := math.Sqrt(priorVar)
	th := make([]float64, a.Params())
	for range n {
		for i := range th {
			th[i] = sd * rng.NormFloat64()
		}
		f := a.Eval(th)
		p1, l0, l1 := make([]float64, len(f)), make([]float64, len(f)), make([]float64, len(f))
		for x, v := range f {
			p1[x], l0[x], l1[x] = Sigmoid(beta*v), LogSigmoid(-beta*v), LogSigmoid(beta*v)
		}
		s.p1 = append(s.p1, p1)
		s.logp[0], s.logp[1] = append(s.logp[0], l0), append(s.logp[1], l1)
	}
	s.normalise()
	return s, nil
}

func (s *Sampled) normalise() {
	mx := math.Inf(-1)
	for _, v := range s.logW {
		mx = max(mx, v)
	}
	t := 0.0
	for i, v := range s.logW {
		s.w[i] = math.Exp(v - mx)
		t += s.w[i]
	}
	for i := range s.w {
		s.w[i] /= t
	}
}

// Observe multiplies each draw's weight by its likelihood of (x, y).
func (s *Sampled) Observe(x, y int) {
	for i, lp := range s.logp[y] {
		s.logW[i] += lp[x]
	}
	s.normalise()
}

// PredictAll is the weighted predictive at every input.
func (s *Sampled) PredictAll() []float64 {
	out := make([]float64, s.arch.Points())
	for i, p := range s.p1 {
		if s.w[i] < 1e-300 {
			continue
		}
		for x, v := range p {
			out[x] += s.w[i] * v
		}
	}
	return out
}

// ESS is the effective sample size 1/Σ w².
func (s *Sampled) ESS() float64 {
	q := 0.0
	for _, w := range s.w {
		q += w * w
	}
	return 1 / q
}
