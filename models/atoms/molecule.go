package atoms

import (
	"fmt"

	"github.com/loomml/loom/autograd"
	xyz "github.com/loomml/loom/data/atoms"
	"github.com/loomml/loom/tensor"
)

// Molecule is one structure with its labels: atomic numbers, Cartesian
// positions in Å and, when labelled, the energy (kcal/mol) and forces
// (kcal/mol/Å).
type Molecule struct {
	Z   []int
	Pos []float64 // [atom][x y z], row-major
	// Forces are [atom][x y z] (nil: no force labels).
	Forces []float64
	Energy float64
}

// Len is the number of atoms.
func (m *Molecule) Len() int { return len(m.Z) }

// FromFrames converts frames read by data/atoms (as data/molecules.MMFF
// returns them) to molecules, checking that each has an energy and that
// its arrays agree with its atom count.
func FromFrames(frames []xyz.Frame) ([]Molecule, error) {
	out := make([]Molecule, len(frames))
	for i, f := range frames {
		n := f.Len()
		switch {
		case n == 0:
			return nil, fmt.Errorf("atoms: frame %d (line %d) has no atoms", i, f.Line)
		case len(f.Pos) != 3*n:
			return nil, fmt.Errorf("atoms: frame %d (line %d) has %d position values for %d atoms", i, f.Line, len(f.Pos), n)
		case f.Forces != nil && len(f.Forces) != 3*n:
			return nil, fmt.Errorf("atoms: frame %d (line %d) has %d force values for %d atoms", i, f.Line, len(f.Forces), n)
		case !f.HasEnergy:
			return nil, fmt.Errorf("atoms: frame %d (line %d) has no energy", i, f.Line)
		}
		out[i] = Molecule{Z: f.Z, Pos: f.Pos, Forces: f.Forces, Energy: f.Energy}
	}
	return out, nil
}

// Batch is molecules padded on the right to the largest: molecule b's
// atoms are rows b·T … b·T+Lengths[b]−1, the rest padding (atomic number
// 0, zero positions and forces). Values stay float64 until a model turns
// them into tensors of its own type.
type Batch struct {
	B, T    int
	Lengths []int     // atoms of each molecule
	Z       []int     // [B·T] atomic numbers, 0 in padding
	Pos     []float64 // [B·T·3] Å
	// Forces are [B·T·3] kcal/mol/Å (nil when a molecule has none).
	Forces []float64
	Energy []float64 // [B] kcal/mol
}

// Collate pads mols into one batch.
func Collate(mols []Molecule) *Batch {
	b := &Batch{B: len(mols), Lengths: make([]int, len(mols)), Energy: make([]float64, len(mols))}
	labelled := true
	for i, m := range mols {
		b.T = max(b.T, m.Len())
		b.Lengths[i] = m.Len()
		b.Energy[i] = m.Energy
		labelled = labelled && m.Forces != nil
	}
	b.Z = make([]int, b.B*b.T)
	b.Pos = make([]float64, b.B*b.T*3)
	if labelled {
		b.Forces = make([]float64, b.B*b.T*3)
	}
	for i, m := range mols {
		copy(b.Z[i*b.T:], m.Z)
		copy(b.Pos[i*b.T*3:], m.Pos)
		if labelled {
			copy(b.Forces[i*b.T*3:], m.Forces)
		}
	}
	return b
}

// Tokens is the number of atoms (train.Loop logs atoms per second).
func (b *Batch) Tokens() int {
	n := 0
	for _, l := range b.Lengths {
		n += l
	}
	return n
}

// Mask returns [B, T, 1]: 1 at atoms, 0 at padding.
func (b *Batch) Mask(dt tensor.DType) *tensor.Tensor {
	m := make([]float64, b.B*b.T)
	for i, n := range b.Lengths {
		for t := range n {
			m[i*b.T+t] = 1
		}
	}
	return tensor.FromFloat64(m, b.B, b.T, 1).To(dt)
}

// PosVar returns the positions [B, T, 3] as a leaf that requires a
// gradient, so that forces can be taken with respect to it.
func (b *Batch) PosVar(dt tensor.DType) *autograd.Var {
	return autograd.Leaf(tensor.FromFloat64(b.Pos, b.B, b.T, 3).To(dt))
}

// Molecule returns molecule i of the batch, unpadded.
func (b *Batch) Molecule(i int) Molecule {
	n := b.Lengths[i]
	m := Molecule{Z: b.Z[i*b.T : i*b.T+n], Pos: b.Pos[i*b.T*3 : (i*b.T+n)*3], Energy: b.Energy[i]}
	if b.Forces != nil {
		m.Forces = b.Forces[i*b.T*3 : (i*b.T+n)*3]
	}
	return m
}

// Set is a list of molecules as train.Examples.
type Set []Molecule

// Len returns the number of molecules.
func (s Set) Len() int { return len(s) }

// Batch collates molecules idx.
func (s Set) Batch(idx []int) *Batch {
	mols := make([]Molecule, len(idx))
	for i, j := range idx {
		mols[i] = s[j]
	}
	return Collate(mols)
}
