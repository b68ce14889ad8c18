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

// TestForecastM4: `loom forecast train --protocol m4` on a small M4-format
// set placed where the external data set m4 is looked for writes the run
// and prints the scores against Naive2; without the set, or with --csv,
// it says what is wrong.
func TestForecastM4(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "m4")
	os.MkdirAll(dir, 0o755)
	var tr, te strings.Builder
	tr.WriteString(`"V1","V2"` + "\n")
	te.WriteString(`"V1","V2"` + "\n")
	for i := range 12 {
		fmt.Fprintf(&tr, `"H%d"`, i+1)
		fmt.Fprintf(&te, `"H%d"`, i+1)
		for s := range 300 + 48 {
			v := 100 + float64(i) + 20*math.Sin(2*math.Pi*float64(s)/24) + 0.1*float64(s)
			if s < 300 {
				fmt.Fprintf(&tr, `,"%.3f"`, v)
			} else {
				fmt.Fprintf(&te, `,"%.3f"`, v)
			}
		}
		tr.WriteString(",,\n")
		te.WriteString("\n")
	}
	os.WriteFile(filepath.Join(dir, "Hourly-train.csv"), []byte(tr.String()), 0o644)
	os.WriteFile(filepath.Join(dir, "Hourly-test.csv"), []byte(te.String()), 0o644)
	t.Setenv("LOOM_DATA", root)
	out := filepath.Join(root, "run")
	var o, e bytes.Buffer
	if code := run([]string{"forecast", "train", "--protocol", "m4", "--arch", "dlinear", "--epochs", "2", "--batch", "4", "--out", out}, &o, &e); code != 0 {
		t.Fatalf("m4: %s %s", o.String(), e.String())
	}
	for _, want := range []string{"M4 Hourly, 12 series × 48 steps: dlinear", "Naive2       ", "sMAPE    MASE     OWA"} {
		if !strings.Contains(o.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, o.String())
		}
	}
	for _, f := range []string{"model/config.json", "model/model.safetensors", "result.json", "forecasts.csv"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("run lacks %s", f)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"forecast", "train", "--protocol", "m4", "--csv", "ETTh1", "--out", filepath.Join(root, "x")}, "--protocol m4 reads M4 Hourly; drop --csv"},
		{[]string{"forecast", "train", "--protocol", "m5", "--out", filepath.Join(root, "x")}, "want one of"},
	} {
		e.Reset()
		if code := run(tc.args, &o, &e); code == 0 || !strings.Contains(e.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, code, e.String(), tc.want)
		}
	}
	t.Setenv("LOOM_DATA", t.TempDir())
	e.Reset()
	if code := run([]string{"forecast", "train", "--protocol", "m4", "--out", filepath.Join(root, "y")}, &o, &e); code == 0 || !strings.Contains(e.String(), `data set "m4" is not shipped with loom`) {
		t.Errorf("without the set: %q", e.String())
	}
}
