package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loomml/loom/compress/prune"
	"github.com/loomml/loom/compress/structured"
	"github.com/loomml/loom/models/encoder"
)

// TestPruneStructureEncoderCLI: structured (each score) and VTrans (each
// variant) on an encoder classifier remove at least the budget, save a
// smaller BERT that loads with the reported parameters, and loom eval
// scores it on the test split with the reported accuracy.
func TestPruneStructureEncoderCLI(t *testing.T) {
	dir := t.TempDir()
	bert, val, test := tinyClassifier(t, dir)
	for i, c := range []struct {
		args []string
		kept func(s [2]prune.Structures) bool
	}{
		{[]string{"--method", "structured", "--ratio", "0.3", "--data", val},
			func(s [2]prune.Structures) bool { return s[1].Layers == s[0].Layers && s[1].Neurons < s[0].Neurons }},
		{[]string{"--method", "structured", "--ratio", "0.4", "--score", "activation", "--kinds", "heads,neurons,layers", "--data", val}, nil},
		{[]string{"--method", "structured", "--ratio", "0.3", "--score", "magnitude", "--kinds", "layers"},
			func(s [2]prune.Structures) bool { return s[1].Layers < s[0].Layers }},
		{[]string{"--method", "vtrans", "--ratio", "0.4", "--data", val, "--variant", "fast"}, nil},
		{[]string{"--method", "vtrans", "--ratio", "0.5", "--data", val, "--variant", "faster", "--epochs", "2", "--beta", "0.001", "--seed", "3"}, nil},
	} {
		out := filepath.Join(dir, fmt.Sprint("out", i))
		var o, e bytes.Buffer
		args := append([]string{"prune", "--model", bert, "--eval", test, "--out", out}, c.args...)
		if code := run(args, &o, &e); code != 0 || !strings.Contains(o.String(), "test accuracy") {
			t.Fatalf("loom %v: %s %s", args, o.String(), e.String())
		}
		t.Logf("loom %v:\n%s", c.args, o.String())
		var rep encoderStructureReport
		b, err := os.ReadFile(filepath.Join(out, prune.ReportJSON))
		if err != nil || json.Unmarshal(b, &rep) != nil {
			t.Fatalf("report: %s (%v)", b, err)
		}
		n0, n1 := rep.Params[0], rep.Params[1]
		if float64(n0-n1) < rep.Ratio*float64(n0)*0.999 || rep.FileBytes[1] >= rep.FileBytes[0] || rep.FileBytes[1] == 0 || rep.Examples[1] != 24 {
			t.Fatalf("loom %v: %d → %d parameters, files %v, examples %v", args, n0, n1, rep.FileBytes, rep.Examples)
		}
		if c.kept != nil && !c.kept(rep.Kept) {
			t.Fatalf("loom %v: kept %+v", args, rep.Kept)
		}
		m, err := encoder.Load(out)
		if err != nil {
			t.Fatal(err)
		}
		if n := structured.NumParams(m); n != n1 {
			t.Fatalf("loom %v: the saved model has %d parameters, the report %d", args, n, n1)
		}
		o.Reset()
		if code := run([]string{"eval", "--model", out, "--data", test, "--json"}, &o, &e); code != 0 {
			t.Fatalf("loom eval after %v: %s", args, e.String())
		}
		var ev encoderEval
		if err := json.Unmarshal(o.Bytes(), &ev); err != nil || ev.Accuracy != rep.Accuracy[1] || ev.Examples != 24 {
			t.Fatalf("loom eval after %v: %s (%v); the report's accuracy %v", args, o.String(), err, rep.Accuracy[1])
		}
	}
}

// TestPruneStructureEncoderRejects: bad input on an encoder names the
// flag.
func TestPruneStructureEncoderRejects(t *testing.T) {
	dir := t.TempDir()
	bert, val, test := tinyClassifier(t, dir)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--method", "vtrans", "--ratio", "0.5", "--eval", test}, "--data is required for --method vtrans on an encoder classifier"},
		{[]string{"--method", "structured", "--ratio", "0.5", "--eval", test}, "--data is required for --method structured on an encoder classifier"},
		{[]string{"--method", "structured", "--ratio", "0.5", "--data", val}, "--eval is required"},
		{[]string{"--method", "structured", "--ratio", "0.5", "--data", val, "--eval", test, "--kinds", "heads,hidden"}, "--kinds hidden: an encoder's hidden dims cannot be removed"},
		{[]string{"--method", "structured", "--ratio", "0.5", "--data", val, "--eval", test, "--calib", val}, "--calib applies to a decoder"},
		{[]string{"--method", "vtrans", "--ratio", "0.5", "--data", val, "--eval", test, "--windows", "4"}, "--windows applies to a decoder"},
		{[]string{"--method", "structured", "--ratio", "0.5", "--data", val, "--eval", val}, "are the same file"},
		{[]string{"--method", "structured", "--ratio", "0.5", "--score", "magnitude", "--data", val, "--eval", test}, "--data: --score magnitude reads no data"},
		{[]string{"--method", "structured", "--ratio", "1.5", "--data", val, "--eval", test}, "flag -ratio"},
		{[]string{"--method", "structured", "--data", val, "--eval", test}, "--ratio is required"},
		{[]string{"--method", "vtrans", "--ratio", "0.5", "--data", val, "--eval", test, "--kinds", "heads"}, "--kinds applies to --method structured, not --method vtrans"},
	} {
		var o, e bytes.Buffer
		args := append([]string{"prune", "--model", bert, "--out", filepath.Join(dir, "out")}, c.args...)
		if code := run(args, &o, &e); code == 0 || !strings.Contains(e.String(), c.want) {
			t.Errorf("loom %v: code %d, stderr %q, want %q", args, code, e.String(), c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
		t.Error("a rejected prune wrote its output directory")
	}
	// A decoder's structured pruning reads --calib, not --data.
	ckpt := tinyModel(t, dir, nil)
	var o, e bytes.Buffer
	args := []string{"prune", "--model", ckpt, "--out", filepath.Join(dir, "out"), "--method", "vtrans", "--ratio", "0.5", "--data", val}
	if code := run(args, &o, &e); code == 0 || !strings.Contains(e.String(), "--data applies to --method axformer, not --method vtrans") {
		t.Errorf("loom %v: code %d, stderr %q", args, code, e.String())
	}
}
