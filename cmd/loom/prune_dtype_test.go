package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loomml/loom/format/safetensors"
	"github.com/loomml/loom/models/encoder"
	"github.com/loomml/loom/tensor"
)

// storedTypes returns the dtypes of a model directory's tensors, its
// weights file's size and config.json's torch_dtype.
func storedTypes(t *testing.T, dir string) (types map[safetensors.DType]bool, size int64, torch string) {
	t.Helper()
	f, err := safetensors.Open(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	types = map[safetensors.DType]bool{}
	for _, in := range f.Infos() {
		types[in.DType] = true
	}
	st, err := os.Stat(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		TorchDtype string `json:"torch_dtype"`
	}
	b, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return types, st.Size(), c.TorchDtype
}

// reportFields reads prune-report.json as a generic object.
func reportFields(t *testing.T, dir string) map[string]any {
	t.Helper()
	var r map[string]any
	b, err := os.ReadFile(filepath.Join(dir, "prune-report.json"))
	if err != nil || json.Unmarshal(b, &r) != nil {
		t.Fatalf("report: %s (%v)", b, err)
	}
	return r
}

// TestPruneKeepsStoredType: a bf16 decoder pruned by every kind of
// method is saved as BF16 with torch_dtype bfloat16, in a file no larger
// than the source's (smaller when parameters go), and loom eval of it
// gives exactly the report's after loss; an F32 source stays F32.
func TestPruneKeepsStoredType(t *testing.T) {
	dir := t.TempDir()
	var o, e bytes.Buffer
	bf16 := filepath.Join(dir, "bf16")
	if code := run([]string{"init", "--config", "testdata/prune-tiny.json", "--out", bf16, "--dtype", "bf16"}, &o, &e); code != 0 {
		t.Fatalf("init: %s", e.String())
	}
	f32 := tinyModel(t, dir, nil)
	text := filepath.Join(dir, "held.txt")
	os.WriteFile(text, []byte(strings.Repeat("all the world's a stage, and all the men and women merely players. ", 12)), 0o644)
	_, srcSize, _ := storedTypes(t, bf16)
	for i, c := range []struct {
		model   string
		args    []string
		want    safetensors.DType
		torch   string
		smaller bool // parameters removed: a smaller file
	}{
		{bf16, []string{"--method", "lastn", "--ratio", "0.25", "--windows", "2"}, safetensors.BF16, "bfloat16", true},
		{bf16, []string{"--method", "magnitude", "--ratio", "0.5"}, safetensors.BF16, "bfloat16", false},
		{bf16, []string{"--method", "structured", "--ratio", "0.3", "--score", "magnitude"}, safetensors.BF16, "bfloat16", true},
		// VTrans folds its masks into the weights: rounded, then measured.
		{bf16, []string{"--method", "vtrans", "--ratio", "0.3", "--windows", "8", "--seq-len", "16", "--variant", "faster"}, safetensors.BF16, "bfloat16", true},
		{f32, []string{"--method", "lastn", "--ratio", "0.25", "--windows", "2"}, safetensors.F32, "float32", true},
	} {
		out := filepath.Join(dir, fmt.Sprint("out", i))
		args := append([]string{"prune", "--model", c.model, "--out", out, "--eval", text, "--eval-tokens", "300", "--tasks", ""}, c.args...)
		o.Reset()
		e.Reset()
		if code := run(args, &o, &e); code != 0 {
			t.Fatalf("loom %v: %s %s", args, o.String(), e.String())
		}
		types, size, torch := storedTypes(t, out)
		if len(types) != 1 || !types[c.want] || torch != c.torch {
			t.Fatalf("loom %v: saved tensors %v, torch_dtype %q; want only %s, %s", args, types, torch, c.want, c.torch)
		}
		if c.model == bf16 && (size > srcSize || c.smaller && size >= srcSize) {
			t.Fatalf("loom %v: saved %d bytes from a %d-byte source", args, size, srcSize)
		}
		rep := reportFields(t, out)
		if rep["weights_dtype"] != c.torch {
			t.Fatalf("loom %v: report weights_dtype %v, want %s", args, rep["weights_dtype"], c.torch)
		}
		md, _ := os.ReadFile(filepath.Join(out, "prune-report.md"))
		if !strings.Contains(string(md), "Saved weights: "+string(c.want)) {
			t.Fatalf("loom %v: the report does not say the saved type:\n%s", args, md)
		}
		after := rep["after"].(map[string]any)["heldout_loss"].(float64)
		o.Reset()
		if code := run([]string{"eval", "--model", out, "--data", text, "--max-tokens", "300", "--json"}, &o, &e); code != 0 {
			t.Fatalf("eval after %v: %s", args, e.String())
		}
		var ev struct{ Loss float64 }
		if err := json.Unmarshal(o.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Loss != after {
			t.Fatalf("loom %v: loom eval of the saved model %v, the report's after loss %v", args, ev.Loss, after)
		}
	}
}

// TestPruneEncoderKeepsStoredType: a bf16 BERT classifier pruned by
// AxFormer and by structured pruning is saved as BF16 in a smaller file,
// and loom eval's accuracy on the test split is the report's after value.
func TestPruneEncoderKeepsStoredType(t *testing.T) {
	dir := t.TempDir()
	bert, val, test := tinyClassifier(t, dir)
	m, err := encoder.Load(bert)
	if err != nil {
		t.Fatal(err)
	}
	if err := encoder.SaveAs(m, bert, tensor.BFloat16); err != nil {
		t.Fatal(err)
	}
	_, srcSize, torch := storedTypes(t, bert)
	if torch != "bfloat16" {
		t.Fatalf("encoder.SaveAs bf16 wrote torch_dtype %q", torch)
	}
	for i, c := range []struct {
		args  []string
		after func(r map[string]any) float64
	}{
		{[]string{"--method", "axformer", "--data", val, "--ks", "1,2"}, func(r map[string]any) float64 { return r["final_test"].(float64) }},
		{[]string{"--method", "structured", "--ratio", "0.3", "--score", "magnitude"}, func(r map[string]any) float64 { return r["test_accuracy"].([]any)[1].(float64) }},
		{[]string{"--method", "vtrans", "--ratio", "0.3", "--data", val, "--variant", "faster"}, func(r map[string]any) float64 { return r["test_accuracy"].([]any)[1].(float64) }},
	} {
		out := filepath.Join(dir, fmt.Sprint("out", i))
		args := append([]string{"prune", "--model", bert, "--out", out, "--eval", test}, c.args...)
		var o, e bytes.Buffer
		if code := run(args, &o, &e); code != 0 {
			t.Fatalf("loom %v: %s %s", args, o.String(), e.String())
		}
		types, size, torch := storedTypes(t, out)
		if len(types) != 1 || !types[safetensors.BF16] || torch != "bfloat16" || size >= srcSize {
			t.Fatalf("loom %v: saved %v, torch_dtype %q, %d bytes from %d", args, types, torch, size, srcSize)
		}
		rep := reportFields(t, out)
		if rep["weights_dtype"] != "bfloat16" {
			t.Fatalf("loom %v: report weights_dtype %v", args, rep["weights_dtype"])
		}
		o.Reset()
		if code := run([]string{"eval", "--model", out, "--data", test, "--json"}, &o, &e); code != 0 {
			t.Fatalf("eval after %v: %s", args, e.String())
		}
		var ev struct{ Accuracy, Loss float64 }
		if err := json.Unmarshal(o.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		if want := c.after(rep); ev.Accuracy != want {
			t.Fatalf("loom %v: loom eval accuracy %v, the report's after value %v", args, ev.Accuracy, want)
		}
		// The cross-entropy tells apart weights accuracy cannot.
		if l, ok := rep["test_loss"].([]any); ok && ev.Loss != l[1].(float64) {
			t.Fatalf("loom %v: loom eval loss %v, the report's after value %v", args, ev.Loss, l[1])
		} else if !ok && c.args[1] != "axformer" {
			t.Fatalf("loom %v: no test_loss in the report", args)
		}
	}
}
