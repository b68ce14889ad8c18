package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	xyz "github.com/loomml/loom/data/atoms"
)

// TestAtoms: a short `loom atoms train` on the embedded MMFF94 set writes
// the run; `loom atoms eval` reads it back on a file of the user's (SD,
// energies only, and extended XYZ), draws attention against distance and
// writes predictions that read back; bad input names the flag or file.
func TestAtoms(t *testing.T) {
	dir := t.TempDir()
	runDir := filepath.Join(dir, "run")
	var o, e bytes.Buffer
	if code := run([]string{"atoms", "train", "--out", runDir, "--dim", "16", "--layers", "1", "--heads", "2", "--steps", "6", "--batch", "4", "--eval-every", "3", "--warmup", "1"}, &o, &e); code != 0 {
		t.Fatalf("atoms train: %s", e.String())
	}
	for _, f := range []string{"model/config.json", "model/model.safetensors", "checkpoint", "metrics.jsonl", "loss.png", "result.json"} {
		if _, err := os.Stat(filepath.Join(runDir, f)); err != nil {
			t.Errorf("run directory lacks %s", f)
		}
	}
	if s := o.String(); !strings.Contains(s, "2400/300/300 structures (the file's split= marks)") || !strings.Contains(s, "test  energy MAE") {
		t.Errorf("train output:\n%s", s)
	}
	// The user's own file: three MMFF frames written as extended XYZ under
	// another energy key.
	frames, _, err := readAtomFrames("mmff", xyz.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mine := filepath.Join(dir, "mine.xyz")
	var b bytes.Buffer
	sel := []xyz.Frame{frames[0], frames[1], frames[2]}
	for i := range sel {
		sel[i].Info = map[string]string{"E_mmff": strings.TrimSpace(strings.Fields(strings.SplitN(sel[i].Comment, "energy=", 2)[1])[0])}
		sel[i].HasEnergy = false
	}
	if err := xyz.Write(&b, sel); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(mine, b.Bytes(), 0o644)
	pred, png := filepath.Join(dir, "pred.xyz"), filepath.Join(dir, "att.png")
	o.Reset()
	if code := run([]string{"atoms", "eval", "--model", runDir, "--data", mine, "--energy-key", "E_mmff", "--out", pred, "--attention", png}, &o, &e); code != 0 {
		t.Fatalf("atoms eval: %s", e.String())
	}
	if s := o.String(); !strings.Contains(s, "mine.xyz: 3 structures") || !strings.Contains(s, "Spearman") {
		t.Errorf("eval output:\n%s", s)
	}
	back, err := xyz.ReadFile(pred)
	if err != nil || len(back) != 3 || back[0].Info["ref_energy"] != sel[0].Info["E_mmff"] || len(back[2].Forces) != 3*back[2].Len() {
		t.Fatalf("predictions read back: %v", err)
	}
	if _, err := os.Stat(png); err != nil {
		t.Error("no attention plot")
	}
	// Energies alone (an SD file without forces): eval reports energies.
	sdf := filepath.Join(dir, "water.sdf")
	os.WriteFile(sdf, []byte("water\n\n\n  3  2  0  0  0  0  0  0  0  0999 V2000\n    0.0000    0.0000    0.1173 O   0  0\n    0.0000    0.7572   -0.4692 H   0  0\n    0.0000   -0.7572   -0.4692 H   0  0\n  1  2  1  0\n  1  3  1  0\nM  END\n> <energy>\n-5\n\n$$$$\n"), 0o644)
	o.Reset()
	if code := run([]string{"atoms", "eval", "--model", runDir, "--data", sdf, "--json"}, &o, &e); code != 0 || !strings.Contains(o.String(), `"energy_mae"`) {
		t.Fatalf("eval on SDF: %s %s", o.String(), e.String())
	}
	// Training on energies alone (--force-weight 0) from an SD file of ten
	// records without forces.
	var many strings.Builder
	one, _ := os.ReadFile(sdf)
	for i := range 10 {
		many.WriteString(strings.Replace(strings.Replace(string(one), "-5\n", fmt.Sprintf("%d\n", -5-i), 1), "0.7572", fmt.Sprintf("%.4f", 0.75+0.01*float64(i)), 1))
	}
	sdf10 := filepath.Join(dir, "ten.sdf")
	os.WriteFile(sdf10, []byte(many.String()), 0o644)
	o.Reset()
	if code := run([]string{"atoms", "train", "--out", filepath.Join(dir, "energies"), "--data", sdf10, "--force-weight", "0", "--dim", "8", "--layers", "1", "--heads", "2", "--steps", "3", "--batch", "4", "--eval-every", "3", "--warmup", "1"}, &o, &e); code != 0 {
		t.Fatalf("energies only: %s %s", o.String(), e.String())
	}
	if s := o.String(); !strings.Contains(s, "8/1/1 structures (random by frame") || !strings.Contains(s, "no force labels") {
		t.Errorf("energies-only output:\n%s", s)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"atoms", "train"}, "--out is required"},
		{[]string{"atoms", "train", "--out", filepath.Join(dir, "x"), "--data", sdf}, "molecule 0 has no forces; give forces in every structure or pass --force-weight 0"},
		{[]string{"atoms", "train", "--out", filepath.Join(dir, "x"), "--data", filepath.Join(dir, "a.pdb")}, `unknown extension ".pdb"`},
		{[]string{"atoms", "train", "--out", filepath.Join(dir, "x"), "--dim", "10", "--heads", "4"}, "--heads 4 does not divide --dim 10"},
		{[]string{"atoms", "train", "--out", filepath.Join(dir, "x"), "--energy-weight", "0", "--force-weight", "0"}, "nothing to learn"},
		{[]string{"atoms", "train", "--out", runDir}, "--out"},
		{[]string{"atoms", "eval", "--model", dir}, "--model " + dir},
		{[]string{"atoms", "eval", "--model", runDir, "--data", mine, "--part", "test"}, "does not mark split="},
		{[]string{"atoms", "eval", "--model", runDir, "--data", mine}, "has no energy"},
	} {
		e.Reset()
		if code := run(tc.args, &o, &e); code == 0 || !strings.Contains(e.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want it to contain %q", tc.args, code, e.String(), tc.want)
		}
	}
}
