package graph

import "github.com/loomml/loom/chem"

// FromMolecule maps a parsed molecule onto a Graph: its atoms with chem's
// categorical atom features (chem.AtomFeatureDims), each bond both ways
// with its bond features (chem.BondFeatureDims).
func FromMolecule(m *chem.Molecule) (*Graph, error) {
	nodes := make([][]int, len(m.Atoms))
	for i := range nodes {
		nodes[i] = chem.AtomFeatures(m, i)
	}
	bonds := make([][2]int, len(m.Bonds))
	feats := make([][]int, len(m.Bonds))
	for b, bd := range m.Bonds {
		bonds[b] = [2]int{bd.Begin, bd.End}
		feats[b] = chem.BondFeatures(m, b)
	}
	return FromBonds(nodes, bonds, feats)
}
