package atoms

import (
	"compress/gzip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const water = `3
Properties=species:S:1:pos:R:3:forces:R:3:tag:I:1 energy=-1.5e1 pbc="F F F" name="a \"b\" c" mol=7 flag
O 0.0 0.0 0.1 1 2 3 5
H 0.0 0.75 -0.5 -0.5 -1 -1.5 6
H 0.0 -0.75 -0.5 -0.5 -1 -1.5 7

2
just a title
C 0 0 0
Cl 1.76 0 0
`

func TestRead(t *testing.T) {
	fr, err := Read(strings.NewReader(water), "w.xyz")
	if err != nil {
		t.Fatal(err)
	}
	if len(fr) != 2 {
		t.Fatalf("%d frames", len(fr))
	}
	w := fr[0]
	if w.Line != 1 || w.Len() != 3 || !slices.Equal(w.Z, []int{8, 1, 1}) || !slices.Equal(w.Species, []string{"O", "H", "H"}) {
		t.Errorf("frame 0: line %d Z %v species %v", w.Line, w.Z, w.Species)
	}
	if !w.HasEnergy || w.Energy != -15 {
		t.Errorf("energy %v %v", w.Energy, w.HasEnergy)
	}
	if !slices.Equal(w.Pos, []float64{0, 0, 0.1, 0, 0.75, -0.5, 0, -0.75, -0.5}) {
		t.Errorf("pos %v", w.Pos)
	}
	if !slices.Equal(w.Forces, []float64{1, 2, 3, -0.5, -1, -1.5, -0.5, -1, -1.5}) {
		t.Errorf("forces %v", w.Forces)
	}
	if !slices.Equal(w.Arrays["tag"], []float64{5, 6, 7}) {
		t.Errorf("arrays %v", w.Arrays)
	}
	want := map[string]string{"pbc": "F F F", "name": `a "b" c`, "mol": "7", "flag": "T"}
	for k, v := range want {
		if w.Info[k] != v {
			t.Errorf("Info[%s] = %q, want %q", k, w.Info[k], v)
		}
	}
	if len(w.Info) != len(want) {
		t.Errorf("Info %v", w.Info)
	}
	c := fr[1]
	if c.Line != 7 || c.HasEnergy || c.Forces != nil || c.Comment != "just a title" || !slices.Equal(c.Z, []int{6, 17}) {
		t.Errorf("frame 1: %+v", c)
	}
}

func TestReadZColumn(t *testing.T) {
	fr, err := Read(strings.NewReader("1\nProperties=Z:I:1:pos:R:3\n26 1 2 3\n"), "z")
	if err != nil || fr[0].Species[0] != "Fe" || fr[0].Z[0] != 26 {
		t.Fatalf("%v %v", fr, err)
	}
}

func TestReadErrors(t *testing.T) {
	const props = "Properties=species:S:1:pos:R:3:forces:R:3 energy=1\n"
	for _, c := range []struct{ in, want string }{
		{"x\n", "e.xyz:1: atom count \"x\""},
		{"2\n", "e.xyz:1: frame of 2 atoms ends before its comment line"},
		{"2\n" + props + "C 0 0 0 0 0 0\n", "e.xyz:1: file ends after 1 of the frame's 2 atoms"},
		{"1\n" + props + "C 0 0 0 0 0\n", "e.xyz:3: 6 fields, want 7 (species:S:1 pos:R:3 forces:R:3)"},
		{"1\n" + props + "C 0 0 0 0 zz 0\n", "e.xyz:3: field 6 (forces y): \"zz\" is not a finite number"},
		{"1\n" + props + "C 0 NaN 0 0 0 0\n", "e.xyz:3: field 3 (pos y)"},
		{"1\n" + props + "Xx 0 0 0 0 0 0\n", "e.xyz:3: field 1 (species): \"Xx\" is not an element symbol"},
		{"1\nProperties=species:S:1:pos:R:3 energy=abc\nC 0 0 0\n", "e.xyz:2: energy=\"abc\""},
		{"1\nProperties=species:S:1:pos:R:2\nC 0 0\n", "e.xyz:2: Properties=\"species:S:1:pos:R:2\": pos is R:2, want R:3"},
		{"1\nProperties=species:S:1\nC\n", "want pos and one of species or Z"},
		{"1\nProperties=species:S:1:pos:R\nC 0 0 0\n", "name:type:count triples"},
		{"1\nProperties=species:S:1:pos:R:3 name=\"open\nC 0 0 0\n", "e.xyz:2: unterminated quote"},
		{"1\nProperties=Z:I:1:pos:R:3\n0 0 0 0\n", "field 1 (Z): \"0\" is not an atomic number"},
	} {
		_, err := Read(strings.NewReader(c.in), "e.xyz")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one containing %q", c.in, err, c.want)
		}
	}
}

func TestReadFileGzip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.xyz.gz")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	zw.Write([]byte(water))
	zw.Close()
	f.Close()
	fr, err := ReadFile(path)
	if err != nil || len(fr) != 2 {
		t.Fatalf("%d frames, %v", len(fr), err)
	}
}

func TestElements(t *testing.T) {
	if len(symbols) != 118 {
		t.Fatalf("%d symbols", len(symbols))
	}
	for _, c := range []struct {
		s string
		z int
	}{{"H", 1}, {"C", 6}, {"Cl", 17}, {"Br", 35}, {"I", 53}, {"Og", 118}} {
		if z, ok := AtomicNumber(c.s); !ok || z != c.z || Symbol(c.z) != c.s {
			t.Errorf("%s: %d %v", c.s, z, ok)
		}
	}
	if _, ok := AtomicNumber("CL"); ok {
		t.Error("CL accepted")
	}
}
