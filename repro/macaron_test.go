package repro

import (
	"math"
	"strings"
	"testing"
)

// The verdict rule of the macaron page, pair by pair.
func TestMacaronPair(t *testing.T) {
	for _, c := range []struct {
		tr, mac []float64
		want    string
	}{
		{[]float64{2.00, 2.02, 2.01}, []float64{1.90, 1.91, 1.92}, "reproduced"},
		{[]float64{2.00, 2.02, 2.01}, []float64{1.99, 2.00, 2.01}, "not reproduced"}, // lower, within twice the std
		{[]float64{2.00, 2.02, 2.01}, []float64{2.10, 2.11, 2.12}, "not reproduced"}, // higher
		{[]float64{2.00, math.NaN(), 2.01}, []float64{1.5, 1.5, 1.5}, "diverged"},
		{[]float64{2.00, 2.02, 2.01}, []float64{1.5, math.Inf(1), 1.5}, "diverged"},
	} {
		got, detail := macaronPair("post-norm", c.tr, c.mac)
		if got != c.want {
			t.Errorf("%v vs %v: %s (%s), want %s", c.tr, c.mac, got, detail, c.want)
		}
		if got == "diverged" && !strings.Contains(detail, "1 of 3 seeds") {
			t.Errorf("diverged detail %q", detail)
		}
	}
}
