package repro

import "testing"

func TestMIPThreshold(t *testing.T) {
	r := mipRun{steps: []int{0, 50, 100, 150, 200, 250, 300}, mean: []float64{4, 2, 1, 0.9, 0.8, 0.7, 0.6}}
	if got, want := mipFinal(r), (1+0.9+0.8+0.7+0.6)/5; got != want {
		t.Errorf("final %v, want %v", got, want)
	}
	for _, tc := range []struct {
		tau  float64
		want int
	}{{5, 0}, {2, 50}, {0.95, 150}, {0.6, 300}, {0.5, -1}} {
		if got := mipReach(r, tc.tau); got != tc.want {
			t.Errorf("reach(%g) = %d, want %d", tc.tau, got, tc.want)
		}
	}
	if mipSteps(-1) != "never" || mipSteps(150) != "150" {
		t.Error("mipSteps")
	}
	short := mipRun{steps: []int{0, 50}, mean: []float64{3, 1}}
	if got := mipFinal(short); got != 2 {
		t.Errorf("final of a short run %v", got)
	}
}
