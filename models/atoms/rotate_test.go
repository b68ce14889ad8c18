package atoms

import (
	"math"
	"testing"

	"github.com/loomml/loom/tensor"
)

// Random rotations are proper rotations (RᵀR = I, det R = 1) and spread
// over SO(3): the mean of R over many draws is near zero (it would be
// biased for the reference code's positive-octant axes).
func TestRandomRotation(t *testing.T) {
	r := tensor.NewRNG(5)
	var mean [9]float64
	const n = 4000
	for range n {
		R := RandomRotation(r)
		for i := range 3 {
			for j := range 3 {
				dot := 0.0
				for k := range 3 {
					dot += R[3*k+i] * R[3*k+j]
				}
				want := 0.0
				if i == j {
					want = 1
				}
				if math.Abs(dot-want) > 1e-12 {
					t.Fatalf("RᵀR[%d][%d] = %v", i, j, dot)
				}
			}
		}
		det := R[0]*(R[4]*R[8]-R[5]*R[7]) - R[1]*(R[3]*R[8]-R[5]*R[6]) + R[2]*(R[3]*R[7]-R[4]*R[6])
		if math.Abs(det-1) > 1e-12 {
			t.Fatalf("det R = %v", det)
		}
		for i := range mean {
			mean[i] += R[i] / n
		}
	}
	for i, v := range mean {
		if math.Abs(v) > 0.05 {
			t.Errorf("mean of R[%d] over %d rotations is %.3f, want ≈ 0", i, n, v)
		}
	}
}

// Batch.Rotated turns each molecule's positions and forces by one rotation
// (distances and the angle between force and position kept), padding
// stays zero and the original batch is untouched.
func TestBatchRotated(t *testing.T) {
	mols := small(t, 2, 20)
	b := Collate(mols)
	orig := append([]float64(nil), b.Pos...)
	rb := b.Rotated(tensor.NewRNG(3))
	for i := range b.Pos {
		if b.Pos[i] != orig[i] {
			t.Fatal("Rotated changed its input")
		}
	}
	for i := range b.B {
		n := b.Lengths[i]
		at := func(v []float64, a int) []float64 { return v[(i*b.T+a)*3 : (i*b.T+a)*3+3] }
		dot := func(u, v []float64) float64 { return u[0]*v[0] + u[1]*v[1] + u[2]*v[2] }
		for a := range n {
			for c := range n {
				d0 := []float64{at(b.Pos, a)[0] - at(b.Pos, c)[0], at(b.Pos, a)[1] - at(b.Pos, c)[1], at(b.Pos, a)[2] - at(b.Pos, c)[2]}
				d1 := []float64{at(rb.Pos, a)[0] - at(rb.Pos, c)[0], at(rb.Pos, a)[1] - at(rb.Pos, c)[1], at(rb.Pos, a)[2] - at(rb.Pos, c)[2]}
				if math.Abs(dot(d0, d0)-dot(d1, d1)) > 1e-9 {
					t.Fatalf("molecule %d: distance %d–%d changed", i, a, c)
				}
			}
			if math.Abs(dot(at(b.Pos, a), at(b.Forces, a))-dot(at(rb.Pos, a), at(rb.Forces, a))) > 1e-6 {
				t.Fatalf("molecule %d atom %d: forces not turned with the positions", i, a)
			}
		}
		for k := 3 * n; k < 3*b.T; k++ {
			if rb.Pos[i*b.T*3+k] != 0 || rb.Forces[i*b.T*3+k] != 0 {
				t.Fatalf("molecule %d: padding moved", i)
			}
		}
	}
}
