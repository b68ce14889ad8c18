package chem

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func mustParse(t *testing.T, s string) *Molecule {
	t.Helper()
	m, err := ParseSMILES(s)
	if err != nil {
		t.Fatalf("ParseSMILES(%q): %v", s, err)
	}
	return m
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		smiles string
		column int
		char   string
		msg    string
	}{
		// unclosed rings: the ring number that is never closed
		{"C1CC", 2, "1", "unclosed ring"},
		{"C1CC2CC1", 5, "2", "unclosed ring"},
		{"CC%12CC", 3, "%", "unclosed ring"},
		// unmatched parentheses
		{"CC(C", 3, "(", "unmatched '('"},
		{"CC(C(C)", 3, "(", "unmatched '('"},
		{"CC)C", 3, ")", "unmatched ')'"},
		{"C()C", 3, ")", "empty branch"},
		{"(C)C", 1, "(", "branch with no atom before it"},
		// bad bracket atoms
		{"C[Xx]C", 3, "X", "unknown element"},
		{"C[C", 2, "[", "unclosed '['"},
		{"[]", 2, "]", "bracket atom without an element"},
		{"[C+]]", 5, "]", "unexpected character"},
		{"[CH4x]", 5, "x", "bad character in bracket atom"},
		{"[q]", 2, "q", "unknown aromatic element"},
		{"[C:]", 3, ":", "atom class ':' without a number"},
		{"[#0]", 2, "#", "bad atomic number"},
		// bad characters
		{"CCXC", 3, "X", "unexpected character"},
		{"C C", 2, " ", "unexpected character"},
		{"CCé", 3, "é", "unexpected character"},
		{"Cl+", 3, "+", "unexpected character"},
		{"H2O", 1, "H", "unexpected character"},
		// bonds, dots and ring numbers in the wrong place
		{"=CC", 1, "=", "bond symbol with no atom before it"},
		{"CC=", 3, "=", "bond symbol with no atom after it"},
		{"C==C", 3, "=", "two bond symbols in a row"},
		{"C=(C)C", 2, "=", "bond symbol before a branch"},
		{"C(C=)C", 4, "=", "bond symbol with no atom after it"},
		{".C", 1, ".", "'.' with no atom before it"},
		{"C.", 2, ".", "'.' with no atom after it"},
		{"C..C", 3, ".", "'.' with no atom before it"},
		{"1CC1", 1, "1", "ring number with no atom before it"},
		{"C11", 3, "1", "ring closure bonds an atom to itself"},
		{"C1C1", 4, "1", "ring closure duplicates an existing bond"},
		{"C12CCC12", 8, "2", "ring closure duplicates an existing bond"},
		{"C%1C", 2, "%", "'%' must be followed by two digits"},
		{"C%(12C%(12)", 2, "%", "bad ring number"},
		// chemistry RDKit rejects, at the atom concerned
		{"CC(C)(C)(C)(C)C", 2, "C", "greater than permitted"},
		{"C[NH4]C", 2, "[NH4]", "greater than permitted"},
		{"c1cccc1", 6, "c", "cannot kekulize"},
		{"Cc", 2, "c", "non-ring atom marked aromatic"},
	}
	for _, c := range cases {
		_, err := ParseSMILES(c.smiles)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%q: want a *ParseError, got %v", c.smiles, err)
			continue
		}
		if pe.Column != c.column || pe.Char != c.char || !strings.Contains(pe.Msg, c.msg) {
			t.Errorf("%q: got column %d %q %q, want column %d %q %q", c.smiles, pe.Column, pe.Char, pe.Msg, c.column, c.char, c.msg)
		}
		if !strings.Contains(pe.Error(), "column ") || !strings.Contains(pe.Error(), c.smiles) {
			t.Errorf("%q: message %q does not name the column and the input", c.smiles, pe.Error())
		}
	}
}

