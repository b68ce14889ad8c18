package chem

// BondOrder is a bond's type: single, double, triple, quadruple or aromatic.
type BondOrder uint8

// Bond orders. The numeric values of Single..Quadruple are the orders.
const (
	Single    BondOrder = 1
	Double    BondOrder = 2
	Triple    BondOrder = 3
	Quadruple BondOrder = 4
	Aromatic  BondOrder = 5
)

// valence is the bond's contribution to an atom's valence (1.5 for aromatic),
// as RDKit's Bond::getValenceContrib.
func (o BondOrder) valence() float64 {
	if o == Aromatic {
		return 1.5
	}
	return float64(o)
}

func (o BondOrder) String() string {
	switch o {
	case Single:
		return "single"
	case Double:
		return "double"
	case Triple:
		return "triple"
	case Quadruple:
		return "quadruple"
	case Aromatic:
		return "aromatic"
	}
	return "unknown"
}

// BondStereo is the directional mark written on a bond in SMILES ('/' or
// '\'), relative to the bond's Begin→End direction. It is kept as written;
// no E/Z assignment is derived from it.
type BondStereo uint8

// Stereo marks.
const (
	StereoNone BondStereo = iota
	StereoUp              // '/'
	StereoDown            // '\'
)

// Hybridization of an atom, as RDKit's setHybridization derives it.
type Hybridization uint8

// Hybridization states.
const (
	HybridUnspecified Hybridization = iota
	HybridS
	HybridSP
	HybridSP2
	HybridSP3
	HybridSP3D
	HybridSP3D2
	HybridSP2D // square planar (an @SP chirality tag)
)

func (h Hybridization) String() string {
	return [...]string{"unspecified", "s", "sp", "sp2", "sp3", "sp3d", "sp3d2", "sp2d"}[h]
}

// Atom is one atom of a Molecule. Hydrogens written as atoms ([H]) are atoms
// like any other; the counts below are the hydrogens that are not.
type Atom struct {
	Element   string // periodic-table symbol ("C", "Cl"), "*" for a wildcard
	AtomicNum int
	Charge    int
	Isotope   int // mass number, 0 when not given
	// ExplicitH is the hydrogen count written in a bracket atom ([NH4+]),
	// plus those RDKit's sanitisation moves there (e.g. the N of a Kekulé
	// pyrrole once it is aromatic).
	ExplicitH int
	// ImplicitH is the number of hydrogens the valence model adds: always 0
	// for bracket atoms.
	ImplicitH int
	Radicals  int  // unpaired electrons (bracket atoms below their valence)
	Aromatic  bool // after sanitising: RDKit-perceived aromaticity
	Bracket   bool // written in [...] (no implicit hydrogens)
	// Chirality is the tag as written: "", "@", "@@", "@TH1", "@SP2", ...
	Chirality string
	Class     int // atom class (map number) after ':' in a bracket atom
	InRing    bool
	Hybrid    Hybridization
	// Pos is where the atom was written: its 1-based column in the SMILES,
	// or its line number in a MOL block.
	Pos int
}

// Bond joins atoms Begin and End (indices into Molecule.Atoms).
type Bond struct {
	Begin, End int
	Order      BondOrder
	Stereo     BondStereo
	InRing     bool
	Conjugated bool
	Pos        int // 1-based column (SMILES) or line (MOL block) of the bond
}

// Other returns the atom at the other end of the bond from atom i.
func (b *Bond) Other(i int) int {
	if b.Begin == i {
		return b.End
	}
	return b.Begin
}

// DataItem is one `> <NAME>` data item of an SD record.
type DataItem struct {
	Name, Value string
}

// Molecule is a molecular graph with per-atom and per-bond properties.
type Molecule struct {
	Atoms []Atom
	Bonds []Bond
	// Coords holds one (x, y, z) per atom for molecules read from MOL/SDF;
	// nil for SMILES.
	Coords [][3]float64
	Name   string     // title line of a MOL block
	Data   []DataItem // SD data items in file order

	adj   [][]int // per atom, the indices of its bonds in insertion order
	rings []ring  // rings used for aromaticity (see rings.go)
}

// Prop returns the value of the SD data item called name.
func (m *Molecule) Prop(name string) (string, bool) {
	for _, d := range m.Data {
		if d.Name == name {
			return d.Value, true
		}
	}
	return "", false
}

func (m *Molecule) addAtom(a Atom) int {
	m.Atoms = append(m.Atoms, a)
	m.adj = append(m.adj, nil)
	return len(m.Atoms) - 1
}

func (m *Molecule) addBond(b Bond) int {
	m.Bonds = append(m.Bonds, b)
	i := len(m.Bonds) - 1
	m.adj[b.Begin] = append(m.adj[b.Begin], i)
	m.adj[b.End] = append(m.adj[b.End], i)
	return i
}

// rebuildAdjacency recomputes the per-atom bond lists from Bonds.
func (m *Molecule) rebuildAdjacency() {
	m.adj = make([][]int, len(m.Atoms))
	for i, b := range m.Bonds {
		m.adj[b.Begin] = append(m.adj[b.Begin], i)
		m.adj[b.End] = append(m.adj[b.End], i)
	}
}

// AtomBonds returns the indices of the bonds of atom i.
func (m *Molecule) AtomBonds(i int) []int { return m.adj[i] }

// Neighbors returns the atoms bonded to atom i.
func (m *Molecule) Neighbors(i int) []int {
	out := make([]int, len(m.adj[i]))
	for k, b := range m.adj[i] {
		out[k] = m.Bonds[b].Other(i)
	}
	return out
}

// Degree is the number of bonds of atom i (hydrogen atoms included, implicit
// hydrogens not).
func (m *Molecule) Degree(i int) int { return len(m.adj[i]) }

// BondBetween returns the index of the bond joining atoms i and j, or -1.
func (m *Molecule) BondBetween(i, j int) int {
	for _, b := range m.adj[i] {
		if m.Bonds[b].Other(i) == j {
			return b
		}
	}
	return -1
}

// TotalH is the number of hydrogens on atom i: explicit, implicit, and
// hydrogen atoms bonded to it (RDKit's GetTotalNumHs(includeNeighbors=True)).
func (m *Molecule) TotalH(i int) int {
	n := m.Atoms[i].ExplicitH + m.Atoms[i].ImplicitH
	for _, j := range m.Neighbors(i) {
		if m.Atoms[j].AtomicNum == 1 {
			n++
		}
	}
	return n
}

// TotalDegree is the number of neighbours including all hydrogens
// (RDKit's GetTotalDegree).
func (m *Molecule) TotalDegree(i int) int {
	return len(m.adj[i]) + m.Atoms[i].ExplicitH + m.Atoms[i].ImplicitH
}

// NumHeavyAtoms counts atoms heavier than hydrogen (wildcards not included,
// as RDKit's GetNumHeavyAtoms).
func (m *Molecule) NumHeavyAtoms() int {
	n := 0
	for _, a := range m.Atoms {
		if a.AtomicNum > 1 {
			n++
		}
	}
	return n
}

// Rings returns the rings used for aromaticity perception (the smallest set
// of smallest rings, symmetrised as RDKit does), each as atom indices in ring
// order. It is nil before sanitisation.
func (m *Molecule) Rings() [][]int {
	out := make([][]int, len(m.rings))
	for i, r := range m.rings {
		out[i] = append([]int(nil), r.atoms...)
	}
	return out
}
