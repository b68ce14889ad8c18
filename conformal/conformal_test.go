package conformal

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

func TestQuantileRank(t *testing.T) {
	scores := []float64{9, 1, 8, 2, 7, 3, 6, 4, 5}
	for _, c := range []struct {
		alpha, want float64
	}{
		{0.1, 9},            // ⌈10·0.9⌉ = 9th smallest
		{0.2, 8},            // ⌈10·0.8⌉ = 8
		{0.5, 5},            // ⌈10·0.5⌉ = 5
		{0.05, math.Inf(1)}, // ⌈10·0.95⌉ = 10 > 9 points
	} {
		if got := quantile(slices.Clone(scores), c.alpha); got != c.want {
			t.Errorf("alpha %v: %v, want %v", c.alpha, got, c.want)
		}
	}
}

// heteroscedastic draws points with key uniform in [0, 1) and noise whose
// standard deviation grows with the key.
func heteroscedastic(r *rand.Rand, n int) []Point {
	ps := make([]Point, n)
	for i := range ps {
		k := r.Float64()
		ps[i] = Point{Key: k, Pred: 2 * k, True: 2*k + (0.05+k)*r.NormFloat64()}
	}
	return ps
}

// Split conformal's guarantee: over repeated draws, mean coverage is at
// least 1 − α and at most 1 − α + 1/(n+1).
func TestMarginalCoverage(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const n, trials, alpha = 99, 400, 0.1
	var covered, total int
	for range trials {
		iv, err := Calibrate(heteroscedastic(r, n), Options{Alpha: alpha})
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range iv.Coverage(heteroscedastic(r, 50), func(float64) string { return "all" }) {
			covered += g.Covered
			total += g.N
		}
	}
	cov := float64(covered) / float64(total)
	// Standard error of the mean coverage here is about 0.003.
	if cov < 1-alpha-0.01 || cov > 1-alpha+1.0/(n+1)+0.01 {
		t.Fatalf("coverage %.4f, want within [%.3f, %.3f]", cov, 1-alpha, 1-alpha+1.0/(n+1))
	}
}

// With noise growing with the key, one global width over-covers small keys
// and under-covers large ones; the sliding window covers every group.
func TestSlidingWindowCoversEveryGroup(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	calib, test := heteroscedastic(r, 2000), heteroscedastic(r, 4000)
	quarter := func(k float64) string { return []string{"q1", "q2", "q3", "q4"}[min(int(k*4), 3)] }
	global, _ := Calibrate(calib, Options{Alpha: 0.1})
	local, _ := Calibrate(calib, Options{Alpha: 0.1, Neighbours: 200})
	g, l := global.Coverage(test, quarter), local.Coverage(test, quarter)
	if g[3].Coverage > 0.85 || g[0].Coverage < 0.97 {
		t.Errorf("global intervals: coverage %.3f in the noisiest quarter, %.3f in the quietest; expected under- and over-coverage", g[3].Coverage, g[0].Coverage)
	}
	for i, grp := range l {
		if grp.Name != []string{"q1", "q2", "q3", "q4"}[i] {
			t.Fatalf("groups out of key order: %v", l)
		}
		if grp.Coverage < 0.87 || grp.Coverage > 0.93 {
			t.Errorf("sliding window, %s: coverage %.3f, want ≈ 0.9", grp.Name, grp.Coverage)
		}
	}
	if !(l[0].MeanWidth < g[0].MeanWidth && l[3].MeanWidth > g[3].MeanWidth) {
		t.Errorf("local widths %.3f/%.3f vs global %.3f: should adapt to the noise", l[0].MeanWidth, l[3].MeanWidth, g[0].MeanWidth)
	}
}

// The window is the k nearest keys and every key tied with the k-th,
// checked against a brute-force selection.
func TestWindowIsNearestNeighbours(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	ps := make([]Point, 60)
	for i := range ps {
		ps[i] = Point{Key: float64(r.IntN(30)), Pred: 0, True: r.NormFloat64()}
	}
	for _, k := range []int{1, 7, 20, 59} {
		iv, err := Calibrate(ps, Options{Alpha: 0.2, Neighbours: k})
		if err != nil {
			t.Fatal(err)
		}
		for q := -3.0; q <= 33; q += 0.5 {
			sorted := slices.Clone(ps)
			sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Key < sorted[j].Key })
			dist := make([]float64, len(sorted))
			for i, p := range sorted {
				dist[i] = math.Abs(p.Key - q)
			}
			kth := slices.Clone(dist)
			sort.Float64s(kth)
			var scores []float64
			for i, p := range sorted {
				if dist[i] <= kth[k-1] {
					scores = append(scores, math.Abs(p.True))
				}
			}
			if got := iv.WindowSize(q); got != len(scores) {
				t.Fatalf("k=%d key=%v: window of %d points, brute force %d", k, q, got, len(scores))
			}
			if got, want := iv.HalfWidth(q), quantile(scores, 0.2); got != want {
				t.Fatalf("k=%d key=%v: half-width %v, brute force %v", k, q, got, want)
			}
		}
	}
}

func TestCalibrateErrors(t *testing.T) {
	ps := []Point{{1, 1, 2}, {2, 2, 2}}
	for _, c := range []struct {
		ps  []Point
		opt Options
	}{
		{ps, Options{Alpha: 0}},
		{ps, Options{Alpha: 1}},
		{nil, Options{Alpha: 0.1}},
		{ps, Options{Alpha: 0.1, Neighbours: 3}},
		{[]Point{{math.NaN(), 0, 0}}, Options{Alpha: 0.1}},
	} {
		if _, err := Calibrate(c.ps, c.opt); err == nil {
			t.Errorf("Calibrate(%v, %+v) accepted", c.ps, c.opt)
		}
	}
}

// Keys that are group labels (a number of marked points, say): a group
// with at least Neighbours points is calibrated on itself alone, a smaller
// one on itself and the nearest whole groups.
func TestWindowOverGroups(t *testing.T) {
	sizes := map[int]int{1: 1, 2: 4, 3: 12, 4: 30, 5: 50}
	var ps []Point
	for g, n := range sizes {
		for i := range n {
			ps = append(ps, Point{Key: float64(g), True: float64(i)})
		}
	}
	iv, err := Calibrate(ps, Options{Alpha: 0.1, Neighbours: 20})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ key, want int }{
		{5, 50},              // its own group
		{4, 30},              // its own group
		{3, 12 + 30 + 4},     // 12 < 20: the groups at distance 1 join, whole
		{2, 4 + 1 + 12 + 30}, // distance 1 gives 17 < 20: distance 2 joins
		{1, 1 + 4 + 12 + 30}, // distance 2 reaches 17: distance 3 joins
	} {
		if got := iv.WindowSize(float64(c.key)); got != c.want {
			t.Errorf("group %d: window of %d points, want %d", c.key, got, c.want)
		}
	}
}
