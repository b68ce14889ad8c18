package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMuPCoordCheck: the command writes both plots and the JSON, and
// reports μP flat where the standard parametrisation grows.
func TestMuPCoordCheck(t *testing.T) {
	out := filepath.Join(t.TempDir(), "coord")
	var o, e bytes.Buffer
	if code := run([]string{"mup", "coord-check", "--out", out, "--widths", "1,4", "--steps", "3", "--base-width", "16", "--lr", "0.02"}, &o, &e); code != 0 {
		t.Fatalf("coord-check: %s", e.String())
	}
	for _, f := range []string{"coord-sp.png", "coord-mup.png", "coord.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	if !strings.Contains(o.String(), "μP") {
		t.Errorf("output %q", o.String())
	}
	e.Reset()
	if code := run([]string{"mup", "coord-check", "--out", filepath.Join(out, "x"), "--widths", "1,x"}, &o, &e); code == 0 || !strings.Contains(e.String(), "--widths") {
		t.Errorf("bad --widths: %s", e.String())
	}
}
