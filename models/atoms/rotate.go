package atoms

import (
	"math"

	"github.com/loomml/loom/tensor"
)

// Rotation is a 3×3 rotation matrix, row-major: a vector v becomes R·v.
type Rotation [9]float64

// RandomRotation draws a rotation uniformly from SO(3) (Haar measure): the
// matrix of a unit quaternion with four standard-normal components. (The
// reference code's RotationTransform draws its axis from [0, 1)³, the
// positive octant, and a uniform angle, which is not uniform on SO(3).)
func RandomRotation(r *tensor.RNG) Rotation {
	var q [4]float64
	norm := 0.0
	for norm < 1e-12 {
		norm = 0
		for i := range q {
			q[i] = r.Normal()
			norm += q[i] * q[i]
		}
	}
	norm = math.Sqrt(norm)
	w, x, y, z := q[0]/norm, q[1]/norm, q[2]/norm, q[3]/norm
	return Rotation{
		1 - 2*(y*y+z*z), 2 * (x*y - w*z), 2 * (x*z + w*y),
		2 * (x*y + w*z), 1 - 2*(x*x+z*z), 2 * (y*z - w*x),
		2 * (x*z - w*y), 2 * (y*z + w*x), 1 - 2*(x*x+y*y),
	}
}

// Apply rotates the 3-vectors of v ([n][x y z], row-major) into a new
// slice.
func (R Rotation) Apply(v []float64) []float64 {
	out := make([]float64, len(v))
	for i := 0; i+2 < len(v); i += 3 {
		x, y, z := v[i], v[i+1], v[i+2]
		out[i] = R[0]*x + R[1]*y + R[2]*z
		out[i+1] = R[3]*x + R[4]*y + R[5]*z
		out[i+2] = R[6]*x + R[7]*y + R[8]*z
	}
	return out
}

// Rotated returns m with positions and forces rotated by R (about the
// origin; the models are translation invariant).
func (m Molecule) Rotated(R Rotation) Molecule {
	m.Pos = R.Apply(m.Pos)
	if m.Forces != nil {
		m.Forces = R.Apply(m.Forces)
	}
	return m
}

// Rotated returns a copy of b with each molecule turned by its own random
// rotation from r, positions and force labels alike (energies unchanged):
// the rotation augmentation of training.
func (b *Batch) Rotated(r *tensor.RNG) *Batch {
	out := *b
	out.Pos = make([]float64, len(b.Pos))
	if b.Forces != nil {
		out.Forces = make([]float64, len(b.Forces))
	}
	for i := range b.B {
		R := RandomRotation(r)
		lo, hi := i*b.T*3, (i+1)*b.T*3
		copy(out.Pos[lo:hi], R.Apply(b.Pos[lo:hi]))
		if b.Forces != nil {
			copy(out.Forces[lo:hi], R.Apply(b.Forces[lo:hi]))
		}
	}
	return &out
}
