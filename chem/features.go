package chem

// Atom and bond features for graph models.
//
// Atoms use OGB's scheme (ogb.utils.features.atom_to_feature_vector), nine
// categorical features, each an index into its vocabulary, the last entry of
// a vocabulary standing for "other":
//
//	0 element         atomic number 1..118 → 0..117; wildcard / other → 118   (119)
//	1 chirality       none 0, '@@' 1, '@' 2, other tag 3; 4 unused            (5)
//	2 degree          total degree incl. hydrogens 0..10; other → 11           (12)
//	3 formal charge   -5..5 → 0..10; other → 11                                (12)
//	4 total H         0..8; other → 9                                          (10)
//	5 radicals        0..4; other → 5                                          (6)
//	6 hybridisation   SP 0, SP2 1, SP3 2, SP3D 3, SP3D2 4; other (S, none) → 5 (6)
//	7 aromatic        0/1                                                      (2)
//	8 in ring         0/1                                                      (2)
//
// OGB's chirality indices are RDKit's CHI_TETRAHEDRAL_CW (written '@@') 1 and
// CCW ('@') 2. They come from the written tag here; RDKit also drops tags on
// atoms that are not stereocentres, which this package does not detect.
//
// Bonds use three features:
//
//	0 type        single 0, double 1, triple 2, aromatic 3, other 4   (5)
//	1 conjugated  0/1                                                 (2)
//	2 in ring     0/1                                                 (2)
//
// OGB's bond feature vector has E/Z stereo in place of ring membership; the
// SMILES '/' '\' marks are kept on Bond.Stereo but not turned into E/Z here.

// AtomFeatureDims is the vocabulary size of each atom feature.
var AtomFeatureDims = []int{119, 5, 12, 12, 10, 6, 6, 2, 2}

// BondFeatureDims is the vocabulary size of each bond feature.
var BondFeatureDims = []int{5, 2, 2}

// AtomFeatureSize is the length of AtomFeatureVector's one-hot vector.
var AtomFeatureSize = sum(AtomFeatureDims)

// BondFeatureSize is the length of BondFeatureVector's one-hot vector.
var BondFeatureSize = sum(BondFeatureDims)

func sum(xs []int) int {
	s := 0
	for _, x := range xs {
		s += x
	}
	return s
}

func clampIndex(v, lo, hi, other int) int {
	if v < lo || v > hi {
		return other
	}
	return v - lo
}

// AtomFeatures returns the categorical atom features of atom i (see the
// package's feature table above).
func AtomFeatures(m *Molecule, i int) []int {
	a := &m.Atoms[i]
	elem := 118
	if a.AtomicNum >= 1 && a.AtomicNum <= 118 {
		elem = a.AtomicNum - 1
	}
	chir := 0
	switch a.Chirality {
	case "":
	case "@@", "@TH2":
		chir = 1
	case "@", "@TH1":
		chir = 2
	default:
		chir = 3
	}
	hyb := 5
	switch a.Hybrid {
	case HybridSP:
		hyb = 0
	case HybridSP2:
		hyb = 1
	case HybridSP3:
		hyb = 2
	case HybridSP3D:
		hyb = 3
	case HybridSP3D2:
		hyb = 4
	}
	return []int{
		elem,
		chir,
		clampIndex(m.TotalDegree(i), 0, 10, 11),
		clampIndex(a.Charge, -5, 5, 11),
		clampIndex(m.TotalH(i), 0, 8, 9),
		clampIndex(a.Radicals, 0, 4, 5),
		hyb,
		boolIndex(a.Aromatic),
		boolIndex(a.InRing),
	}
}

// BondFeatures returns the categorical features of bond b.
func BondFeatures(m *Molecule, b int) []int {
	bd := &m.Bonds[b]
	t := 4
	switch bd.Order {
	case Single:
		t = 0
	case Double:
		t = 1
	case Triple:
		t = 2
	case Aromatic:
		t = 3
	}
	return []int{t, boolIndex(bd.Conjugated), boolIndex(bd.InRing)}
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}

func oneHot(idx, dims []int) []float32 {
	out := make([]float32, sum(dims))
	off := 0
	for k, d := range dims {
		out[off+idx[k]] = 1
		off += d
	}
	return out
}

// AtomFeatureVector is AtomFeatures as concatenated one-hot vectors
// (length AtomFeatureSize).
func AtomFeatureVector(m *Molecule, i int) []float32 {
	return oneHot(AtomFeatures(m, i), AtomFeatureDims)
}

// BondFeatureVector is BondFeatures as concatenated one-hot vectors
// (length BondFeatureSize).
func BondFeatureVector(m *Molecule, b int) []float32 {
	return oneHot(BondFeatures(m, b), BondFeatureDims)
}
