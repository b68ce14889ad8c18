package atoms

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// Reference is the energy standardisation every model here trains in: a
// linear per-element reference energy, E_ref = Σ_atoms Energy[element],
// fitted by least squares on the training set, and the scale of what it
// leaves, so that the networks learn ε = (E − E_ref)/Scale, a quantity of
// order one, and forces in units of Scale per Å. The reference code of the
// paper subtracts OMol25's fixed elemental references and divides by the
// training set's standard deviation (mmlm/datasets_v2/loaders/omol_loader.py,
// continuous_model.py); here the references are fitted, as MMFF94's
// absolute energies are not atomisation energies.
type Reference struct {
	// Elements are the atomic numbers the models know, ascending; the
	// element embeddings' rows follow this order (row 0 is padding).
	Elements []int     `json:"elements"`
	Energy   []float64 `json:"energy"` // kcal/mol per atom of each element
	// Scale is the root mean square of the fit's residuals on the
	// training set (their standard deviation about 0), kcal/mol.
	Scale float64 `json:"scale"`
}

// FitReference fits per-element reference energies to mols' energies by
// linear least squares (E ≈ Σ_e count_e·ref_e, with a ridge of 1e-9 times
// the mean squared count, so that elements that always occur in the same
// proportion still get finite references) and takes the residuals' root
// mean square as the scale, or 1 kcal/mol when the fit leaves nothing (a
// residual RMS below 1e-6 of the energies', as with fewer molecules than
// elements).
func FitReference(mols []Molecule) (Reference, error) {
	if len(mols) == 0 {
		return Reference{}, errors.New("atoms: no molecules to fit reference energies on")
	}
	var els []int
	for _, m := range mols {
		for _, z := range m.Z {
			if z <= 0 {
				return Reference{}, fmt.Errorf("atoms: atomic number %d", z)
			}
			if !slices.Contains(els, z) {
				els = append(els, z)
			}
		}
	}
	slices.Sort(els)
	n, k := len(mols), len(els)
	A := mat.NewDense(n+k, k, nil)
	y := mat.NewVecDense(n+k, nil)
	sq := 0.0
	for i, m := range mols {
		for _, z := range m.Z {
			j, _ := slices.BinarySearch(els, z)
			A.Set(i, j, A.At(i, j)+1)
		}
		for j := range k {
			sq += A.At(i, j) * A.At(i, j)
		}
		y.SetVec(i, m.Energy)
	}
	ridge := math.Sqrt(1e-9 * sq / float64(n))
	for j := range k {
		A.Set(n+j, j, ridge)
	}
	var x mat.VecDense
	if err := x.SolveVec(A, y); err != nil {
		return Reference{}, fmt.Errorf("atoms: fitting reference energies: %w", err)
	}
	ref := Reference{Elements: els, Energy: make([]float64, k)}
	for j := range k {
		ref.Energy[j] = x.AtVec(j)
	}
	ss, es := 0.0, 0.0
	for _, m := range mols {
		r := m.Energy - ref.Baseline(m.Z)
		ss += r * r
		es += m.Energy * m.Energy
	}
	ref.Scale = math.Sqrt(ss / float64(n))
	if ref.Scale <= 1e-6*(1+math.Sqrt(es/float64(n))) {
		ref.Scale = 1 // the references explain the energies: no scale to take
	}
	return ref, nil
}

// Index returns element z's row in the element embeddings (1-based; row 0
// is padding), and whether z is known.
func (r Reference) Index(z int) (int, bool) {
	j, ok := slices.BinarySearch(r.Elements, z)
	return j + 1, ok
}

// Baseline returns Σ_atoms Energy[element] for atomic numbers zs (padding
// zeros and unknown elements count nothing).
func (r Reference) Baseline(zs []int) float64 {
	s := 0.0
	for _, z := range zs {
		if j, ok := slices.BinarySearch(r.Elements, z); ok {
			s += r.Energy[j]
		}
	}
	return s
}

// Check reports an element of b that r does not know.
func (r Reference) Check(b *Batch) error {
	for i, n := range b.Lengths {
		for t := range n {
			if z := b.Z[i*b.T+t]; !slices.Contains(r.Elements, z) {
				return fmt.Errorf("atoms: molecule %d of the batch has element Z=%d, which the model was not built for (it knows %v)", i, z, r.Elements)
			}
		}
	}
	return nil
}
