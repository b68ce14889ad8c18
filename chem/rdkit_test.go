package chem

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
)

// rdkitMolecule is one record of testdata/rdkit_smiles.json, written by
// testdata/gen_rdkit.py from RDKit 2022.09.
type rdkitMolecule struct {
	SMILES   string          `json:"smiles"`
	Source   string          `json:"source"`
	Rejected bool            `json:"rejected"`
	Atoms    int             `json:"atoms"`
	Heavy    int             `json:"heavy"`
	Bonds    int             `json:"bonds"`
	Charges  map[string]int  `json:"charges"`
	H        json.RawMessage `json:"h"`
	Arom     string          `json:"arom"`
	Ring     string          `json:"ring"`
	Hyb      string          `json:"hyb"`
	Pairs    []int           `json:"pairs"`
	BType    string          `json:"btype"`
	BArom    string          `json:"barom"`
	BRing    string          `json:"bring"`
	BConj    string          `json:"bconj"`
}

// hCounts decodes the per-atom H field: a digit string or a list.
func (r *rdkitMolecule) hCounts() []int {
	var s string
	if json.Unmarshal(r.H, &s) == nil {
		out := make([]int, len(s))
		for i := range s {
			out[i] = int(s[i] - '0')
		}
		return out
	}
	var out []int
	if err := json.Unmarshal(r.H, &out); err != nil {
		panic(err)
	}
	return out
}

