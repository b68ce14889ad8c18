package repro

import (
	"testing"

	"github.com/loomml/loom/models/hypino"
)

// stepsTo finds the first recorded step at or below the threshold, and
// counts a curve that never gets there as K + 1.
func TestHypinoStepsTo(t *testing.T) {
	curve := []hypino.Point{{Step: 0, Err: 1}, {Step: 10, Err: 0.5}, {Step: 20, Err: 0.2}, {Step: 30, Err: 0.1}}
	cases := []struct {
		tau  float64
		want int
	}{{1, 1}, {0.6, 10}, {0.2, 20}, {0.15, 30}, {0.05, 31}}
	for _, c := range cases {
		if got := stepsTo(curve, c.tau, 30); got != c.want {
			t.Errorf("τ = %g: %d steps, want %d", c.tau, got, c.want)
		}
	}
}

// The quick run is a strictly smaller version of the full one.
func TestHypinoScale(t *testing.T) {
	q, f := hypinoScaleOf(true), hypinoScaleOf(false)
	if q.steps >= f.steps || q.perFamilyMMS > f.perFamilyMMS || q.fineSteps > f.fineSteps || q.refine != f.refine {
		t.Errorf("quick %+v, full %+v", q, f)
	}
}
