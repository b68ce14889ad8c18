package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loomml/loom/compress/prune"
	"github.com/loomml/loom/compress/sparse"
)

func TestPruneCLI(t *testing.T) {
	ckpt := trained(t)
	dir := t.TempDir()
	var o, e bytes.Buffer
	for _, method := range []string{"finercut", "shortgpt", "lastn", "random", "oneshot"} {
		out := filepath.Join(dir, method)
		o.Reset()
		args := []string{"prune", "--method", method, "--ratio", "0.5", "--model", ckpt, "--out", out, "--windows", "4", "--eval-tokens", "2000", "--task-items", "20"}
		if code := run(args, &o, &e); code != 0 {
			t.Fatalf("prune %s: %s", method, e.String())
		}
		var rep prune.Report
		b, err := os.ReadFile(filepath.Join(out, "prune-report.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &rep); err != nil || rep.Removed != 2 || len(rep.Order) != 2 || !(rep.After.Loss > 0) {
			t.Fatalf("%s report: %s (%v)", method, b, err)
		}
		for _, f := range []string{"prune-map.png", "prune-report.md", "tokenizer.json", "config.json"} {
			if _, err := os.Stat(filepath.Join(out, f)); err != nil {
				t.Fatal(err)
			}
		}
		// The pruned checkpoint loads and generates.
		o.Reset()
		if code := run([]string{"generate", "--model", out, "--max-tokens", "5", "--json"}, &o, &e); code != 0 {
			t.Fatalf("generate from %s: %s", out, e.String())
		}
	}
}

// TestPruneHFDirectory prunes a Hugging Face directory (loom's HF export
// fixture, checked against the PyTorch reference in models/decoder).
func TestPruneHFDirectory(t *testing.T) {
	out := filepath.Join(t.TempDir(), "pruned")
	var o, e bytes.Buffer
	args := []string{"prune", "--method", "finercut", "--ratio", "0.25", "--model", "../../convert/testdata/hf/loom-trained",
		"--out", out, "--windows", "2", "--eval-tokens", "500", "--tasks", ""}
	if code := run(args, &o, &e); code != 0 || !strings.Contains(o.String(), "removed 1 of 4 sublayers") {
		t.Fatalf("prune of an HF directory: %s %s", o.String(), e.String())
	}
}

func TestPruneRejectsBadInput(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short.txt")
	os.WriteFile(short, []byte("too short"), 0o644)
	ckpt := filepath.Join(dir, "m")
	var o, e bytes.Buffer
	if code := run([]string{"init", "--config", "testdata/prune-tiny.json", "--out", ckpt}, &o, &e); code != 0 {
		t.Fatalf("init: %s", e.String())
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--ratio", "1.5"}, "flag -ratio: want 0 < x < 1"},
		{nil, "--ratio is required"},
		{[]string{"--ratio", "0.25", "--method", "foo"}, "flag -method: want one of finercut, lastn, oneshot, random, shortgpt, magnitude, 2:4"},
		{[]string{"--method", "magnitude"}, "--ratio is required: the fraction of the block weights"},
		{[]string{"--method", "magnitude", "--ratio", "1"}, "flag -ratio: want 0 < x < 1"},
		{[]string{"--method", "2:4", "--ratio", "0.3"}, "--ratio 0.3: --method 2:4 keeps 2 of every 4 weights"},
		{[]string{"--method", "2:4", "--scope", "global"}, "--scope applies to --method magnitude, not --method 2:4"},
		{[]string{"--method", "magnitude", "--ratio", "0.5", "--scope", "row"}, "flag -scope: want one of layer, global"},
		{[]string{"--method", "magnitude", "--ratio", "0.5", "--windows", "4"}, "--windows applies to the sublayer methods, structured and vtrans, not --method magnitude"},
		{[]string{"--ratio", "0.25", "--calib", short}, "shorter than one calibration window"},
		{[]string{"--ratio", "0.01"}, "removes 0"},
		{[]string{"--ratio", "0.25", "--protect", "5"}, "--protect 5: want 0 to 3 (the model has 4 layers)"},
		{[]string{"--ratio", "0.75", "--protect", "2"}, "--protect 2 leaves 4 removable sublayers, fewer than the 6 that --ratio 0.75 removes"},
		{[]string{"--ratio", "0.25", "--method", "lastn", "--protect", "1"}, "--protect applies to --method finercut and oneshot, not --method lastn"},
		{[]string{"--ratio", "0.25", "--method", "shortgpt", "--distance", "kl"}, "--distance applies to --method finercut and oneshot, not --method shortgpt"},
		{[]string{"--ratio", "0.25", "--distance", "foo"}, "flag -distance: want one of js, kl, angular, dissect"},
	} {
		e.Reset()
		args := append([]string{"prune", "--model", ckpt, "--out", filepath.Join(dir, "out")}, c.args...)
		if code := run(args, &o, &e); code == 0 || !strings.Contains(e.String(), c.want) {
			t.Errorf("loom %v: code %d, stderr %q, want %q", args, code, e.String(), c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
		t.Error("a rejected prune wrote its output directory")
	}
}

// --out equal to or inside --model (a run or its checkpoint) is refused
// before anything is read or written.
func TestPruneRefusesOutInsideModel(t *testing.T) {
	dir := t.TempDir()
	ckpt := filepath.Join(dir, "run", "checkpoint")
	runDir := filepath.Dir(ckpt)
	if err := os.Mkdir(runDir, 0o755); err != nil {
		t.Fatal(err)
	}
	var o, e bytes.Buffer
	if code := run([]string{"init", "--config", "testdata/prune-tiny.json", "--out", ckpt}, &o, &e); code != 0 {
		t.Fatalf("init: %s", e.String())
	}
	before, _ := os.ReadFile(filepath.Join(ckpt, "model.safetensors"))
	for _, c := range [][2]string{
		{runDir, runDir},
		{runDir, ckpt},
		{ckpt, ckpt},
		{ckpt, filepath.Join(ckpt, "pruned")},
		{ckpt + "/", filepath.Join(runDir, ".", "checkpoint")},
	} {
		e.Reset()
		args := []string{"prune", "--model", c[0], "--out", c[1], "--ratio", "0.5"}
		if code := run(args, &o, &e); code == 0 || !strings.Contains(e.String(), "is inside --model") {
			t.Errorf("loom %v: code %d, stderr %q, want a refusal", args, code, e.String())
		}
	}
	if after, _ := os.ReadFile(filepath.Join(ckpt, "model.safetensors")); len(after) == 0 || !bytes.Equal(before, after) {
		t.Error("a refused prune changed the source model")
	}
	if _, err := os.Stat(filepath.Join(ckpt, "pruned")); err == nil {
		t.Error("a refused prune wrote inside the source model")
	}
}

// TestPruneWeightsCLI: magnitude (both scopes) and 2:4 zero the block
// weights as asked, and the saved model loads with the zeros and generates.
func TestPruneWeightsCLI(t *testing.T) {
	dir := t.TempDir()
	ckpt := filepath.Join(dir, "m")
	var o, e bytes.Buffer
	if code := run([]string{"init", "--config", "testdata/prune-tiny.json", "--out", ckpt}, &o, &e); code != 0 {
		t.Fatalf("init: %s", e.String())
	}
	for i, c := range []struct {
		args     []string
		sparsity float64
		stdout   string
	}{
		{[]string{"--method", "magnitude", "--ratio", "0.5"}, 0.5, "no speed-up"},
		{[]string{"--method", "magnitude", "--ratio", "0.7", "--scope", "global"}, 0.7, "no speed-up"},
		{[]string{"--method", "2:4"}, 0.5, "2:4 packed size"},
		{[]string{"--method", "2:4", "--ratio", "0.5"}, 0.5, "2:4 packed size"},
	} {
		out := filepath.Join(dir, fmt.Sprint("out", i))
		o.Reset()
		e.Reset()
		args := append([]string{"prune", "--model", ckpt, "--out", out, "--eval-tokens", "500", "--tasks", ""}, c.args...)
		if code := run(args, &o, &e); code != 0 || !strings.Contains(o.String(), c.stdout) {
			t.Fatalf("loom %v: %s %s", args, o.String(), e.String())
		}
		var rep prune.WeightReport
		b, err := os.ReadFile(filepath.Join(out, prune.ReportJSON))
		if err != nil || json.Unmarshal(b, &rep) != nil {
			t.Fatalf("report: %s (%v)", b, err)
		}
		if math.Abs(rep.Stats.Sparsity-c.sparsity) > 1e-3 || !(rep.After.Loss > 0) || rep.Before.ParamsCount != rep.After.ParamsCount {
			t.Fatalf("loom %v: report %+v", args, rep.Stats)
		}
		if c.args[1] == "2:4" && (rep.Kernel24 == nil || math.Abs(rep.Kernel24.Loss-rep.After.Loss) > 1e-4 || !strings.Contains(o.String(), "with the 2:4 kernel")) {
			t.Fatalf("loom %v: the 2:4 kernel's measurement %+v, dense %+v", args, rep.Kernel24, rep.After)
		}
		l, err := loadModel("test", out, 1, "", io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		ts, err := sparse.Targets(l.Model)
		if err != nil {
			t.Fatal(err)
		}
		zeros, n := 0, 0
		for _, tg := range ts {
			for _, v := range tg.W {
				if v == 0 {
					zeros++
				}
			}
			n += len(tg.W)
			if c.args[1] == "2:4" {
				if _, err := sparse.Pack24([]sparse.Target{tg}); err != nil {
					t.Fatalf("the saved 2:4 model: %v", err)
				}
			}
		}
		if math.Abs(float64(zeros)/float64(n)-c.sparsity) > 1e-3 {
			t.Fatalf("loom %v: the saved model has %d of %d zeros", args, zeros, n)
		}
		o.Reset()
		if code := run([]string{"generate", "--model", out, "--max-tokens", "3", "--json"}, &o, &e); code != 0 {
			t.Fatalf("generate from %s: %s", out, e.String())
		}
	}
}
