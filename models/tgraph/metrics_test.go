package tgraph

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

// TestMetricsSklearn compares AveragePrecision and ROCAUC with
// scikit-learn's average_precision_score and roc_auc_score on the cases of
// testdata/metrics.json (gen_metrics.py: ties, binary scores, one
// positive, random and rounded scores).
func TestMetricsSklearn(t *testing.T) {
	raw, err := os.ReadFile("testdata/metrics.json")
	if err != nil {
		t.Fatal(err)
	}
	var fx struct {
		Sklearn string
		Cases   []struct {
			Name    string
			Y       []int
			Score   []float64
			AP, AUC float64
		}
	}
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	if len(fx.Cases) < 10 {
		t.Fatalf("%d cases in the fixture", len(fx.Cases))
	}
	for _, c := range fx.Cases {
		labels := make([]bool, len(c.Y))
		for i, y := range c.Y {
			labels[i] = y == 1
		}
		ap, auc := AveragePrecision(c.Score, labels), ROCAUC(c.Score, labels)
		if math.Abs(ap-c.AP) > 1e-12 || math.Abs(auc-c.AUC) > 1e-12 {
			t.Errorf("%s (%d scores): AP %.15g, AUC %.15g; sklearn %s: %.15g, %.15g", c.Name, len(c.Y), ap, auc, fx.Sklearn, c.AP, c.AUC)
		}
	}
}

// TestMetricsDegenerate: without positives AP is NaN, and AUC is NaN
// unless both classes occur; a perfect ranking scores 1.
func TestMetricsDegenerate(t *testing.T) {
	for _, c := range []struct {
		name    string
		scores  []float64
		labels  []bool
		ap, auc float64 // NaN: want NaN
	}{
		{"no positives", []float64{0.2, 0.4}, []bool{false, false}, math.NaN(), math.NaN()},
		{"no negatives", []float64{0.2, 0.4}, []bool{true, true}, 1, math.NaN()},
		{"empty", nil, nil, math.NaN(), math.NaN()},
		{"perfect", []float64{3, 2, 1}, []bool{true, true, false}, 1, 1},
	} {
		ap, auc := AveragePrecision(c.scores, c.labels), ROCAUC(c.scores, c.labels)
		same := func(got, want float64) bool { return got == want || math.IsNaN(got) && math.IsNaN(want) }
		if !same(ap, c.ap) || !same(auc, c.auc) {
			t.Errorf("%s: AP %v, AUC %v; want %v, %v", c.name, ap, auc, c.ap, c.auc)
		}
	}
}
