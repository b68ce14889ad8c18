package timeseries

import (
	"math"
	"math/rand/v2"
	"testing"
)

// bruteDTW enumerates every warping path from (0, 0) to (n−1, m−1) with
// |i − j| ≤ w and returns the least cost.
func bruteDTW(a, b [][]float64, w int) float64 {
	n, m := len(a), len(b)
	cost := func(i, j int) float64 {
		c := 0.0
		for k := range a[i] {
			d := a[i][k] - b[j][k]
			c += d * d
		}
		return c
	}
	var walk func(i, j int) float64
	walk = func(i, j int) float64 {
		if abs(i-j) > w {
			return math.Inf(1)
		}
		c := cost(i, j)
		if i == n-1 && j == m-1 {
			return c
		}
		best := math.Inf(1)
		if i+1 < n {
			best = min(best, walk(i+1, j))
		}
		if j+1 < m {
			best = min(best, walk(i, j+1))
		}
		if i+1 < n && j+1 < m {
			best = min(best, walk(i+1, j+1))
		}
		return c + best
	}
	return walk(0, 0)
}

func randSeries(r *rand.Rand, n, d int) [][]float64 {
	x := make([][]float64, n)
	for i := range x {
		x[i] = make([]float64, d)
		for k := range x[i] {
			x[i][k] = r.NormFloat64()
		}
	}
	return x
}

func TestDTWAgainstBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		n, m, d := 1+r.IntN(7), 1+r.IntN(7), 1+r.IntN(3)
		a, b := randSeries(r, n, d), randSeries(r, m, d)
		w := r.IntN(8) - 1 // −1: no band
		got := DTW(a, b, w)
		bw := w
		if bw < 0 {
			bw = 100
		}
		want := bruteDTW(a, b, max(bw, abs(n-m)))
		if math.Abs(got-want) > 1e-9*(1+want) {
			t.Fatalf("trial %d (n %d, m %d, d %d, w %d): DTW %v, brute force %v", trial, n, m, d, w, got, want)
		}
	}
}

func TestDTWProperties(t *testing.T) {
	a := [][]float64{{0}, {1}, {2}, {3}}
	// Window 0 on equal lengths is the squared Euclidean distance.
	b := [][]float64{{1}, {1}, {1}, {1}}
	if got := DTW(a, b, 0); got != 1+0+1+4 {
		t.Fatalf("window 0: %v, want 6", got)
	}
	// A time shift costs nothing once the band allows it.
	s := [][]float64{{0}, {0}, {1}, {2}, {3}}
	if got := DTW(a, s, -1); got != 0 {
		t.Fatalf("shifted copy: %v, want 0", got)
	}
	// DTW_I sums per-dimension DTWs; DTW_D warps the dimensions together.
	// Each dimension alone warps onto the other series' exactly; jointly
	// they cannot.
	x := [][]float64{{0, 1}, {0, 0}, {1, 0}}
	y := [][]float64{{0, 1}, {1, 1}, {1, 0}}
	if di, dd := DTWIndependent(x, y, -1), DTW(x, y, -1); di != 0 || dd != bruteDTW(x, y, 3) || dd == 0 {
		t.Fatalf("DTW_I %v (want 0), DTW_D %v (want %v > 0)", di, dd, bruteDTW(x, y, 3))
	}
}

func TestNearestNeighbourLearnsWindow(t *testing.T) {
	// Two classes: a bump early or late; the test series are shifted, so
	// Euclidean 1-NN errs and a warping window fixes it.
	bump := func(at, n int) [][]float64 {
		x := make([][]float64, n)
		for i := range x {
			x[i] = []float64{math.Exp(-float64((i-at)*(i-at)) / 2)}
		}
		return x
	}
	var train [][][]float64
	var labels []int
	for k := range 6 {
		train, labels = append(train, bump(5+k%3, 30)), append(labels, 0)
		train, labels = append(train, bump(20+k%3, 30)), append(labels, 1)
	}
	nn := &NearestNeighbour{Distance: DTWD, Train: train, Labels: labels}
	p, acc := nn.LearnWindow(20)
	if acc != 1 || p != 0 {
		t.Fatalf("learned window %d%% with leave-one-out accuracy %v", p, acc)
	}
	nn.Window = 6
	if nn.Predict(bump(11, 30)) != 0 || nn.Predict(bump(14, 30)) != 1 {
		t.Fatal("1-NN with a window misclassified shifted bumps")
	}
}
