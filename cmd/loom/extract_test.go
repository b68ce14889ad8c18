package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/loomml/loom/convert"
	"github.com/loomml/loom/models/decoder"
)

// TestExtractCLI slices an HF directory's FFNs per layer, and the result
// loads and generates as an ordinary model.
func TestExtractCLI(t *testing.T) {
	src := "../../convert/testdata/hf/loom-trained"
	m, err := convert.Load(src)
	if err != nil {
		t.Fatal(err)
	}
	full := m.Config.IntermediateSize
	out := filepath.Join(t.TempDir(), "sub")
	var o, e bytes.Buffer
	widths := []string{itoa(full / 2), itoa(full / 4)}
	if code := run([]string{"extract", "--model", src, "--ffn-widths", strings.Join(widths, ","), "--out", out}, &o, &e); code != 0 {
		t.Fatalf("extract: %s", e.String())
	}
	sub, err := convert.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if got := sub.FFNWidths(); got[0] != full/2 || got[1] != full/4 {
		t.Fatalf("extracted widths %v", got)
	}
	if _, err := os.Stat(filepath.Join(out, convert.TokenizerFile)); err != nil {
		t.Fatal("tokenizer not copied:", err)
	}
	o.Reset()
	if code := run([]string{"generate", "--model", out, "--max-tokens", "4"}, &o, &e); code != 0 {
		t.Fatalf("generate from the extracted model: %s", e.String())
	}
	for _, c := range []struct {
		widths, want string
	}{
		{"1,2,3", "3 widths for a model of 2 layers"},
		{"x", "not a positive integer"},
		{itoa(full * 2), "want 1 …"},
	} {
		e.Reset()
		code := run([]string{"extract", "--model", src, "--ffn-widths", c.widths, "--out", filepath.Join(t.TempDir(), "x")}, &o, &e)
		if code == 0 || !strings.Contains(e.String(), c.want) {
			t.Errorf("--ffn-widths %s: code %d, %q", c.widths, code, e.String())
		}
	}
	// An existing output is not overwritten.
	if code := run([]string{"extract", "--model", src, "--ffn-widths", "8", "--out", out}, &o, &e); code == 0 || !strings.Contains(e.String(), "is not empty (holds config.json, generation_config.json, model.safetensors, …); pass --force to replace it") {
		t.Errorf("existing --out: %q", e.String())
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestMixNMatchEvalEqualsExtracted: `loom eval --ffn-widths` on a MatFormer
// scores exactly what the extracted submodel scores.
func TestMixNMatchEvalEqualsExtracted(t *testing.T) {
	cfg := &decoder.Config{HiddenSize: 32, IntermediateSize: 64, NumHiddenLayers: 2, NumAttentionHeads: 4, NumKeyValueHeads: 2,
		HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 10000, VocabSize: 256, MaxPositionEmbeddings: 64, InitializerRange: 0.05,
		Loom: decoder.Options{Tokenizer: "byte", MatFormer: &decoder.MatFormer{Factor: 4}}}
	m, err := decoder.New(cfg, 3)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	src, sub := filepath.Join(dir, "mat"), filepath.Join(dir, "sub")
	if err := convert.Save(m, src); err != nil {
		t.Fatal(err)
	}
	var o, e bytes.Buffer
	score := func(args ...string) string {
		o.Reset()
		if code := run(append([]string{"eval", "--max-tokens", "600"}, args...), &o, &e); code != 0 {
			t.Fatalf("eval %v: %s", args, e.String())
		}
		return o.String()
	}
	mix := score("--model", src, "--ffn-widths", "16,32")
	if code := run([]string{"extract", "--model", src, "--ffn-widths", "16,32", "--out", sub}, &o, &e); code != 0 {
		t.Fatalf("extract: %s", e.String())
	}
	if ext := score("--model", sub); ext != mix {
		t.Fatalf("Mix'n'Match eval %q, extracted %q", mix, ext)
	}
	if full := score("--model", src); full == mix {
		t.Fatal("--ffn-widths changed nothing")
	}
	e.Reset()
	if code := run([]string{"eval", "--model", sub, "--ffn-widths", "8"}, &o, &e); code == 0 || !strings.Contains(e.String(), "matformer") {
		t.Fatalf("--ffn-widths on an ordinary model: %q", e.String())
	}
}
