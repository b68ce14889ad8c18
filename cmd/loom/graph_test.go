package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGraph: a short `loom graph train` on the embedded ESOL writes the
// run, `loom graph eval` reads it back on a CSV of the user's and writes
// predictions, and bad input names the flag, file, row or column.
func TestGraph(t *testing.T) {
	dir := t.TempDir()
	runDir := filepath.Join(dir, "run")
	var o, e bytes.Buffer
	if code := run([]string{"graph", "train", "--out", runDir, "--arch", "gcn", "--layers", "2", "--dim", "16", "--epochs", "2", "--batch", "64", "--split", "random"}, &o, &e); code != 0 {
		t.Fatalf("graph train: %s", e.String())
	}
	for _, f := range []string{"model/config.json", "model/model.safetensors", "checkpoint", "metrics.jsonl", "loss.png", "result.json"} {
		if _, err := os.Stat(filepath.Join(runDir, f)); err != nil {
			t.Errorf("run directory lacks %s", f)
		}
	}
	if !strings.Contains(o.String(), "random split 902/113/113") || !strings.Contains(o.String(), "MAE  train") {
		t.Errorf("train output:\n%s", o.String())
	}
	csvPath := filepath.Join(dir, "mine.csv")
	os.WriteFile(csvPath, []byte("name,smi,y\nethanol,CCO,1.1\nbenzene,c1ccccc1,-1.6\n"), 0o644)
	pred := filepath.Join(dir, "pred.csv")
	o.Reset()
	if code := run([]string{"graph", "eval", "--model", runDir, "--csv", csvPath, "--smiles-col", "smi", "--target-col", "y", "--out", pred}, &o, &e); code != 0 {
		t.Fatalf("graph eval: %s", e.String())
	}
	b, _ := os.ReadFile(pred)
	if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); len(lines) != 3 || lines[0] != "smiles,prediction,y" || !strings.HasPrefix(lines[1], "CCO,") {
		t.Errorf("predictions:\n%s", b)
	}
	if !strings.Contains(o.String(), "2 molecules, y: MAE") {
		t.Errorf("eval output: %s", o.String())
	}
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("smi,y\nCCO,1\nC1CC(,2\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"graph", "train"}, "--out is required"},
		{[]string{"graph", "train", "--out", filepath.Join(dir, "x"), "--csv", bad}, "--smiles-col is required with --csv"},
		{[]string{"graph", "train", "--out", filepath.Join(dir, "x"), "--csv", bad, "--smiles-col", "smiles", "--target-col", "y"}, `no column "smiles"; the columns are "smi", "y"`},
		{[]string{"graph", "train", "--out", filepath.Join(dir, "x"), "--csv", bad, "--smiles-col", "smi", "--target-col", "y"}, `bad.csv: row 3, column "smi"`},
		{[]string{"graph", "train", "--out", filepath.Join(dir, "x"), "--arch", "gat"}, "want one of gcn, gin, gt, gt-full"},
		{[]string{"graph", "train", "--out", filepath.Join(dir, "x"), "--dim", "10", "--heads", "4"}, "--heads 4 does not divide --dim 10"},
		{[]string{"graph", "train", "--out", runDir}, "--out"},
		{[]string{"graph", "eval", "--model", dir}, "not a `loom graph train` model"},
	} {
		e.Reset()
		if code := run(tc.args, &o, &e); code == 0 || !strings.Contains(e.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want it to contain %q", tc.args, code, e.String(), tc.want)
		}
	}
}
