package molgraph

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/loomml/loom/chem"
)

// TestScaffoldMatchesRDKit compares Scaffold with RDKit's
// MurckoScaffold.GetScaffoldForMol on the 1,128 ESOL molecules
// (testdata/scaffolds.json, made by gen_scaffolds.py): the same number of
// scaffold atoms for every molecule, and ScaffoldKey groups the molecules
// exactly as RDKit's canonical scaffold SMILES do.
func TestScaffoldMatchesRDKit(t *testing.T) {
	raw, err := os.ReadFile("testdata/scaffolds.json")
	if err != nil {
		t.Fatal(err)
	}
	var fx struct {
		Molecules []struct {
			Smiles, Scaffold string
			Atoms            int
		}
	}
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	byRDKit, byKey := map[string]string{}, map[string]string{}
	bad := 0
	for _, r := range fx.Molecules {
		m, err := chem.ParseSMILES(r.Smiles)
		if err != nil {
			t.Fatalf("%s: %v", r.Smiles, err)
		}
		if got := len(Scaffold(m)); got != r.Atoms {
			t.Errorf("%s: scaffold of %d atoms, RDKit %d (%s)", r.Smiles, got, r.Atoms, r.Scaffold)
			bad++
		}
		key := ScaffoldKey(m)
		// The two groupings are the same partition iff the maps between
		// the labels are functions both ways.
		if k, ok := byRDKit[r.Scaffold]; ok && k != key {
			t.Errorf("%s: RDKit's scaffold %q, but a different key from an earlier molecule with it", r.Smiles, r.Scaffold)
			bad++
		}
		if s, ok := byKey[key]; ok && s != r.Scaffold {
			t.Errorf("%s: RDKit's scaffold %q, but the key of an earlier molecule whose scaffold is %q", r.Smiles, r.Scaffold, s)
			bad++
		}
		byRDKit[r.Scaffold], byKey[key] = key, r.Scaffold
		if bad > 20 {
			t.FailNow()
		}
	}
	if len(fx.Molecules) != 1128 || len(byKey) != len(byRDKit) {
		t.Fatalf("%d molecules, %d keys, %d RDKit scaffolds", len(fx.Molecules), len(byKey), len(byRDKit))
	}
	t.Logf("%d molecules, %d scaffolds, as RDKit", len(fx.Molecules), len(byKey))
}

// TestScaffoldCases: hand-checked scaffolds (RDKit's answers in comments).
func TestScaffoldCases(t *testing.T) {
	for _, c := range []struct {
		smiles string
		atoms  int
	}{
		{"CCO", 0},                      // ''
		{"CC(=O)Oc1ccccc1C(=O)O", 6},    // c1ccccc1
		{"O=C1CCCCC1", 7},               // O=C1CCCCC1
		{"c1ccccc1CCc1ccccc1", 14},      // c1ccc(CCc2ccccc2)cc1
		{"O=C(c1ccccc1)c1ccccc1", 14},   // O=C(c1ccccc1)c1ccccc1
		{"C1CC1=NO", 4},                 // N=C1CC1
		{"c1ccccc1[N+](=O)[O-]", 6},     // c1ccccc1
		{"[2H]c1ccccc1", 6},             // c1ccccc1
		{"O=C1NC(=O)C(C1)c1ccccc1", 13}, // O=C1CC(c2ccccc2)C(=O)N1
	} {
		m, err := chem.ParseSMILES(c.smiles)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(Scaffold(m)); got != c.atoms {
			t.Errorf("%s: %d scaffold atoms, want %d", c.smiles, got, c.atoms)
		}
	}
	a, _ := chem.ParseSMILES("CCc1ccccc1")
	b, _ := chem.ParseSMILES("c1ccccc1OC")
	c, _ := chem.ParseSMILES("C1CCCCC1")
	if ScaffoldKey(a) != ScaffoldKey(b) || ScaffoldKey(a) == ScaffoldKey(c) {
		t.Fatal("ethylbenzene and anisole share benzene; cyclohexane differs")
	}
}
