package chem

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"strings"
	"testing"
)

type rdkitSDRecord struct {
	Name     string            `json:"name"`
	Elements []string          `json:"elements"`
	Charges  []int             `json:"charges"`
	Coords   [][3]float64      `json:"coords"`
	Pairs    [][2]int          `json:"pairs"`
	BType    string            `json:"btype"`
	H        []int             `json:"h"`
	Arom     string            `json:"arom"`
	Props    map[string]string `json:"props"`
}

// TestSDFAgainstRDKit reads SD files written by RDKit (testdata/gen_rdkit.py:
// ETKDG 3-D conformers with hydrogens, and 2-D depictions without) and
// compares every record with RDKit's own reading of the same file.
func TestSDFAgainstRDKit(t *testing.T) {
	raw, err := os.ReadFile("testdata/rdkit_sdf.json")
	if err != nil {
		t.Fatal(err)
	}
	var fx struct {
		Files map[string][]rdkitSDRecord `json:"files"`
	}
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	if len(fx.Files) != 2 {
		t.Fatalf("%d SD files in the fixture", len(fx.Files))
	}
	for name, want := range fx.Files {
		f, err := os.Open("testdata/rdkit_sdf/" + name)
		if err != nil {
			t.Fatal(err)
		}
		mols, err := ReadSDF(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(mols) != len(want) {
			t.Fatalf("%s: %d records, RDKit %d", name, len(mols), len(want))
		}
		charged := 0
		for k, w := range want {
			m := mols[k]
			where := name + " " + w.Name
			if m.Name != w.Name || len(m.Atoms) != len(w.Elements) || len(m.Bonds) != len(w.Pairs) {
				t.Errorf("%s: name %q, %d atoms, %d bonds; RDKit %q, %d, %d", where, m.Name,
					len(m.Atoms), len(m.Bonds), w.Name, len(w.Elements), len(w.Pairs))
				continue
			}
			maxDev := 0.0
			for i, a := range m.Atoms {
				if a.Element != w.Elements[i] || a.Charge != w.Charges[i] {
					t.Errorf("%s atom %d: %s%+d, RDKit %s%+d", where, i, a.Element, a.Charge, w.Elements[i], w.Charges[i])
				}
				if a.Charge != 0 {
					charged++
				}
				if h := a.ExplicitH + a.ImplicitH; h != w.H[i] {
					t.Errorf("%s atom %d: %d H, RDKit %d", where, i, h, w.H[i])
				}
				if a.Aromatic != (w.Arom[i] == '1') {
					t.Errorf("%s atom %d: aromatic %v, RDKit %c", where, i, a.Aromatic, w.Arom[i])
				}
				for c := 0; c < 3; c++ {
					maxDev = math.Max(maxDev, math.Abs(m.Coords[i][c]-w.Coords[i][c]))
				}
			}
			if maxDev > 1e-9 {
				t.Errorf("%s: coordinates differ from RDKit's by up to %g", where, maxDev)
			}
			for k, p := range w.Pairs {
				b := m.Bonds[k]
				if b.Begin != p[0] || b.End != p[1] || bondTypeChar(b.Order) != w.BType[k] {
					t.Errorf("%s bond %d: %d-%d %c, RDKit %d-%d %c", where, k, b.Begin, b.End,
						bondTypeChar(b.Order), p[0], p[1], w.BType[k])
				}
			}
			for key, v := range w.Props {
				if got, ok := m.Prop(key); !ok || got != v {
					t.Errorf("%s: data item %q = %q, RDKit %q", where, key, got, v)
				}
			}
			if len(m.Data) != len(w.Props) {
				t.Errorf("%s: %d data items, RDKit %d", where, len(m.Data), len(w.Props))
			}
		}
		if charged == 0 {
			t.Errorf("%s: no charged atoms read (the fixture has M  CHG lines)", name)
		}
	}
}

const pyridineMol = `pyridine N-oxide
  handmade

  8  8  0  0  0  0  0  0  0  0999 V2000
    0.0000    1.4000    0.0000 N   0  0  0  0  0  0  0  0  0  0  0  0
    1.2124    0.7000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
    1.2124   -0.7000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
    0.0000   -1.4000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
   -1.2124   -0.7000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
   -1.2124    0.7000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
    0.0000    2.8000    0.0000 O   0  5  0  0  0  0  0  0  0  0  0  0
    0.0000   -2.8000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
  1  2  4  0
  2  3  4  0
  3  4  4  0
  4  5  4  0
  5  6  4  0
  6  1  4  0
  1  7  1  0
  4  8  1  0
M  CHG  2   1   1   7  -1
M  ISO  1   8  13
M  END
> <note>
two
lines

$$$$
`

func TestParseMolBlock(t *testing.T) {
	m, err := ParseMolBlock(pyridineMol)
	if err != nil {
		t.Fatal(err)
	}
	// M  CHG replaces the atom block's charge (the -1 code on O is reset and
	// set again by M  CHG).
	if m.Atoms[0].Charge != 1 || m.Atoms[6].Charge != -1 || m.Atoms[7].Isotope != 13 {
		t.Errorf("charges/isotope: %+v %+v %+v", m.Atoms[0], m.Atoms[6], m.Atoms[7])
	}
	for i := 0; i < 6; i++ {
		if !m.Atoms[i].Aromatic || !m.Atoms[i].InRing {
			t.Errorf("ring atom %d not aromatic", i)
		}
	}
	if m.TotalH(1) != 1 || m.TotalH(3) != 0 || m.TotalH(7) != 3 {
		t.Errorf("H counts %d %d %d", m.TotalH(1), m.TotalH(3), m.TotalH(7))
	}
	if v, _ := m.Prop("note"); v != "two\nlines" {
		t.Errorf("data item %q", v)
	}
	if m.Coords[6][1] != 2.8 {
		t.Errorf("coords %v", m.Coords[6])
	}
}

func TestSDFErrors(t *testing.T) {
	lines := strings.Split(pyridineMol, "\n")
	edit := func(line int, text string) string {
		l := append([]string(nil), lines...)
		l[line-1] = text
		return strings.Join(l, "\n")
	}
	cases := []struct {
		in    string
		line  int
		field string
	}{
		{edit(4, "  x  8  0  0  0  0  0  0  0  0999 V2000"), 4, "atom count"},
		{edit(4, "  8  8  0  0  0  0  0  0  0  0999 V3000"), 4, "version"},
		{edit(6, "    1.2124    0.70a0    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0"), 6, "y coordinate"},
		{edit(7, "    1.2124   -0.7000    0.0000 Xq  0  0  0  0  0  0  0  0  0  0  0  0"), 7, "atom symbol"},
		{edit(8, "    0.0000   -1.4000    0.0000 C   0  9  0  0  0  0  0  0  0  0  0  0"), 8, "charge"},
		{edit(13, "  1  9  4  0"), 13, "second bond atom"},
		{edit(14, "  2  3  9  0"), 14, "bond type"},
		{edit(14, "  1  2  4  0"), 14, "bond atoms"},
		{edit(21, "M  CHG  2   1   1   7"), 21, "M  CHG"},
		{edit(24, "no header"), 24, "data header"},
		{strings.Join(lines[:10], "\n"), 11, "atom block"},
		// chemistry: a five-valent carbon
		{edit(20, "  4  8  3  0"), 8, "atom 4"},
	}
	for _, c := range cases {
		_, err := ParseMolBlock(c.in)
		var se *SDFError
		if !errors.As(err, &se) {
			t.Errorf("line %d %s: want *SDFError, got %v", c.line, c.field, err)
			continue
		}
		if se.Line != c.line || se.Field != c.field {
			t.Errorf("got line %d field %q (%v), want line %d field %q", se.Line, se.Field, err, c.line, c.field)
		}
		if !strings.Contains(se.Error(), "line ") {
			t.Errorf("message %q names no line", se.Error())
		}
	}
}

func TestReadSDFMultiple(t *testing.T) {
	two := pyridineMol + strings.Replace(pyridineMol, "pyridine N-oxide", "second", 1) + "\n\n"
	mols, err := ReadSDF(strings.NewReader(two))
	if err != nil {
		t.Fatal(err)
	}
	if len(mols) != 2 || mols[1].Name != "second" {
		t.Fatalf("%d records", len(mols))
	}
}

// FuzzReadSDF checks that no input panics and that errors are *SDFError
// values naming a line of the input.
func FuzzReadSDF(f *testing.F) {
	f.Add(pyridineMol)
	for _, name := range []string{"esol3d.sdf", "esol2d.sdf"} {
		b, err := os.ReadFile("testdata/rdkit_sdf/" + name)
		if err != nil {
			f.Fatal(err)
		}
		recs := strings.SplitAfter(string(b), "$$$$\n")
		f.Add(recs[0])
		f.Add(recs[1] + recs[2])
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, err := ReadSDF(strings.NewReader(s))
		if err == nil {
			return
		}
		var se *SDFError
		if !errors.As(err, &se) {
			t.Fatalf("error is not an *SDFError: %v", err)
		}
		if n := strings.Count(s, "\n") + 1; se.Line < 1 || se.Line > n+1 {
			t.Fatalf("error line %d outside 1..%d: %v", se.Line, n+1, err)
		}
	})
}
