package molgraph

import (
	"bytes"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loomml/loom/data/molecules"
)

func esol(t *testing.T) *Dataset {
	t.Helper()
	d, err := ReadCSV("esol.csv", bytes.NewReader(molecules.ESOL()), "smiles", "measured log solubility in mols per litre")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestReadCSV(t *testing.T) {
	d := esol(t)
	if d.Len() != 1128 || len(d.Targets) != 1128 || d.Targets[0] != -0.77 {
		t.Fatalf("%d molecules, first target %v", d.Len(), d.Targets[0])
	}
	for _, c := range []struct{ csv, smiles, target, want string }{
		{"", "s", "y", "empty file"},
		{"s,y\nCCO,1\n", "smiles", "y", `no column "smiles"; the columns are "s", "y"`},
		{"s,y\nCCO,1\nC1CC,2\n", "s", "y", `f.csv: row 3, column "s"`},
		{"s,y\nCCO,abc\n", "s", "y", `row 2, column "y": "abc" is not a finite number`},
		{"s,y\nCCO,NaN\n", "s", "y", `"NaN" is not a finite number`},
		{"s,y\n", "s", "y", "no rows after the header"},
		{"s,y\nCCO\n", "s", "y", "row 2 has 1 fields"},
	} {
		_, err := ReadCSV("f.csv", strings.NewReader(c.csv), c.smiles, c.target)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want it to contain %q", c.csv, err, c.want)
		}
	}
}

// TestScaffoldSplit: the 80/10/10 scaffold split of ESOL keeps every
// scaffold on one side, fills train first with the largest groups, and
// covers every row once; the random split is a seeded permutation.
func TestScaffoldSplit(t *testing.T) {
	d := esol(t)
	s, err := MakeSplit(d, SplitScaffold, 0)
	if err != nil {
		t.Fatal(err)
	}
	side := map[string]int{}
	seen := make([]bool, d.Len())
	for part, idx := range [][]int{s.Train, s.Val, s.Test} {
		for _, i := range idx {
			if seen[i] {
				t.Fatalf("row %d twice", i)
			}
			seen[i] = true
			k := ScaffoldKey(d.Mols[i])
			if p, ok := side[k]; ok && p != part {
				t.Fatalf("scaffold of row %d on two sides", i)
			}
			side[k] = part
		}
	}
	if len(s.Train) > 902 || len(s.Train)+len(s.Val) > 1015 || len(s.Train)+len(s.Val)+len(s.Test) != 1128 || s.TestScaffoldsSeen != 0 {
		t.Fatalf("split %d/%d/%d (seen %d)", len(s.Train), len(s.Val), len(s.Test), s.TestScaffoldsSeen)
	}
	t.Logf("ESOL scaffold split %d/%d/%d over %d scaffolds", len(s.Train), len(s.Val), len(s.Test), s.Scaffolds)
	r1, _ := MakeSplit(d, SplitRandom, 7)
	r2, _ := MakeSplit(d, SplitRandom, 7)
	if len(r1.Train) != 902 || len(r1.Val) != 113 || r1.Test[0] != r2.Test[0] || r1.TestScaffoldsSeen == 0 {
		t.Fatalf("random split %d/%d/%d, seen %d", len(r1.Train), len(r1.Val), len(r1.Test), r1.TestScaffoldsSeen)
	}
	if _, err := MakeSplit(d, "time", 0); err == nil || !strings.Contains(err.Error(), `want "random" or "scaffold"`) {
		t.Fatalf("bad kind: %v", err)
	}
}

// TestFitSaveLoad trains a small model a few epochs on ESOL's first 200
// molecules: its validation MAE falls below predicting the training mean,
// and the saved model predicts exactly what the trained one does.
func TestFitSaveLoad(t *testing.T) {
	d := esol(t)
	n := 200
	d.Smiles, d.Mols, d.Graphs, d.Targets = d.Smiles[:n], d.Mols[:n], d.Graphs[:n], d.Targets[:n]
	for _, arch := range []string{"gt", "gcn"} {
		dir := t.TempDir()
		r, m, err := Fit(d, Options{Arch: arch, PE: 4, Layers: 2, Dim: 16, Heads: 2, Epochs: 20, Batch: 32, LR: 3e-3, Split: SplitRandom, Seed: 3, OutDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		var base float64
		for _, i := range r.Split.Val {
			base += math.Abs(d.Targets[i] - m.Mean)
		}
		base /= float64(len(r.Split.Val))
		if !(r.Val.MAE < 0.9*base) {
			t.Errorf("%s: validation MAE %.3f, predicting the mean %.3f", arch, r.Val.MAE, base)
		}
		if err := m.Save(filepath.Join(dir, "model")); err != nil {
			t.Fatal(err)
		}
		back, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := m.Predict(d)
		b, _ := back.Predict(d)
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("%s: row %d: saved model predicts %v, trained %v", arch, i, b[i], a[i])
			}
		}
		t.Logf("%s: %d parameters, val MAE %.3f (mean predictor %.3f), test MAE %.3f, %.1f s", arch, r.Params, r.Val.MAE, base, r.Test.MAE, r.Seconds)
	}
}
