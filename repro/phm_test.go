package repro

import "testing"

// The Hamilton toy learns A exactly (2 epochs suffice, as in the tutorial).
func TestHamiltonToy(t *testing.T) {
	loss, a := hamiltonToy(11, 1000, 3)
	if loss > 1e-3 {
		t.Fatalf("final loss %g", loss)
	}
	for u := range 3 {
		for r := range 4 {
			for c := range 4 {
				if d := a.At(u+1, r, c) - hamiltonUnits[u][r][c]; d > 0.05 || d < -0.05 {
					t.Fatalf("A%d[%d,%d] = %v, want %v", u+1, r, c, a.At(u+1, r, c), hamiltonUnits[u][r][c])
				}
			}
		}
	}
}
