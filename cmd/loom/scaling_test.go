package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestScalingFit: points of L = 1.5 + (2e4/N)^0.3 come back from `loom
// scaling fit`, with intervals, a held-out prediction and a plot; a file
// without the columns is an error naming it.
func TestScalingFit(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("name,params,loss\n")
	for k := range 8 {
		n := 1e5 * math.Pow(2, float64(k))
		fmt.Fprintf(&b, "m%d,%g,%.6f\n", k, n, 1.5+math.Pow(2e4/n, 0.3))
	}
	path := filepath.Join(dir, "runs.csv")
	os.WriteFile(path, []byte(b.String()), 0o644)
	var o, e bytes.Buffer
	png := filepath.Join(dir, "fit.png")
	if code := run([]string{"scaling", "fit", path, "--bootstrap", "100", "--holdout-largest", "--plot", png}, &o, &e); code != 0 {
		t.Fatalf("scaling fit: %s", e.String())
	}
	if !strings.Contains(o.String(), "L∞ 1.5000") || !strings.Contains(o.String(), "α 0.3000") || !strings.Contains(o.String(), "predicts the largest") {
		t.Errorf("output:\n%s", o.String())
	}
	if _, err := os.Stat(png); err != nil {
		t.Error(err)
	}
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("size,err\n1,2\n"), 0o644)
	e.Reset()
	if code := run([]string{"scaling", "fit", bad}, &o, &e); code == 0 || !strings.Contains(e.String(), "names no params") {
		t.Errorf("bad header: %s", e.String())
	}
}
