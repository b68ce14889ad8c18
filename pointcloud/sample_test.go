package pointcloud

import (
	"math"
	"slices"
	"testing"

	"github.com/loomml/loom/tensor"
)

func randomCloud(r *tensor.RNG, n int) []float32 {
	p := make([]float32, 3*n)
	for i := range p {
		p[i] = float32(r.Normal())
	}
	return p
}

func sqDist(p []float32, i, j int) float64 {
	var d float64
	for a := range 3 {
		x := float64(p[3*i+a]) - float64(p[3*j+a])
		d += x * x
	}
	return d
}

// fpsReference recomputes, at every step, each point's distance to the
// nearest point picked so far from scratch.
func fpsReference(p []float32, n, k int) []int {
	out := []int{0}
	for len(out) < k {
		best, besti := -1.0, -1
		for i := range n {
			d := math.Inf(1)
			for _, c := range out {
				d = min(d, sqDist(p, i, c))
			}
			if d > best {
				best, besti = d, i
			}
		}
		out = append(out, besti)
	}
	return out
}

func TestFPS(t *testing.T) {
	r := tensor.NewRNG(1)
	for _, tc := range []struct{ n, k int }{{1, 1}, {10, 1}, {10, 4}, {50, 50}, {200, 32}} {
		p := randomCloud(r, tc.n)
		got := FPS(p, tc.n, tc.k)
		if want := fpsReference(p, tc.n, tc.k); !slices.Equal(got, want) {
			t.Fatalf("%+v: FPS %v, brute force %v", tc, got, want)
		}
		if s := slices.Clone(got); len(slices.Compact(sortInts(s))) != tc.k {
			t.Fatalf("%+v: repeated picks %v", tc, got)
		}
	}
	// Only the first n points are considered.
	p := randomCloud(r, 20)
	if got, want := FPS(p, 8, 5), fpsReference(p[:24], 8, 5); !slices.Equal(got, want) {
		t.Fatalf("prefix: %v, want %v", got, want)
	}
}

func sortInts(s []int) []int { slices.Sort(s); return s }

// knnReference picks the nearest remaining point k times (ties: lower
// index).
func knnReference(p []float32, c, k int) []int {
	n := len(p) / 3
	used := make([]bool, n)
	var out []int
	for range k {
		best, besti := math.Inf(1), -1
		for i := range n {
			if d := sqDist(p, c, i); !used[i] && d < best {
				best, besti = d, i
			}
		}
		used[besti] = true
		out = append(out, besti)
	}
	return out
}

func TestKNN(t *testing.T) {
	r := tensor.NewRNG(2)
	dup := randomCloud(r, 10)
	dup = append(dup, dup[:12]...) // points 10–13 repeat 0–3: ties
	for _, tc := range []struct {
		name string
		p    []float32
		k    int
	}{
		{"random", randomCloud(r, 60), 8},
		{"all", randomCloud(r, 12), 12},
		{"ties", dup, 5},
		{"one", randomCloud(r, 5), 1},
	} {
		n := len(tc.p) / 3
		centres := []int{0, n / 2, n - 1}
		got := KNN(tc.p, centres, tc.k)
		for i, c := range centres {
			want := knnReference(tc.p, c, tc.k)
			if !slices.Equal(got[i], want) {
				t.Fatalf("%s centre %d: %v, brute force %v", tc.name, c, got[i], want)
			}
			if tc.name != "ties" && got[i][0] != c {
				t.Fatalf("%s: centre %d is not its own nearest point", tc.name, c)
			}
		}
	}
}
