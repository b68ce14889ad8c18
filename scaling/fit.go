// Package scaling fits scaling laws: the power law plus a constant of
// Henighan et al. ("Scaling Laws for Autoregressive Generative Modeling",
// arXiv 2010.14701), L(N) = L∞ + (N₀/N)^α, against a pure power law
// L(N) = (N₀/N)^α, with bootstrap intervals, and the compute frontier's
// exponent N_opt ∝ C^β.
//
// The fit is robust by construction: for each candidate L∞ on a grid below
// the smallest observed loss, log(L − L∞) against log N is a straight line
// fitted by least squares (α its negated slope); the L∞ whose curve has the
// smallest squared error in L wins, refined by golden-section search
// between its grid neighbours. No starting point, no divergence.
package scaling

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/loomml/loom/tensor"
)

// Point is one model: N parameters, loss L.
type Point struct{ N, L float64 }

// Fit is a fitted law L(N) = LInf + (N0/N)^Alpha (LInf 0 for a pure power
// law) and its root-mean-square error in L over the points fitted.
type Fit struct {
	LInf, N0, Alpha float64
	RMSE            float64
}

// At returns the law's loss at n parameters.
func (f Fit) At(n float64) float64 { return f.LInf + math.Pow(f.N0/n, f.Alpha) }

// check refuses fewer than three points, or non-positive values.
func check(ps []Point) error {
	if len(ps) < 3 {
		return fmt.Errorf("scaling: %d points, want at least 3", len(ps))
	}
	for _, p := range ps {
		if !(p.N > 0) || !(p.L > 0) || math.IsInf(p.N, 0) || math.IsInf(p.L, 0) {
			return fmt.Errorf("scaling: point (N %v, L %v): want positive finite values", p.N, p.L)
		}
	}
	return nil
}

// lineFit fits log(L − c) = a + b·log N by least squares and returns the
// law and its squared error in L.
func lineFit(ps []Point, c float64) (Fit, float64) {
	var sx, sy, sxx, sxy float64
	n := float64(len(ps))
	for _, p := range ps {
		x, y := math.Log(p.N), math.Log(p.L-c)
		sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	b := (n*sxy - sx*sy) / (n*sxx - sx*sx)
	a := (sy - b*sx) / n
	f := Fit{LInf: c, Alpha: -b}
	if f.Alpha != 0 {
		f.N0 = math.Exp(a / f.Alpha)
	}
	sse := 0.0
	for _, p := range ps {
		d := p.L - f.At(p.N)
		sse += d * d
	}
	if math.IsNaN(sse) {
		sse = math.Inf(1)
	}
	return f, sse
}

func finish(f Fit, sse float64, n int) Fit {
	f.RMSE = math.Sqrt(sse / float64(n))
	return f
}

// PowerLaw fits L = (N₀/N)^α.
func PowerLaw(ps []Point) (Fit, error) {
	if err := check(ps); err != nil {
		return Fit{}, err
	}
	f, sse := lineFit(ps, 0)
	return finish(f, sse, len(ps)), nil
}

// PowerPlusConst fits L = L∞ + (N₀/N)^α with 0 ≤ L∞ < min L.
func PowerPlusConst(ps []Point) (Fit, error) {
	if err := check(ps); err != nil {
		return Fit{}, err
	}
	lo := math.Inf(1)
	for _, p := range ps {
		lo = math.Min(lo, p.L)
	}
	const grid = 400
	at := func(i float64) float64 { return lo * (1 - math.Pow(2, -i/20)) } // denser near min L
	best, bestSSE, bi := Fit{}, math.Inf(1), 0
	for i := range grid {
		f, sse := lineFit(ps, at(float64(i)))
		if sse < bestSSE {
			best, bestSSE, bi = f, sse, i
		}
	}
	// Golden-section search between the neighbours of the best grid point.
	a, b := at(math.Max(0, float64(bi-1))), at(math.Min(grid-1, float64(bi+1)))
	g := (math.Sqrt(5) - 1) / 2
	for range 60 {
		c1, c2 := b-g*(b-a), a+g*(b-a)
		_, s1 := lineFit(ps, c1)
		_, s2 := lineFit(ps, c2)
		if s1 < s2 {
			b = c2
		} else {
			a = c1
		}
	}
	if f, sse := lineFit(ps, (a+b)/2); sse < bestSSE {
		best, bestSSE = f, sse
	}
	return finish(best, bestSSE, len(ps)), nil
}

// Interval is a bootstrap percentile interval.
type Interval struct{ Lo, Hi float64 }

// Bootstrap refits fit on resamples with replacement of ps (b of them,
// from rng) and returns the central 95 % percentile intervals of L∞ and α
// (resamples with fewer than three distinct sizes are skipped).
func Bootstrap(ps []Point, fit func([]Point) (Fit, error), b int, rng *tensor.RNG) (lInf, alpha Interval, err error) {
	var ls, as []float64
	for range b {
		s := make([]Point, len(ps))
		distinct := map[float64]bool{}
		for i := range s {
			s[i] = ps[rng.Intn(len(ps))]
			distinct[s[i].N] = true
		}
		if len(distinct) < 3 {
			continue
		}
		f, err := fit(s)
		if err != nil {
			continue
		}
		ls, as = append(ls, f.LInf), append(as, f.Alpha)
	}
	if len(ls) < b/2 {
		return Interval{}, Interval{}, fmt.Errorf("scaling: only %d of %d bootstrap resamples could be fitted", len(ls), b)
	}
	return percentiles(ls), percentiles(as), nil
}

func percentiles(xs []float64) Interval {
	s := slices.Clone(xs)
	sort.Float64s(s)
	q := func(p float64) float64 { return s[int(math.Round(p*float64(len(s)-1)))] }
	return Interval{q(0.025), q(0.975)}
}
