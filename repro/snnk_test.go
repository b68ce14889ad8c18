package repro

import (
	"math"
	"testing"
)

// TestSNNKKernelErrors: logSlope recovers an exact power law, and the
// measured relative error of the relu features falls with m at about
// m^{-1/2} and is lower with orthogonal projections.
func TestSNNKKernelErrors(t *testing.T) {
	x := []float64{16, 64, 256}
	if s := logSlope(x, []float64{3 / math.Sqrt(16), 3 / math.Sqrt(64), 3 / math.Sqrt(256)}); math.Abs(s+0.5) > 1e-12 {
		t.Fatalf("slope of an exact m^-1/2 law: %g", s)
	}
	iid := snnkKernelErrors("relu", false, 16, 10, 100, []int{16, 64, 256}, 1)
	orth := snnkKernelErrors("relu", true, 16, 10, 100, []int{16, 64, 256}, 1)
	if s := logSlope(x, iid); s < -0.65 || s > -0.35 {
		t.Fatalf("iid slope %.3f, want about −0.5", s)
	}
	if orth[0] >= iid[0] {
		t.Fatalf("orthogonal error %.3f ≥ iid %.3f at m = 16", orth[0], iid[0])
	}
}
