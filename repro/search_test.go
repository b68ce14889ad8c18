package repro

import "testing"

// TestSearchJudge: the search reproduction's rules on hand-made numbers.
func TestSearchJudge(t *testing.T) {
	for _, c := range []struct {
		name                string
		bal, nai, sizes     []float64
		wantA, wantB, wantC bool
	}{
		{"all hold", []float64{0.99, 0.95, 0.91}, []float64{0.95, 0.5, 0.3}, []float64{0.9, 0.7, 0.5}, true, true, true},
		{"balanced misses 90 % at L", []float64{0.99, 0.95, 0.89}, []float64{0.95, 0.5, 0.3}, []float64{0.9, 0.7, 0.5}, false, true, true},
		{"naive below 60 % but close to balanced", []float64{0.6, 0.5, 0.4}, []float64{0.6, 0.4, 0.25}, nil, false, false, false},
		{"naive 20 points lower but above 60 %", []float64{1, 1, 0.95}, []float64{1, 0.8, 0.7}, []float64{0.9, 0.7}, true, false, true},
		{"size not monotone", []float64{1}, []float64{1}, []float64{0.9, 0.95, 0.5}, true, false, false},
		{"size drop under 10 points", []float64{1}, []float64{1}, []float64{0.9, 0.85, 0.81}, true, false, false},
	} {
		a, b, cc := searchJudge(c.bal, c.nai, c.sizes)
		if a != c.wantA || b != c.wantB || cc != c.wantC {
			t.Errorf("%s: (a, b, c) = (%v, %v, %v), want (%v, %v, %v)", c.name, a, b, cc, c.wantA, c.wantB, c.wantC)
		}
	}
}
