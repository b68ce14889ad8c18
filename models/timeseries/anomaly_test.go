package timeseries

import (
	"math"
	"slices"
	"testing"
)

func bools(s string) []bool {
	out := make([]bool, len(s))
	for i, c := range s {
		out[i] = c == '1'
	}
	return out
}

// A hand-worked example: two true segments (points 2–5 and 9–10); the
// detector flags point 3 (inside the first), point 7 (a false alarm) and
// nothing of the second.
//
//	labels 0 0 1 1 1 1 0 0 0 1 1 0
//	pred   0 0 0 1 0 0 0 1 0 0 0 0
//
// Raw: TP 1, FP 1, FN 5: precision 1/2, recall 1/6, F1 = 2·(1/2)(1/6)/(2/3) = 1/4.
// Adjusted: the first segment is found whole: TP 4, FP 1, FN 2: precision
// 4/5, recall 4/6, F1 = 2·(4/5)(2/3)/(4/5 + 2/3) = 8/11.
func TestPointAdjustHandWorked(t *testing.T) {
	labels, pred := bools("001111000110"), bools("000100010000")
	adj := PointAdjust(labels, pred)
	if !slices.Equal(adj, bools("001111010000")) {
		t.Fatalf("adjusted %v", adj)
	}
	raw, pa := Score(labels, pred), Score(labels, adj)
	if raw.TP != 1 || raw.FP != 1 || raw.FN != 5 || math.Abs(raw.F1-0.25) > 1e-12 {
		t.Fatalf("raw %+v", raw)
	}
	if pa.TP != 4 || pa.FP != 1 || pa.FN != 2 || math.Abs(pa.Precision-0.8) > 1e-12 || math.Abs(pa.F1-8.0/11) > 1e-12 {
		t.Fatalf("adjusted %+v", pa)
	}
	// A segment at the very start is back-filled too.
	if got := PointAdjust(bools("110"), bools("010")); !slices.Equal(got, bools("110")) {
		t.Fatalf("segment at 0: %v", got)
	}
	d := Detect([]float64{0, 0, 0, 5, 0, 0, 0, 3, 0, 0, 0, 0}, labels, 1, ThresholdTrain)
	if d.Flagged != 2 || d.Raw != raw || d.PointAdjusted != pa {
		t.Fatalf("Detect %+v", d)
	}
}

// Percentile is NumPy's linear interpolation: np.percentile([1, 2, 3, 4],
// [0, 25, 50, 90, 100]) = [1, 1.75, 2.5, 3.7, 4].
func TestPercentileAndThreshold(t *testing.T) {
	xs := []float64{4, 1, 3, 2}
	for p, want := range map[float64]float64{0: 1, 25: 1.75, 50: 2.5, 90: 3.7, 100: 4} {
		if got := Percentile(xs, p); math.Abs(got-want) > 1e-12 {
			t.Errorf("percentile %v: %v, want %v", p, got, want)
		}
	}
	tr, te := []float64{1, 2, 3, 4}, []float64{10, 20, 30, 40}
	a, _ := AnomalyThreshold(ThresholdTrain, tr, te, 25)
	b, _ := AnomalyThreshold(ThresholdTrainTest, tr, te, 25)
	if a != 3.25 || b != Percentile([]float64{1, 2, 3, 4, 10, 20, 30, 40}, 75) {
		t.Fatalf("thresholds %v %v", a, b)
	}
	for _, r := range []float64{0, 100, -1, math.NaN()} {
		if _, err := AnomalyThreshold(ThresholdTrain, tr, te, r); err == nil {
			t.Errorf("ratio %v accepted", r)
		}
	}
}
