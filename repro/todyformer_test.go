package repro

import "testing"

// TestTodyVerdict: the rule fixed before the run, on made-up means.
func TestTodyVerdict(t *testing.T) {
	for _, c := range []struct {
		tody, mpnn, bank []float64
		want             string
	}{
		{[]float64{0.9, 0.8, 0.7, 0.8}, []float64{0.8, 0.7, 0.6, 0.7}, []float64{0.7, 0.6, 0.5, 0.6}, "reproduced"},
		// Todyformer above EdgeBank everywhere, not above MPNN-only everywhere
		{[]float64{0.9, 0.8, 0.7, 0.8}, []float64{0.91, 0.7, 0.6, 0.7}, []float64{0.7, 0.6, 0.5, 0.6}, "partial"},
		// above MPNN-only everywhere, not above EdgeBank everywhere
		{[]float64{0.9, 0.8, 0.7, 0.8}, []float64{0.8, 0.7, 0.6, 0.7}, []float64{0.7, 0.85, 0.5, 0.6}, "partial"},
		// above both everywhere, but MPNN-only below EdgeBank once
		{[]float64{0.9, 0.8, 0.7, 0.8}, []float64{0.8, 0.7, 0.6, 0.5}, []float64{0.7, 0.6, 0.5, 0.6}, "partial"},
		{[]float64{0.9, 0.8, 0.7, 0.5}, []float64{0.95, 0.7, 0.6, 0.7}, []float64{0.7, 0.6, 0.5, 0.6}, "not reproduced"},
		// a tie is not a win
		{[]float64{0.9, 0.8, 0.7, 0.7}, []float64{0.8, 0.7, 0.6, 0.7}, []float64{0.7, 0.6, 0.5, 0.6}, "partial"},
	} {
		if got, _, _, _ := todyVerdict(c.tody, c.mpnn, c.bank); got != c.want {
			t.Errorf("%v %v %v: %s, want %s", c.tody, c.mpnn, c.bank, got, c.want)
		}
	}
}
