package scaling

import (
	"fmt"
	"math"
	"sort"
)

// Curve is one model's evaluation curve: held-out loss L[i] after compute
// C[i] (FLOPs, increasing), for a model of N parameters.
type Curve struct {
	N    float64
	C, L []float64
}

// FrontierPoint is the lower envelope of all curves at compute C: the
// lowest loss any model reaches with C, and that model's size.
type FrontierPoint struct{ C, L, N float64 }

// at interpolates the curve's loss at compute c, linearly in log C
// (ok false outside its range).
func (cv Curve) at(c float64) (float64, bool) {
	if len(cv.C) == 0 || c < cv.C[0] || c > cv.C[len(cv.C)-1] {
		return 0, false
	}
	i := sort.SearchFloat64s(cv.C, c)
	if i < len(cv.C) && cv.C[i] == c {
		return cv.L[i], true
	}
	x0, x1 := math.Log(cv.C[i-1]), math.Log(cv.C[i])
	t := (math.Log(c) - x0) / (x1 - x0)
	return cv.L[i-1] + t*(cv.L[i]-cv.L[i-1]), true
}

// Frontier is the compute frontier sampled at points compute values
// spaced evenly in log C over the curves' whole range.
func Frontier(curves []Curve, points int) ([]FrontierPoint, error) {
	lo, hi := math.Inf(1), 0.0
	for _, cv := range curves {
		if len(cv.C) != len(cv.L) || len(cv.C) < 2 || !sort.Float64sAreSorted(cv.C) || cv.C[0] <= 0 {
			return nil, fmt.Errorf("scaling: the curve of N = %v needs ≥ 2 points of increasing positive compute", cv.N)
		}
		lo, hi = math.Min(lo, cv.C[0]), math.Max(hi, cv.C[len(cv.C)-1])
	}
	if points < 2 || len(curves) == 0 {
		return nil, fmt.Errorf("scaling: %d curves and %d frontier points", len(curves), points)
	}
	var out []FrontierPoint
	for k := range points {
		c := math.Exp(math.Log(lo) + (math.Log(hi)-math.Log(lo))*float64(k)/float64(points-1))
		best := FrontierPoint{C: c, L: math.Inf(1)}
		for _, cv := range curves {
			if l, ok := cv.at(c); ok && l < best.L {
				best.L, best.N = l, cv.N
			}
		}
		if !math.IsInf(best.L, 1) {
			out = append(out, best)
		}
	}
	return out, nil
}

// OptimalExponent fits N_opt ∝ C^β on the frontier (least squares of
// log N against log C) and returns β.
func OptimalExponent(f []FrontierPoint) (float64, error) {
	if len(f) < 2 {
		return 0, fmt.Errorf("scaling: %d frontier points", len(f))
	}
	var sx, sy, sxx, sxy float64
	n := float64(len(f))
	for _, p := range f {
		x, y := math.Log(p.C), math.Log(p.N)
		sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return 0, fmt.Errorf("scaling: the frontier spans one compute value")
	}
	return (n*sxy - sx*sy) / d, nil
}
