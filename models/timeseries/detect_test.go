package timeseries

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestIsolationForest(t *testing.T) {
	// c(256) from the paper's formula: 2H(255) − 2·255/256.
	if got := avgPath(256); math.Abs(got-10.244) > 1e-3 {
		t.Fatalf("c(256) = %v", got)
	}
	r := rand.New(rand.NewPCG(1, 1))
	var x [][]float64
	for range 500 {
		x = append(x, []float64{r.NormFloat64(), r.NormFloat64()})
	}
	f := FitIsolationForest(x, 100, 256, 3)
	s := f.Score([][]float64{{0, 0}, {6, -6}})
	if !(s[1] > 0.6 && s[0] < 0.5 && s[1] > s[0]) {
		t.Fatalf("scores inlier %v, outlier %v", s[0], s[1])
	}
}

// A two-variate seasonal series with level shifts injected into its test
// half: every detector finds both (point-adjusted recall 1 with the
// threshold set on the training scores at the true anomaly ratio), and
// with Time-Series-Library's threshold on all scores reaches a
// point-adjusted F1 of at least 0.75.
func TestDetectAnomalies(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	const T = 1200
	e := Entity{Name: "toy", Labels: make([]bool, T)}
	for i := range T {
		a, b := math.Sin(2*math.Pi*float64(i)/24), math.Cos(2*math.Pi*float64(i)/24)
		if (i >= 800 && i < 812) || (i >= 1000 && i < 1012) {
			a += 4
			e.Labels[i] = true
		}
		e.X = append(e.X, []float64{a + 0.05*r.NormFloat64(), b + 0.05*r.NormFloat64()})
	}
	for _, arch := range []string{"iforest", "dlinear", "transformer"} {
		t.Run(arch, func(t *testing.T) {
			s, err := DetectAnomalies([]Entity{e}, DetectOptions{Arch: arch, Window: 48, DModel: 16, Heads: 2, Layers: 1, Epochs: 3, Batch: 32, LR: 3e-3, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			if len(s.TrainScores) != 600 || len(s.TestScores) != 600 || len(s.TestLabels) != 600 {
				t.Fatalf("%d/%d scores, %d labels", len(s.TrainScores), len(s.TestScores), len(s.TestLabels))
			}
			ds, err := s.Evaluate(100 * 24.0 / 1200)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range ds {
				t.Logf("%s, threshold on %s: flagged %d; F1 %.3f, point-adjusted %.3f (recall %.3f)", arch, d.Kind, d.Flagged, d.Raw.F1, d.PointAdjusted.F1, d.PointAdjusted.Recall)
			}
			if ds[0].PointAdjusted.Recall != 1 {
				t.Errorf("threshold on training scores: point-adjusted recall %.3f", ds[0].PointAdjusted.Recall)
			}
			if ds[1].PointAdjusted.F1 < 0.75 {
				t.Errorf("threshold on all scores: point-adjusted F1 %.3f", ds[1].PointAdjusted.F1)
			}
		})
	}
	if _, err := DetectAnomalies([]Entity{{Name: "short", X: e.X[:50]}}, DetectOptions{Arch: "dlinear", Window: 48}); err == nil {
		t.Error("a series shorter than two windows accepted")
	}
}
