package atoms

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The .npz fixtures were written by NumPy (testdata/gen_npz.py) with
// values from formulas recomputed here.
func TestReadNPZ(t *testing.T) {
	for _, tc := range []struct {
		file          string
		forces, exact bool
	}{
		{"md17-like.npz", true, true},
		{"rmd17-like.npz", false, false}, // float32 coordinates
	} {
		t.Run(tc.file, func(t *testing.T) {
			frames, err := ReadAny(filepath.Join("testdata", tc.file), ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(frames) != 4 {
				t.Fatalf("%d frames, want 4", len(frames))
			}
			tol := 0.0
			if !tc.exact {
				tol = 1e-6
			}
			for m, f := range frames {
				if got := strings.Join(f.Species, " "); got != "O H H" || f.Z[0] != 8 || f.Z[2] != 1 {
					t.Fatalf("frame %d: species %q, Z %v", m, got, f.Z)
				}
				if !f.HasEnergy || f.Energy != -1.5*float64(m) {
					t.Fatalf("frame %d: energy %v (%v), want %v", m, f.Energy, f.HasEnergy, -1.5*float64(m))
				}
				for a := range 3 {
					for k := range 3 {
						want := float64(m) + 0.1*float64(a) + 0.01*float64(k)
						if d := math.Abs(f.Pos[3*a+k] - want); d > tol {
							t.Fatalf("frame %d atom %d: position %v, want %v", m, a, f.Pos[3*a+k], want)
						}
						if tc.forces && f.Forces[3*a+k] != -want {
							t.Fatalf("frame %d atom %d: force %v, want %v", m, a, f.Forces[3*a+k], -want)
						}
					}
				}
				if !tc.forces && f.Forces != nil {
					t.Fatal("forces from a file without them")
				}
			}
		})
	}
	_, err := ReadAny(filepath.Join("testdata", "other.npz"), ReadOptions{})
	if err == nil || !strings.Contains(err.Error(), "other.npz") || !strings.Contains(err.Error(), "[positions]") {
		t.Fatalf("an .npz of neither layout: %v", err)
	}
}

const waterSDF = `water
  test

  3  2  0  0  0  0  0  0  0  0999 V2000
    0.0000    0.0000    0.1173 O   0  0  0  0  0  0  0  0  0  0  0  0
    0.0000    0.7572   -0.4692 H   0  0  0  0  0  0  0  0  0  0  0  0
    0.0000   -0.7572   -0.4692 H   0  0  0  0  0  0  0  0  0  0  0  0
  1  2  1  0
  1  3  1  0
M  END
> <Energy>
-12.5

> <forces>
0 0 1.5
0 -1 -0.75
0 1 -0.75

$$$$
`

func TestReadSDF(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "water.sdf")
	if err := os.WriteFile(path, []byte(waterSDF+strings.Replace(waterSDF, "-12.5", "-12.0", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	frames, err := ReadAny(path, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != 2 || frames[1].Energy != -12 || !frames[0].HasEnergy || frames[0].Energy != -12.5 {
		t.Fatalf("%d frames, energies %v %v", len(frames), frames[0].Energy, frames[len(frames)-1].Energy)
	}
	f := frames[0]
	if f.Len() != 3 || f.Z[0] != 8 || f.Z[1] != 1 || f.Pos[4] != 0.7572 || f.Forces[2] != 1.5 || f.Forces[4] != -1 || f.Info["name"] != "water" {
		t.Fatalf("frame %+v", f)
	}
	bad := strings.Replace(waterSDF, "0 -1 -0.75", "0 -1", 1)
	os.WriteFile(path, []byte(bad), 0o644)
	if _, err := ReadAny(path, ReadOptions{}); err == nil || !strings.Contains(err.Error(), "<forces> has 8 numbers, want 3 per atom (9)") {
		t.Fatalf("short forces: %v", err)
	}
	bad = strings.Replace(waterSDF, "-12.5", "low", 1)
	os.WriteFile(path, []byte(bad), 0o644)
	if _, err := ReadAny(path, ReadOptions{}); err == nil || !strings.Contains(err.Error(), `<energy> "low" is not a number`) {
		t.Fatalf("energy not a number: %v", err)
	}
}

func TestReadAnyXYZEnergyKeyAndErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "two.xyz")
	os.WriteFile(path, []byte("1\nProperties=species:S:1:pos:R:3 E_kcal=-3.25\nH 0 0 0\n1\nProperties=species:S:1:pos:R:3 E_kcal=x\nH 0 0 0\n"), 0o644)
	if _, err := ReadAny(path, ReadOptions{EnergyKey: "E_kcal"}); err == nil || !strings.Contains(err.Error(), `two.xyz:5: E_kcal="x" is not a number`) {
		t.Fatalf("bad energy: %v", err)
	}
	os.WriteFile(path, []byte("1\nProperties=species:S:1:pos:R:3 E_kcal=-3.25\nH 0 0 0\n"), 0o644)
	fr, err := ReadAny(path, ReadOptions{EnergyKey: "E_kcal"})
	if err != nil || !fr[0].HasEnergy || fr[0].Energy != -3.25 {
		t.Fatalf("%+v %v", fr, err)
	}
	if _, err := ReadAny(filepath.Join(dir, "x.pdb"), ReadOptions{}); err == nil || !strings.Contains(err.Error(), `unknown extension ".pdb"`) {
		t.Fatalf("unknown extension: %v", err)
	}
	if _, err := ReadAny(filepath.Join(dir, "x.npz.gz"), ReadOptions{}); err == nil || !strings.Contains(err.Error(), "already compressed") {
		t.Fatalf(".npz.gz: %v", err)
	}
}

func TestSplit(t *testing.T) {
	mk := func(n int, info func(i int) map[string]string) []Frame {
		fs := make([]Frame, n)
		for i := range fs {
			fs[i] = Frame{Line: i, Info: info(i)}
		}
		return fs
	}
	// The file's marks win.
	marks := []string{"train", "val", "test", "train"}
	tr, va, te, how, err := Split(mk(4, func(i int) map[string]string { return map[string]string{"split": marks[i]} }), SplitOptions{Val: 0.5})
	if err != nil || len(tr) != 2 || len(va) != 1 || len(te) != 1 || va[0].Line != 1 || !strings.Contains(how, "split=") {
		t.Fatalf("marks: %d %d %d %q %v", len(tr), len(va), len(te), how, err)
	}
	// Groups stay together: 20 molecules of 5 frames.
	frames := mk(100, func(i int) map[string]string { return map[string]string{"mol": string(rune('a' + i/5))} })
	tr, va, te, how, err = Split(frames, SplitOptions{Val: 0.1, Test: 0.2, Seed: 3})
	if err != nil || len(tr) != 70 || len(va) != 10 || len(te) != 20 || !strings.Contains(how, "mol= (20 groups") {
		t.Fatalf("groups: %d %d %d %q %v", len(tr), len(va), len(te), how, err)
	}
	part := map[string]int{}
	for k, p := range [][]Frame{tr, va, te} {
		for _, f := range p {
			if q, ok := part[f.Info["mol"]]; ok && q != k {
				t.Fatalf("molecule %s in two parts", f.Info["mol"])
			}
			part[f.Info["mol"]] = k
		}
	}
	// Seeded: the same seed the same parts, another seed others.
	_, va2, _, _, _ := Split(frames, SplitOptions{Val: 0.1, Test: 0.2, Seed: 3})
	_, va3, _, _, _ := Split(frames, SplitOptions{Val: 0.1, Test: 0.2, Seed: 4})
	if va2[0].Line != va[0].Line || va3[0].Line == va[0].Line && va3[5].Line == va[5].Line {
		t.Fatal("split not seeded")
	}
	// Without the key, by frame.
	if tr, _, _, how, _ := Split(mk(10, func(int) map[string]string { return nil }), SplitOptions{Val: 0.2}); len(tr) != 8 || !strings.Contains(how, "by frame") {
		t.Fatalf("by frame: %d %q", len(tr), how)
	}
	for _, o := range []SplitOptions{{Val: -0.1}, {Val: 0.5, Test: 0.5}} {
		if _, _, _, _, err := Split(frames, o); err == nil {
			t.Fatalf("%+v: no error", o)
		}
	}
	if _, _, _, _, err := Split(mk(2, func(int) map[string]string { return nil }), SplitOptions{Val: 0.4, Test: 0.4}); err == nil || !strings.Contains(err.Error(), "none to train on") {
		t.Fatalf("too few groups: %v", err)
	}
}

func TestWriteReadsBack(t *testing.T) {
	in := []Frame{
		{Z: []int{8, 1}, Species: []string{"O", "H"}, Pos: []float64{0, 0, 0.1173, 0, 0.7572, -0.4692}, Forces: []float64{1, 2, 3, -1, -2, -3e-7},
			Energy: -76.5, HasEnergy: true, Info: map[string]string{"mol": "3", "note": "two words"}},
		{Z: []int{6}, Pos: []float64{1.5, -2, 1e-9}},
	}
	var b strings.Builder
	if err := Write(&b, in); err != nil {
		t.Fatal(err)
	}
	out, err := Read(strings.NewReader(b.String()), "w.xyz")
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if len(out) != 2 || out[0].Energy != -76.5 || !out[0].HasEnergy || out[1].HasEnergy || out[0].Info["note"] != "two words" || out[0].Info["mol"] != "3" ||
		out[1].Species[0] != "C" || out[1].Forces != nil || out[0].Forces[5] != -3e-7 || out[1].Pos[2] != 1e-9 || out[0].Pos[4] != 0.7572 {
		t.Fatalf("read back %+v\nfrom\n%s", out, b.String())
	}
}
