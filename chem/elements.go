package chem

// The table below was extracted from RDKit 2022.09 (BSD-3-Clause) with
// Chem.GetPeriodicTable() (valence lists, outer electrons) and Atom.cpp's
// isEarlyAtom table.

// elements holds, per atomic number, the symbol and the valence model data of
// RDKit's atomic_data.cpp and Atom.cpp (isEarlyAtom), so that implicit
// hydrogens and aromaticity follow RDKit. A valence list ending in -1 accepts
// any higher valence; [-1] alone means "no default valence" (metals).
var elements = [...]element{
	{"*", []int{-1}, 0, false},          // 0
	{"H", []int{1}, 1, false},           // 1
	{"He", []int{0}, 2, false},          // 2
	{"Li", []int{1}, 1, true},           // 3
	{"Be", []int{2}, 2, true},           // 4
	{"B", []int{3}, 3, true},            // 5
	{"C", []int{4}, 4, false},           // 6
	{"N", []int{3}, 5, false},           // 7
	{"O", []int{2}, 6, false},           // 8
	{"F", []int{1}, 7, false},           // 9
	{"Ne", []int{0}, 8, false},          // 10
	{"Na", []int{1}, 1, true},           // 11
	{"Mg", []int{2, -1}, 2, true},       // 12
	{"Al", []int{3, 6}, 3, true},        // 13
	{"Si", []int{4, 6}, 4, false},       // 14
	{"P", []int{3, 5, 7}, 5, false},     // 15
	{"S", []int{2, 4, 6}, 6, false},     // 16
	{"Cl", []int{1}, 7, false},          // 17
	{"Ar", []int{0}, 8, false},          // 18
	{"K", []int{1}, 1, true},            // 19
	{"Ca", []int{2, -1}, 2, true},       // 20
	{"Sc", []int{-1}, 3, true},          // 21
	{"Ti", []int{-1}, 4, true},          // 22
	{"V", []int{-1}, 5, false},          // 23
	{"Cr", []int{-1}, 6, false},         // 24
	{"Mn", []int{-1}, 7, false},         // 25
	{"Fe", []int{-1}, 8, false},         // 26
	{"Co", []int{-1}, 9, false},         // 27
	{"Ni", []int{-1}, 10, false},        // 28
	{"Cu", []int{-1}, 11, false},        // 29
	{"Zn", []int{-1}, 2, true},          // 30
	{"Ga", []int{3}, 3, true},           // 31
	{"Ge", []int{4}, 4, true},           // 32
	{"As", []int{3, 5, 7}, 5, false},    // 33
	{"Se", []int{2, 4, 6}, 6, false},    // 34
	{"Br", []int{1}, 7, false},          // 35
	{"Kr", []int{0}, 8, false},          // 36
	{"Rb", []int{1}, 1, true},           // 37
	{"Sr", []int{2, -1}, 2, true},       // 38
	{"Y", []int{-1}, 3, true},           // 39
	{"Zr", []int{-1}, 4, true},          // 40
	{"Nb", []int{-1}, 5, true},          // 41
	{"Mo", []int{-1}, 6, false},         // 42
	{"Tc", []int{-1}, 7, false},         // 43
	{"Ru", []int{-1}, 8, false},         // 44
	{"Rh", []int{-1}, 9, false},         // 45
	{"Pd", []int{-1}, 10, false},        // 46
	{"Ag", []int{-1}, 11, false},        // 47
	{"Cd", []int{-1}, 2, true},          // 48
	{"In", []int{3}, 3, true},           // 49
	{"Sn", []int{2, 4}, 4, true},        // 50
	{"Sb", []int{3, 5, 7}, 5, true},     // 51
	{"Te", []int{2, 4, 6}, 6, false},    // 52
	{"I", []int{1, 3, 5}, 7, false},     // 53
	{"Xe", []int{0, 2, 4, 6}, 8, false}, // 54
	{"Cs", []int{1}, 1, true},           // 55
	{"Ba", []int{2, -1}, 2, true},       // 56
	{"La", []int{-1}, 3, true},          // 57
	{"Ce", []int{-1}, 4, true},          // 58
	{"Pr", []int{-1}, 3, true},          // 59
	{"Nd", []int{-1}, 4, true},          // 60
	{"Pm", []int{-1}, 5, true},          // 61
	{"Sm", []int{-1}, 6, false},         // 62
	{"Eu", []int{-1}, 7, false},         // 63
	{"Gd", []int{-1}, 8, false},         // 64
	{"Tb", []int{-1}, 9, false},         // 65
	{"Dy", []int{-1}, 10, false},        // 66
	{"Ho", []int{-1}, 11, false},        // 67
	{"Er", []int{-1}, 12, false},        // 68
	{"Tm", []int{-1}, 13, false},        // 69
	{"Yb", []int{-1}, 14, false},        // 70
	{"Lu", []int{-1}, 15, false},        // 71
	{"Hf", []int{-1}, 4, true},          // 72
	{"Ta", []int{-1}, 5, true},          // 73
	{"W", []int{-1}, 6, false},          // 74
	{"Re", []int{-1}, 7, false},         // 75
	{"Os", []int{-1}, 8, false},         // 76
	{"Ir", []int{-1}, 9, false},         // 77
	{"Pt", []int{-1}, 10, false},        // 78
	{"Au", []int{-1}, 11, false},        // 79
	{"Hg", []int{-1}, 2, true},          // 80
	{"Tl", []int{3}, 3, true},           // 81
	{"Pb", []int{2, 4}, 4, true},        // 82
	{"Bi", []int{3, 5, 7}, 5, true},     // 83
	{"Po", []int{2, 4, 6}, 6, false},    // 84
	{"At", []int{1, 3, 5}, 7, false},    // 85
	{"Rn", []int{0}, 8, false},          // 86
	{"Fr", []int{1}, 1, true},           // 87
	{"Ra", []int{2, -1}, 2, true},       // 88
	{"Ac", []int{-1}, 3, true},          // 89
	{"Th", []int{-1}, 4, true},          // 90
	{"Pa", []int{-1}, 3, true},          // 91
	{"U", []int{-1}, 4, true},           // 92
	{"Np", []int{-1}, 5, true},          // 93
	{"Pu", []int{-1}, 6, false},         // 94
	{"Am", []int{-1}, 7, false},         // 95
	{"Cm", []int{-1}, 8, false},         // 96
	{"Bk", []int{-1}, 9, false},         // 97
	{"Cf", []int{-1}, 10, false},        // 98
	{"Es", []int{-1}, 11, false},        // 99
	{"Fm", []int{-1}, 12, false},        // 100
	{"Md", []int{-1}, 13, false},        // 101
	{"No", []int{-1}, 14, false},        // 102
	{"Lr", []int{-1}, 15, false},        // 103
	{"Rf", []int{-1}, 2, true},          // 104
	{"Db", []int{-1}, 2, true},          // 105
	{"Sg", []int{-1}, 2, true},          // 106
	{"Bh", []int{-1}, 2, true},          // 107
	{"Hs", []int{-1}, 2, true},          // 108
	{"Mt", []int{-1}, 2, true},          // 109
	{"Ds", []int{-1}, 2, true},          // 110
	{"Rg", []int{-1}, 2, true},          // 111
	{"Cn", []int{-1}, 2, true},          // 112
	{"Nh", []int{-1}, 2, true},          // 113
	{"Fl", []int{-1}, 2, true},          // 114
	{"Mc", []int{-1}, 2, true},          // 115
	{"Lv", []int{-1}, 2, true},          // 116
	{"Ts", []int{-1}, 2, true},          // 117
	{"Og", []int{-1}, 2, true},          // 118
}

type element struct {
	symbol   string
	valences []int
	outer    int
	early    bool
}

// defaultValence is RDKit's default valence: the first of the allowed
// valences, -1 for elements without one.
func defaultValence(z int) int {
	if z < 0 || z >= len(elements) {
		return -1
	}
	return elements[z].valences[0]
}

// outerElectrons is the number of valence-shell electrons.
func outerElectrons(z int) int {
	if z < 0 || z >= len(elements) {
		return 0
	}
	return elements[z].outer
}

// moreElectronegative is RDKit's approximation: more outer electrons, or the
// same number and a lower atomic number.
func moreElectronegative(z1, z2 int) bool {
	n1, n2 := outerElectrons(z1), outerElectrons(z2)
	return n1 > n2 || (n1 == n2 && z1 < z2)
}

var symbolToZ = func() map[string]int {
	m := make(map[string]int, len(elements))
	for z, e := range elements {
		m[e.symbol] = z
	}
	return m
}()