func loadRDKitSMILES(t testing.TB) []rdkitMolecule {
	t.Helper()
	// CHEM_RDKIT_JSON points the test at a larger set written the same way
	// (records from gen_rdkit.py's describe), for checks beyond the fixture.
	path := "testdata/rdkit_smiles.json"
	if p := os.Getenv("CHEM_RDKIT_JSON"); p != "" {
		path = p
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		RDKit     string          `json:"rdkit"`
		Molecules []rdkitMolecule `json:"molecules"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	return f.Molecules
}

func flagString(n int, f func(int) bool) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '0'
		if f(i) {
			b[i] = '1'
		}
	}
	return string(b)
}

func bondTypeChar(o BondOrder) byte {
	switch o {
	case Single:
		return '1'
	case Double:
		return '2'
	case Triple:
		return '3'
	case Quadruple:
		return '4'
	case Aromatic:
		return 'a'
	}
	return '?'
}

var hybridDigit = map[Hybridization]byte{
	HybridUnspecified: '0', HybridS: '1', HybridSP: '2', HybridSP2: '3',
	HybridSP3: '4', HybridSP3D: '5', HybridSP3D2: '6', HybridSP2D: '7',
}

// compareRDKit returns, per field, a description of the disagreement ("" when
// they agree).
func compareRDKit(r *rdkitMolecule, m *Molecule) map[string]string {
	d := map[string]string{}
	diff := func(field, want, got string) {
		if want != got {
			d[field] = fmt.Sprintf("rdkit %s, chem %s", want, got)
		}
	}
	diff("counts", fmt.Sprintf("%d atoms/%d heavy/%d bonds", r.Atoms, r.Heavy, r.Bonds),
		fmt.Sprintf("%d atoms/%d heavy/%d bonds", len(m.Atoms), m.NumHeavyAtoms(), len(m.Bonds)))
	if len(m.Atoms) != r.Atoms {
		return d
	}
	n := len(m.Atoms)
	wantCharge := make([]string, n)
	gotCharge := make([]string, n)
	for i := range m.Atoms {
		wantCharge[i] = fmt.Sprint(r.Charges[fmt.Sprint(i)])
		gotCharge[i] = fmt.Sprint(m.Atoms[i].Charge)
	}
	diff("charge", strings.Join(wantCharge, ","), strings.Join(gotCharge, ","))
	h := r.hCounts()
	wantH := make([]string, n)
	gotH := make([]string, n)
	for i := range m.Atoms {
		wantH[i] = fmt.Sprint(h[i])
		gotH[i] = fmt.Sprint(m.TotalH(i))
	}
	diff("H", strings.Join(wantH, ","), strings.Join(gotH, ","))
	diff("aromatic", r.Arom, flagString(n, func(i int) bool { return m.Atoms[i].Aromatic }))
	diff("ring", r.Ring, flagString(n, func(i int) bool { return m.Atoms[i].InRing }))
	hyb := make([]byte, n)
	for i := range m.Atoms {
		hyb[i] = hybridDigit[m.Atoms[i].Hybrid]
	}
	diff("hybridization", r.Hyb, string(hyb))

	if len(m.Bonds) != r.Bonds {
		return d
	}
	nb := r.Bonds
	idx := make([]int, nb)
	for k := 0; k < nb; k++ {
		idx[k] = m.BondBetween(r.Pairs[2*k], r.Pairs[2*k+1])
		if idx[k] < 0 {
			d["bond pairs"] = fmt.Sprintf("rdkit bond %d-%d missing", r.Pairs[2*k], r.Pairs[2*k+1])
			return d
		}
	}
	bt := make([]byte, nb)
	for k := range bt {
		bt[k] = bondTypeChar(m.Bonds[idx[k]].Order)
	}
	diff("bond type", r.BType, string(bt))
	diff("bond aromatic", r.BArom, flagString(nb, func(k int) bool { return m.Bonds[idx[k]].Order == Aromatic }))
	diff("bond ring", r.BRing, flagString(nb, func(k int) bool { return m.Bonds[idx[k]].InRing }))
	diff("bond conjugated", r.BConj, flagString(nb, func(k int) bool { return m.Bonds[idx[k]].Conjugated }))
	return d
}

// TestRDKitAgreement checks every fixture molecule against RDKit and prints
// the agreement per field. Counts, charges, hydrogens, ring membership and
// aromatic flags must agree exactly on every molecule; every disagreement in
// any field is named by SMILES.
func TestRDKitAgreement(t *testing.T) {
	mols := loadRDKitSMILES(t)
	fields := []string{"counts", "charge", "H", "aromatic", "ring", "hybridization",
		"bond type", "bond aromatic", "bond ring", "bond conjugated"}
	exact := map[string]bool{"counts": true, "charge": true, "H": true, "aromatic": true, "ring": true,
		"bond type": true, "bond aromatic": true, "bond ring": true, "bond pairs": true}
	bad := map[string]int{}
	var lines []string
	parsed, rejectAgree, rejectTotal := 0, 0, 0
	for k := range mols {
		r := &mols[k]
		m, err := ParseSMILES(r.SMILES)
		if r.Rejected {
			rejectTotal++
			if err != nil {
				rejectAgree++
			} else {
				lines = append(lines, fmt.Sprintf("%s: RDKit rejects it, chem accepts it", r.SMILES))
			}
			continue
		}
		if err != nil {
			bad["parse"]++
			lines = append(lines, fmt.Sprintf("%s: parse: %v", r.SMILES, err))
			continue
		}
		parsed++
		d := compareRDKit(r, m)
		keys := make([]string, 0, len(d))
		for f := range d {
			keys = append(keys, f)
		}
		sort.Strings(keys)
		for _, f := range keys {
			bad[f]++
			lines = append(lines, fmt.Sprintf("%s [%s]: %s: %s", r.SMILES, r.Source, f, d[f]))
		}
	}
	total := len(mols) - rejectTotal
	t.Logf("RDKit agreement over %d molecules (%d parsed):", total, parsed)
	for _, f := range append([]string{"parse"}, fields...) {
		t.Logf("  %-16s %4d/%d = %.2f %%", f, total-bad[f], total, 100*float64(total-bad[f])/float64(total))
	}
	t.Logf("  %-16s %4d/%d", "rejections", rejectAgree, rejectTotal)
	for _, l := range lines {
		t.Log("disagreement: " + l)
	}
	for f, n := range bad {
		if n > 0 && (exact[f] || f == "parse") {
			t.Errorf("%s: %d molecules disagree with RDKit (listed above)", f, n)
		}
	}
	if rejectAgree != rejectTotal {
		t.Errorf("chem accepts %d SMILES that RDKit rejects", rejectTotal-rejectAgree)
	}
	for _, f := range []string{"hybridization", "bond conjugated"} {
		if frac := float64(total-bad[f]) / float64(total); frac < 0.995 {
			t.Errorf("%s: agreement %.2f %% < 99.5 %%", f, 100*frac)
		}
	}
}
