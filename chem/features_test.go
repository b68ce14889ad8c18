package chem

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestAtomFeatures(t *testing.T) {
	// The expected indices were computed from RDKit 2022.09 atoms with OGB's
	// vocabularies (atom_to_feature_vector); chirality from the written tag.
	cases := []struct {
		smiles string
		atom   int
		want   []int
	}{
		{"c1ccncc1", 3, []int{6, 0, 2, 5, 0, 0, 1, 1, 1}},         // pyridine N: sp2, aromatic
		{"c1ccncc1", 0, []int{5, 0, 3, 5, 1, 0, 1, 1, 1}},         // aromatic CH
		{"C[N+](=O)[O-]", 3, []int{7, 0, 1, 4, 0, 0, 1, 0, 0}},    // nitro O-: charge -1
		{"N[C@@H](C)C(=O)O", 1, []int{5, 1, 4, 5, 1, 0, 2, 0, 0}}, // '@@' → 1, sp3
		{"N[C@H](C)C(=O)O", 1, []int{5, 2, 4, 5, 1, 0, 2, 0, 0}},  // '@' → 2
		{"[CH3]", 0, []int{5, 0, 3, 5, 3, 1, 2, 0, 0}},            // one radical
		{"C#N", 1, []int{6, 0, 1, 5, 0, 0, 0, 0, 0}},              // sp
		{"[Na+].[Cl-]", 0, []int{10, 0, 0, 6, 0, 0, 5, 0, 0}},     // S hybrid → other
		{"[Fe+7]", 0, []int{25, 0, 0, 11, 0, 1, 5, 0, 0}},         // charge out of range → other; one radical, as RDKit
		{"*C", 0, []int{118, 0, 1, 5, 0, 0, 5, 0, 0}},             // wildcard
	}
	for _, c := range cases {
		m := mustParse(t, c.smiles)
		if got := AtomFeatures(m, c.atom); !slices.Equal(got, c.want) {
			t.Errorf("%s atom %d: %v, want %v", c.smiles, c.atom, got, c.want)
		}
	}
}

func TestBondFeatures(t *testing.T) {
	m := mustParse(t, "C=CC#N.c1ccccc1C1CC1")
	want := map[[2]int][]int{
		{0, 1}:   {1, 1, 0}, // conjugated double
		{1, 2}:   {0, 1, 0}, // conjugated single
		{2, 3}:   {2, 1, 0}, // triple
		{4, 5}:   {3, 1, 1}, // aromatic
		{9, 10}:  {0, 0, 0}, // ring substituent bond
		{10, 11}: {0, 0, 1}, // cyclopropane
	}
	for p, w := range want {
		b := m.BondBetween(p[0], p[1])
		if got := BondFeatures(m, b); !slices.Equal(got, w) {
			t.Errorf("bond %v: %v, want %v", p, got, w)
		}
	}
}

// TestFeatureVectors checks, on every fixture molecule, that indices are
// inside their vocabularies and that the one-hot vectors have one 1 per
// feature at the right place.
func TestFeatureVectors(t *testing.T) {
	if AtomFeatureSize != 174 || BondFeatureSize != 9 {
		t.Fatalf("sizes %d %d", AtomFeatureSize, BondFeatureSize)
	}
	check := func(what string, idx, dims []int, vec []float32) {
		off, ones := 0, 0
		for k, d := range dims {
			if idx[k] < 0 || idx[k] >= d {
				t.Fatalf("%s: feature %d index %d outside 0..%d", what, k, idx[k], d-1)
			}
			if vec[off+idx[k]] != 1 {
				t.Fatalf("%s: one-hot of feature %d misplaced", what, k)
			}
			off += d
		}
		for _, v := range vec {
			if v == 1 {
				ones++
			}
		}
		if ones != len(dims) {
			t.Fatalf("%s: %d ones, want %d", what, ones, len(dims))
		}
	}
	for _, r := range loadRDKitSMILES(t) {
		if r.Rejected {
			continue
		}
		m := mustParse(t, r.SMILES)
		for i := range m.Atoms {
			check(fmt.Sprintf("%s atom %d", r.SMILES, i), AtomFeatures(m, i), AtomFeatureDims, AtomFeatureVector(m, i))
		}
		for b := range m.Bonds {
			check(fmt.Sprintf("%s bond %d", r.SMILES, b), BondFeatures(m, b), BondFeatureDims, BondFeatureVector(m, b))
		}
	}
}

// TestLargeInputs runs inputs far beyond drug-like size through the whole
// pipeline (long chains, deep branches, thousands of rings, a 300-ring
// ladder whose ring search is quadratic in its size).
func TestLargeInputs(t *testing.T) {
	ladder := func(n int) string {
		var top, bot strings.Builder
		for i := 0; i <= n; i++ {
			fmt.Fprintf(&top, "C%%(%d)", 1000+i)
			fmt.Fprintf(&bot, "C%%(%d)", 1000+i)
			if i < n {
				top.WriteString("C")
				bot.WriteString("C")
			}
		}
		return top.String() + "." + bot.String()
	}
	cases := []struct {
		smiles       string
		atoms, rings int
	}{
		{strings.Repeat("C", 20000), 20000, 0},
		{strings.Repeat("C(", 3000) + "C" + strings.Repeat(")", 3000), 3001, 0},
		{strings.Repeat("c1ccccc1", 2000), 12000, 2000},
		{ladder(300), 1202, 300},
	}
	for _, c := range cases {
		m := mustParse(t, c.smiles)
		if len(m.Atoms) != c.atoms || len(m.Rings()) != c.rings {
			t.Errorf("%.20s…: %d atoms %d rings, want %d %d", c.smiles, len(m.Atoms), len(m.Rings()), c.atoms, c.rings)
		}
	}
}
