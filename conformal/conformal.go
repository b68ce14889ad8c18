package conformal

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
)

// Point is one held-out example: its grouping key, the model's prediction
// and the true value.
type Point struct {
	Key, Pred, True float64
}

// Options configure Calibrate.
type Options struct {
	Alpha float64 // miscoverage level in (0, 1): intervals aim at 1 − Alpha coverage
	// Neighbours, when positive, calibrates each interval on the
	// Neighbours calibration points nearest in key, together with every
	// point as near as the farthest of them (so the result does not depend
	// on the order of the points); 0 uses all of them.
	Neighbours int
}

// Intervals are calibrated split-conformal intervals.
type Intervals struct {
	opt    Options
	keys   []float64 // calibration keys, ascending
	scores []float64 // |true − pred| in the order of keys
	global float64   // quantile over all points
}

// Calibrate fits intervals on calibration points.
func Calibrate(points []Point, opt Options) (*Intervals, error) {
	if !(opt.Alpha > 0 && opt.Alpha < 1) {
		return nil, fmt.Errorf("conformal: alpha %v, want a number in (0, 1)", opt.Alpha)
	}
	if len(points) == 0 {
		return nil, errors.New("conformal: no calibration points")
	}
	if opt.Neighbours < 0 || opt.Neighbours > len(points) {
		return nil, fmt.Errorf("conformal: %d neighbours, want 0…%d (the calibration points)", opt.Neighbours, len(points))
	}
	ps := slices.Clone(points)
	for i, p := range ps {
		if math.IsNaN(p.Key) || math.IsNaN(p.Pred) || math.IsNaN(p.True) {
			return nil, fmt.Errorf("conformal: calibration point %d has a NaN", i)
		}
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Key < ps[j].Key })
	iv := &Intervals{opt: opt}
	for _, p := range ps {
		iv.keys = append(iv.keys, p.Key)
		iv.scores = append(iv.scores, math.Abs(p.True-p.Pred))
	}
	iv.global = quantile(slices.Clone(iv.scores), opt.Alpha)
	return iv, nil
}

// quantile returns the ⌈(n+1)(1−α)⌉-th smallest of scores (+Inf when
// that rank exceeds n: too few points for the level). It sorts scores.
func quantile(scores []float64, alpha float64) float64 {
	n := len(scores)
	rank := int(math.Ceil(float64(n+1) * (1 - alpha)))
	if rank > n {
		return math.Inf(1)
	}
	sort.Float64s(scores)
	return scores[max(rank, 1)-1]
}

// HalfWidth returns q for a query with the given key.
func (iv *Intervals) HalfWidth(key float64) float64 {
	lo, hi := iv.window(key)
	if lo == 0 && hi == len(iv.keys) {
		return iv.global
	}
	return quantile(slices.Clone(iv.scores[lo:hi]), iv.opt.Alpha)
}

// WindowSize returns how many calibration points the interval for a query
// with the given key is calibrated on.
func (iv *Intervals) WindowSize(key float64) int {
	lo, hi := iv.window(key)
	return hi - lo
}

// window returns the run [lo, hi) of sorted calibration points that
// calibrates a query with the given key.
func (iv *Intervals) window(key float64) (lo, hi int) {
	k := iv.opt.Neighbours
	if k == 0 || k == len(iv.keys) {
		return 0, len(iv.keys)
	}
	// The k nearest keys form a contiguous run of the sorted keys: grow it
	// from the insertion point towards the nearer side.
	hi = sort.SearchFloat64s(iv.keys, key) // first key ≥ key
	lo = hi                                // window is [lo, hi)
	for hi-lo < k {
		switch {
		case lo == 0:
			hi++
		case hi == len(iv.keys):
			lo--
		case key-iv.keys[lo-1] <= iv.keys[hi]-key:
			lo--
		default:
			hi++
		}
	}
	// Take in every point tied with the farthest one.
	d := max(key-iv.keys[lo], iv.keys[hi-1]-key)
	for lo > 0 && key-iv.keys[lo-1] <= d {
		lo--
	}
	for hi < len(iv.keys) && iv.keys[hi]-key <= d {
		hi++
	}
	return lo, hi
}

// Interval returns the prediction interval [pred − q, pred + q].
func (iv *Intervals) Interval(key, pred float64) (lo, hi float64) {
	q := iv.HalfWidth(key)
	return pred - q, pred + q
}

// Group is the coverage of one group of a test set.
type Group struct {
	Name      string  `json:"name"`
	N         int     `json:"n"`
	Covered   int     `json:"covered"`
	Coverage  float64 `json:"coverage"`
	MeanWidth float64 `json:"mean_width"` // mean interval width (hi − lo)
}

// Coverage evaluates the intervals on test points, grouped by group(key);
// groups come back in order of their smallest key. A truth on an interval's
// edge counts as covered.
func (iv *Intervals) Coverage(test []Point, group func(key float64) string) []Group {
	idx := map[string]int{}
	var out []Group
	first := map[string]float64{}
	for _, p := range test {
		name := group(p.Key)
		i, ok := idx[name]
		if !ok {
			i = len(out)
			idx[name] = i
			out = append(out, Group{Name: name})
			first[name] = p.Key
		}
		first[name] = min(first[name], p.Key)
		lo, hi := iv.Interval(p.Key, p.Pred)
		g := &out[i]
		g.N++
		if p.True >= lo && p.True <= hi {
			g.Covered++
		}
		g.MeanWidth += hi - lo
	}
	for i := range out {
		out[i].Coverage = float64(out[i].Covered) / float64(out[i].N)
		out[i].MeanWidth /= float64(out[i].N)
	}
	sort.SliceStable(out, func(i, j int) bool { return first[out[i].Name] < first[out[j].Name] })
	return out
}
