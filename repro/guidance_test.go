package repro

import (
	"slices"
	"testing"

	"github.com/loomml/loom/analysis/guidance"
)

func guidanceHist(accs ...float64) *guidanceRun {
	r := &guidanceRun{}
	for _, a := range accs {
		r.hist = append(r.hist, &guidance.History{Epochs: []guidance.Epoch{{TestAcc: a}}})
	}
	return r
}

// beats asks for the mean gain and a higher accuracy in every seed.
func TestGuidanceBeats(t *testing.T) {
	for _, c := range []struct {
		g, u   []float64
		points float64
		want   bool
	}{
		{[]float64{0.5, 0.6}, []float64{0.4, 0.5}, 2, true},
		{[]float64{0.5, 0.6}, []float64{0.4, 0.5}, 20, false},
		{[]float64{0.9, 0.4}, []float64{0.4, 0.5}, 2, false}, // a seed worse
		{[]float64{0.41, 0.51}, []float64{0.4, 0.5}, 2, false},
	} {
		if got, _ := beats(guidanceHist(c.g...), guidanceHist(c.u...), c.points); got != c.want {
			t.Errorf("beats(%v, %v, %g) = %v", c.g, c.u, c.points, got)
		}
	}
}

// Every condition of a seed sees the same batches; the quick settings are
// smaller than the full ones.
func TestGuidanceBatchesAndSettings(t *testing.T) {
	d := guidance.Dataset{Dim: 1, X: []float32{0, 1, 2, 3, 4, 5, 6, 7}, Labels: []int{0, 1, 2, 3, 4, 5, 6, 7}}
	a, b := epochBatches(d, 4, 7), epochBatches(d, 4, 7)
	for ep := range 2 {
		for s := range 2 {
			if x, y := a(ep, s), b(ep, s); !slices.Equal(x.Targets, y.Targets) {
				t.Fatalf("epoch %d step %d: %v and %v", ep, s, x.Targets, y.Targets)
			}
		}
	}
	if slices.Equal(a(0, 0).Targets, a(1, 0).Targets) && slices.Equal(a(0, 1).Targets, a(1, 1).Targets) {
		t.Error("epochs are not reshuffled")
	}
	full, quick := guidanceSettings(false), guidanceSettings(true)
	if quick.train >= full.train || quick.epochs >= full.epochs || quick.seqEpochs >= full.seqEpochs || full.depth < 12 {
		t.Errorf("settings: full %+v, quick %+v", full, quick)
	}
}
