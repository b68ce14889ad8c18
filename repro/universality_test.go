package repro

import (
	"math"
	"testing"

	"github.com/loomml/loom/analysis/universality"
)

func TestUniversalityHelpers(t *testing.T) {
	for _, tc := range []struct {
		x, y []float64
		want float64
	}{
		{[]float64{1, 2, 3}, []float64{2, 4, 6}, 2},
		{[]float64{8.8, 13.2, 17.6}, []float64{5, 5, 5}, 0},
		{[]float64{0, 1, 2, 3}, []float64{1, 0, 1, 0}, -0.2},
	} {
		if got := uvSlope(tc.x, tc.y); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("slope(%v, %v) = %v, want %v", tc.x, tc.y, got, tc.want)
		}
	}
	for _, n := range []int{1, 7, 400, 2000} {
		g := uvGrid(n)
		if g[0] != 1 || g[len(g)-1] != n {
			t.Errorf("grid(%d) = %v", n, g)
		}
		for i := 1; i < len(g); i++ {
			if g[i] <= g[i-1] {
				t.Fatalf("grid(%d) not increasing: %v", n, g)
			}
		}
	}
	if got := uvTV([]float64{0.5, 0.2}, []float64{0.3, 0.2}); math.Abs(got-0.1) > 1e-15 {
		t.Errorf("TV %v", got)
	}
}

// The common weight of rule (c) is one of the smallest class's weights,
// and no other candidate makes the classes' nearest weights closer.
func TestUniversalityCommonWeight(t *testing.T) {
	var classes []*uvClass
	for _, h := range []int{2, 3} {
		a := universality.Arch{Inputs: 3, Hidden: h}
		cls, err := universality.Enumerate(a, 1)
		if err != nil {
			t.Fatal(err)
		}
		classes = append(classes, &uvClass{arch: a, cls: cls})
	}
	l := uvCommonWeight(classes)
	spread := func(l float64) float64 {
		s := 0.0
		for _, uc := range classes {
			s = max(s, math.Abs(-uc.cls.Funcs[uc.cls.Nearest(l)].LogW-l))
		}
		return s
	}
	if l < 4 || l > 8 {
		t.Fatalf("L = %v outside [4, 8]", l)
	}
	for _, f := range classes[0].cls.Funcs {
		if c := -f.LogW; !f.Constant() && c >= 4 && c <= 8 && spread(c) < spread(l) {
			t.Fatalf("L = %v (spread %v), but %v has spread %v", l, spread(l), c, spread(c))
		}
	}
}