func TestParseStructure(t *testing.T) {
	// Bracket atoms: isotope, chirality, H count, charge, class.
	m := mustParse(t, "[13C@@H](F)(Cl)Br")
	a := m.Atoms[0]
	if a.Isotope != 13 || a.Chirality != "@@" || a.ExplicitH != 1 || a.ImplicitH != 0 || !a.Bracket {
		t.Errorf("[13C@@H]: %+v", a)
	}
	for s, want := range map[string]int{"[Fe+]": 1, "[Fe++]": 2, "[Fe+2]": 2, "[Fe+3]": 3, "[O-]": -1,
		"[O--]": -2, "[O-2]": -2, "[N]": 0} {
		if got := mustParse(t, s).Atoms[0].Charge; got != want {
			t.Errorf("%s: charge %d, want %d", s, got, want)
		}
	}
	if c := mustParse(t, "[CH3:7]O").Atoms[0].Class; c != 7 {
		t.Errorf("atom class %d", c)
	}
	if ch := mustParse(t, "F[C@TH2](Cl)(Br)I").Atoms[1].Chirality; ch != "@TH2" {
		t.Errorf("chirality %q", ch)
	}
	// %nn ring closures, bond orders on closures, reuse of ring numbers.
	m = mustParse(t, "C%10CCCCC%10")
	if len(m.Bonds) != 6 || !m.Bonds[5].InRing {
		t.Errorf("%%10 ring: %d bonds", len(m.Bonds))
	}
	m = mustParse(t, "C=1CCCCC1")
	if b := m.BondBetween(0, 5); b < 0 || m.Bonds[b].Order != Double {
		t.Errorf("ring-closure bond order lost")
	}
	m = mustParse(t, "C1CC1C1CC1")
	if len(m.Bonds) != 7 || m.Bonds[2].InRing {
		t.Errorf("reused ring number: %d bonds, linker in ring %v", len(m.Bonds), m.Bonds[2].InRing)
	}
	// Branches and dot-disconnected components.
	m = mustParse(t, "CC(C)(C)C.[Na+].[Cl-]")
	if len(m.Atoms) != 7 || len(m.Bonds) != 4 || m.Degree(1) != 4 || m.Degree(5) != 0 {
		t.Errorf("branches/dots: %d atoms %d bonds", len(m.Atoms), len(m.Bonds))
	}
	// Bond orders and stereo marks.
	m = mustParse(t, "C#CC.[Mo]$[Mo]")
	if m.Bonds[0].Order != Triple || m.Bonds[2].Order != Quadruple {
		t.Errorf("bond orders %v %v", m.Bonds[0].Order, m.Bonds[2].Order)
	}
	m = mustParse(t, `F/C=C\F`)
	if m.Bonds[0].Stereo != StereoUp || m.Bonds[2].Stereo != StereoDown || m.Bonds[1].Stereo != StereoNone {
		t.Errorf("stereo marks %v %v %v", m.Bonds[0].Stereo, m.Bonds[1].Stereo, m.Bonds[2].Stereo)
	}
	// Aromaticity from Kekulé input, [nH], implicit H.
	m = mustParse(t, "C1=CC=CC=C1")
	for i, a := range m.Atoms {
		if !a.Aromatic || m.TotalH(i) != 1 {
			t.Errorf("benzene atom %d: aromatic %v H %d", i, a.Aromatic, m.TotalH(i))
		}
	}
	m = mustParse(t, "c1cc[nH]c1")
	if !m.Atoms[3].Aromatic || m.TotalH(3) != 1 {
		t.Errorf("[nH]: %+v", m.Atoms[3])
	}
	// Surrounding white space is ignored; an empty SMILES is an empty molecule.
	if m := mustParse(t, "  CCO \n"); len(m.Atoms) != 3 {
		t.Errorf("trimmed: %d atoms", len(m.Atoms))
	}
	if m := mustParse(t, ""); len(m.Atoms) != 0 {
		t.Errorf("empty: %d atoms", len(m.Atoms))
	}
}

// FuzzParse checks that no input panics and that every error names a
// position inside the input.
func FuzzParse(f *testing.F) {
	for _, r := range loadRDKitSMILES(f) {
		f.Add(r.SMILES)
	}
	for _, s := range []string{"C1CC", "CC(C", "[C@@H:12]", "C%(100)CC%(100)", "c1cc*cc1", "[2H]/C=C/%10.[Na+]%10"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseSMILES(s)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("%q: error is not a *ParseError: %v", s, err)
			}
			if n := utf8.RuneCountInString(s); pe.Column < 1 || pe.Column > n {
				t.Fatalf("%q: error column %d outside 1..%d: %v", s, pe.Column, n, err)
			}
			if pe.Char == "" {
				t.Fatalf("%q: error names no character: %v", s, err)
			}
			return
		}
		for i := range m.Atoms {
			_ = AtomFeatureVector(m, i)
		}
		for b := range m.Bonds {
			_ = BondFeatureVector(m, b)
		}
	})
}
