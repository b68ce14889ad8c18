package graph

import (
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/chem"
)

// molecule parses smiles into a Graph (FromMolecule).
func molecule(t testing.TB, smiles string) *Graph {
	t.Helper()
	m, err := chem.ParseSMILES(smiles)
	if err != nil {
		t.Fatal(err)
	}
	g, err := FromMolecule(m)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestMolecules runs every architecture on SMILES molecules mapped with
// chem's features (among them methane, one atom and no bonds, and
// benzene, whose LapPE spans repeated eigenvalues).
func TestMolecules(t *testing.T) {
	smiles := []string{"c1ccccc1", "CC(=O)Oc1ccccc1C(=O)O", "C", "OCC#N", "[NH4+].[Cl-]"}
	var gs []*Graph
	var ys [][]float64
	for i, s := range smiles {
		gs = append(gs, molecule(t, s))
		ys = append(ys, []float64{float64(i)})
	}
	set, err := NewSet(gs, ys, 8)
	if err != nil {
		t.Fatal(err)
	}
	b := set.Batch([]int{0, 1, 2, 3, 4})
	if b.Nodes != 6+13+1+4+2 || b.Edges() != 2*(6+13+0+3+0) || b.F != len(chem.AtomFeatureDims) || b.Fe != len(chem.BondFeatureDims) {
		t.Fatalf("batch of %d nodes, %d edges, %d and %d features", b.Nodes, b.Edges(), b.F, b.Fe)
	}
	for _, arch := range Archs() {
		c := Defaults(arch, chem.AtomFeatureDims, chem.BondFeatureDims)
		c.Layers = 2
		m := mustNew(t, c)
		var y *autograd.Var
		autograd.NoGrad(func() { y = m.Forward(nil, b) })
		if y.Dim(0) != 5 || y.Dim(1) != 1 {
			t.Fatalf("%s: predictions %v", arch, y.Shape())
		}
		loss := Trainer{M: m}.Loss(nil, b)
		loss.Backward()
		if m.Params()[0].Grad == nil {
			t.Fatalf("%s: no gradient", arch)
		}
	}
}
