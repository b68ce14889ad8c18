package molecules

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"strconv"
	"testing"
)

// fixture is testdata/mmff-frames.json, written by gen_mmff.py from the
// same numbers as mmff.xyz.gz before they were rounded for the file.
type fixture struct {
	Frames    int `json:"frames"`
	Molecules int `json:"molecules"`
	Checks    []struct {
		Frame    int        `json:"frame"`
		Mol      int        `json:"mol"`
		Atoms    int        `json:"atoms"`
		Energy   float64    `json:"energy"`
		Species0 string     `json:"species0"`
		Pos0     [3]float64 `json:"pos0"`
		Forces0  [3]float64 `json:"forces0"`
		ForceSum [3]float64 `json:"force_sum"`
	} `json:"checks"`
}

func TestMMFF(t *testing.T) {
	frames, err := MMFF()
	if err != nil {
		t.Fatal(err)
	}
	mols, err := MMFFMolecules()
	if err != nil {
		t.Fatal(err)
	}
	var fx fixture
	b, err := os.ReadFile("testdata/mmff-frames.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &fx); err != nil {
		t.Fatal(err)
	}
	if len(frames) != 3000 || fx.Frames != 3000 || len(mols) != 300 || fx.Molecules != 300 {
		t.Fatalf("%d frames (fixture %d), %d molecules (fixture %d); want 3000, 300", len(frames), fx.Frames, len(mols), fx.Molecules)
	}
	atomRows := 0
	perMol := make([]int, len(mols))
	for i, f := range frames {
		atomRows += f.Len()
		if !f.HasEnergy || len(f.Forces) != 3*f.Len() || len(f.Pos) != 3*f.Len() {
			t.Fatalf("frame %d (line %d): energy %v, %d forces, %d positions", i, f.Line, f.HasEnergy, len(f.Forces), len(f.Pos))
		}
		m, err := strconv.Atoi(f.Info["mol"])
		if err != nil || m < 0 || m >= len(mols) {
			t.Fatalf("frame %d: mol %q", i, f.Info["mol"])
		}
		perMol[m]++
		if f.Len() != mols[m].Atoms || f.Info["split"] != mols[m].Split {
			t.Errorf("frame %d: %d atoms, split %s; molecule %d has %d, %s", i, f.Len(), f.Info["split"], m, mols[m].Atoms, mols[m].Split)
		}
		heavy := 0
		for _, z := range f.Z {
			if z > 1 {
				heavy++
			}
		}
		if heavy != mols[m].HeavyAtoms || heavy > 20 {
			t.Errorf("frame %d: %d heavy atoms, molecule %d has %d", i, heavy, m, mols[m].HeavyAtoms)
		}
		// MMFF94 forces sum to zero (translation invariance); each
		// component was rounded to 1e-4 for the file.
		for c := range 3 {
			sum := 0.0
			for a := range f.Len() {
				sum += f.Forces[3*a+c]
			}
			if math.Abs(sum) > 5e-5*float64(f.Len())+1e-9 {
				t.Errorf("frame %d: net force %g along %c", i, sum, "xyz"[c])
			}
		}
	}
	if atomRows != 64880 {
		t.Errorf("%d atom rows, want 64,880", atomRows)
	}
	splits := map[string]int{}
	for m, mol := range mols {
		if mol.Index != m || perMol[m] != 10 || mol.Frames != 10 {
			t.Errorf("molecule %d: index %d, %d frames (csv %d), want 10", m, mol.Index, perMol[m], mol.Frames)
		}
		splits[mol.Split]++
	}
	if splits["train"] != 240 || splits["val"] != 30 || splits["test"] != 30 {
		t.Errorf("molecules per split %v, want 240/30/30", splits)
	}

	if len(fx.Checks) == 0 {
		t.Fatal("no fixture frames")
	}
	for _, c := range fx.Checks {
		f := frames[c.Frame]
		if f.Info["mol"] != strconv.Itoa(c.Mol) || f.Len() != c.Atoms || f.Species[0] != c.Species0 {
			t.Errorf("frame %d: mol %s, %d atoms, first %s; fixture %d, %d, %s", c.Frame, f.Info["mol"], f.Len(), f.Species[0], c.Mol, c.Atoms, c.Species0)
		}
		if math.Abs(f.Energy-c.Energy) > 5e-7 {
			t.Errorf("frame %d: energy %.6f, fixture %v", c.Frame, f.Energy, c.Energy)
		}
		for k := range 3 {
			if math.Abs(f.Pos[k]-c.Pos0[k]) > 1e-9 || math.Abs(f.Forces[k]-c.Forces0[k]) > 5e-5+1e-9 {
				t.Errorf("frame %d atom 0 %c: pos %v force %v; fixture %v %v", c.Frame, "xyz"[k], f.Pos[k], f.Forces[k], c.Pos0[k], c.Forces0[k])
			}
			if math.Abs(c.ForceSum[k]) > 1e-9 {
				t.Errorf("frame %d: fixture's unrounded net force %v", c.Frame, c.ForceSum)
			}
		}
	}

	train, val, test, err := MMFFSplit()
	if err != nil || len(train) != 2400 || len(val) != 300 || len(test) != 300 {
		t.Errorf("split frames %d/%d/%d, %v; want 2400/300/300", len(train), len(val), len(test), err)
	}
}

func TestESOL(t *testing.T) {
	recs, err := csv.NewReader(bytes.NewReader(ESOL())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1129 || len(recs[0]) != 10 || recs[0][9] != "smiles" || recs[0][8] != "measured log solubility in mols per litre" {
		t.Fatalf("%d rows, header %q", len(recs), recs[0])
	}
}
