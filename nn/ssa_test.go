package nn

import (
	"math"
	"testing"
)

// TestSSASampler: NewSSA refuses ratios outside (0, 1] and negative
// localities; a plan is drawn in training (or with Ensemble) and not at
// evaluation, with Off or on a nil sampler; the pairs are counted.
func TestSSASampler(t *testing.T) {
	for _, c := range []struct{ ratio, loc float64 }{{0, 1}, {-1, 1}, {1.01, 1}, {math.NaN(), 1}, {0.5, -1}, {0.5, math.NaN()}} {
		if _, err := NewSSA(c.ratio, c.loc, 1); err == nil {
			t.Errorf("NewSSA(%v, %v) accepted", c.ratio, c.loc)
		}
	}
	s, err := NewSSA(0.25, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	train, eval := &Ctx{Train: true}, &Ctx{}
	var none *SSA
	for _, c := range []struct {
		name     string
		s        *SSA
		ctx      *Ctx
		ens, off bool
		want     bool
	}{
		{"training", s, train, false, false, true},
		{"evaluation", s, eval, false, false, false},
		{"nil ctx", s, nil, false, false, false},
		{"ensemble", s, eval, true, false, true},
		{"off", s, train, false, true, false},
		{"nil sampler", none, train, false, false, false},
	} {
		if c.s != nil {
			c.s.Ensemble, c.s.Off = c.ens, c.off
		}
		if got := c.s.Plan(c.ctx, 2, 2, 256, true) != nil; got != c.want {
			t.Errorf("%s: plan drawn %v, want %v", c.name, got, c.want)
		}
	}
	a, d := s.Pairs()
	if a <= 0 || 4*a > 2*d { // two plans at ratio ¼ of 4 tiles: well under half
		t.Fatalf("pairs %d of %d", a, d)
	}
	s.ResetPairs()
	if a, d := s.Pairs(); a != 0 || d != 0 {
		t.Fatalf("after ResetPairs: %d, %d", a, d)
	}
}
