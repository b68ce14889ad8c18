package main

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDiT: a short `loom dit train` writes a checkpoint and a sample grid
// (10 rows of 8×8 digits at 4×), `loom dit sample` reads the run back, and
// bad flags name themselves.
func TestDiT(t *testing.T) {
	dir := t.TempDir()
	run1 := filepath.Join(dir, "run")
	var o, e bytes.Buffer
	if code := run([]string{"dit", "train", "--out", run1, "--steps", "5", "--batch", "8", "--hidden", "16", "--depth", "1", "--diffusion-steps", "25", "--lr", "0.002"}, &o, &e); code != 0 {
		t.Fatalf("dit train: %s", e.String())
	}
	grid := filepath.Join(dir, "grid.png")
	if code := run([]string{"dit", "sample", "--model", run1, "--out", grid, "--per-class", "3", "--guidance", "1.5"}, &o, &e); code != 0 {
		t.Fatalf("dit sample: %s", e.String())
	}
	f, err := os.Open(grid)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 3*34+2 || b.Dy() != 10*34+2 {
		t.Errorf("grid %v, want 3 columns and 10 rows of 34-pixel cells", b)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"dit", "train", "--out", filepath.Join(dir, "x"), "--patch", "3"}, "patch_size 3 does not divide image_size 8"},
		{[]string{"dit", "train", "--out", filepath.Join(dir, "y"), "--hidden", "30", "--heads", "4"}, "heads dividing hidden"},
		{[]string{"dit", "sample", "--model", filepath.Join(dir, "none"), "--out", grid}, "none"},
		{[]string{"dit", "train", "--out", filepath.Join(dir, "z"), "--diffusion-steps", "10"}, "diffusion steps 10"},
		{[]string{"dit", "paint"}, `unknown command "paint"`},
	} {
		e.Reset()
		if code := run(tc.args, &o, &e); code == 0 || !strings.Contains(e.String(), tc.want) {
			t.Errorf("%v: exit %d, %q; want an error containing %q", tc.args, code, e.String(), tc.want)
		}
	}
}
