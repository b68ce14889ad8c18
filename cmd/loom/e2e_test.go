package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loomml/loom/format/gguf"
	"github.com/loomml/loom/tokenizer"
)

// TestTrainGenerateEval runs the tiny preset end to end through the CLI:
// train (with a split run and resume), generate and eval on the checkpoint.
func TestTrainGenerateEval(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	dir := t.TempDir()
	corpus := filepath.Join(dir, "corpus.txt")
	text := strings.Repeat("the quick brown fox jumps over the lazy dog. ", 400)
	os.WriteFile(corpus, []byte(text), 0o644)
	out := filepath.Join(dir, "run")
	var o, e bytes.Buffer
	if code := run([]string{"train", "--preset", "tiny", "--data", corpus, "--steps", "30", "--threads", "1", "--out", out}, &o, &e); code != 0 {
		t.Fatalf("train: %s %s", o.String(), e.String())
	}
	if !strings.Contains(o.String(), "trained 30 steps") {
		t.Fatalf("train output: %s", o.String())
	}
	for _, f := range []string{"checkpoint/config.json", "checkpoint/model.safetensors", "checkpoint/optimizer.safetensors", "metrics.jsonl", "loss.png"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Fatalf("missing %s", f)
		}
	}
	// Training further resumes from the checkpoint.
	o.Reset()
	if code := run([]string{"train", "--preset", "tiny", "--data", corpus, "--steps", "40", "--threads", "1", "--out", out}, &o, &e); code != 0 || !strings.Contains(o.String(), "resumed") {
		t.Fatalf("resume: %d %s %s", code, o.String(), e.String())
	}
	o.Reset()
	if code := run([]string{"generate", "--model", filepath.Join(out, "checkpoint"), "--prompt", "the ", "--max-tokens", "20", "--json"}, &o, &e); code != 0 {
		t.Fatalf("generate: %s", e.String())
	}
	var g struct {
		Tokens int    `json:"tokens"`
		Text   string `json:"text"`
	}
	if err := json.Unmarshal(o.Bytes(), &g); err != nil || g.Tokens != 20 {
		t.Fatalf("generate JSON %q: %v", o.String(), err)
	}
	// Every --model takes the run directory too.
	o.Reset()
	if code := run([]string{"eval", "--model", out, "--data", corpus, "--json"}, &o, &e); code != 0 {
		t.Fatalf("eval: %s", e.String())
	}
	var r struct {
		Loss   float64 `json:"loss"`
		Tokens int     `json:"tokens"`
	}
	if err := json.Unmarshal(o.Bytes(), &r); err != nil || r.Tokens != len(text)-1 || !(r.Loss < 3) {
		t.Fatalf("eval: %s (%v)", o.String(), err)
	}
	// Exporting the run writes a GGUF named after the run, which loads back.
	gg := filepath.Join(dir, "m.gguf")
	o.Reset()
	if code := run([]string{"export", "--format", "gguf", "--model", out, "--out", gg}, &o, &e); code != 0 {
		t.Fatalf("export: %s", e.String())
	}
	f, err := gguf.Open(gg)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if name, _ := f.String("general.name"); name != "run" {
		t.Fatalf("general.name %q, want the run's name", name)
	}
	o.Reset()
	if code := run([]string{"generate", "--model", gg, "--prompt", "the ", "--max-tokens", "5", "--json"}, &o, &e); code != 0 {
		t.Fatalf("generate from the export: %s", e.String())
	}
}

func TestTrainRejectsBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "spec.json")
	os.WriteFile(bad, []byte(`{"model": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 5, "vocab_size": 256, "max_position_embeddings": 64}, "train": {"steps": 1, "batch_size": 1, "seq_len": 8, "lr": 0.001}}`), 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"train", "--config", bad, "--out", dir}, "num_attention_heads"},
		{[]string{"train", "--preset", "nope", "--out", dir}, "unknown preset"},
		{[]string{"train", "--preset", "tiny"}, "--out DIR is required"},
		{[]string{"generate", "--model", filepath.Join(dir, "none")}, "config.json"},
		{[]string{"train", "--preset", "tiny", "--out", filepath.Join(dir, "o"), "--steps", "0"}, "flag -steps: want ≥ 1"},
		{[]string{"train", "--preset", "tiny", "--out", filepath.Join(dir, "o"), "--steps", "-5"}, "flag -steps: want ≥ 1"},
		{[]string{"train", "--preset", "tiny", "--out", filepath.Join(dir, "o"), "--seed", "-3"}, "flag -seed: want ≥ 0"},
		{[]string{"train", "--preset", "tiny", "--out", filepath.Join(dir, "o"), "--threads", "-1"}, "flag -threads: want ≥ 1 (0: all cores)"},
	}
	for _, c := range cases {
		var o, e bytes.Buffer
		if code := run(c.args, &o, &e); code == 0 || !strings.Contains(e.String(), c.want) {
			t.Errorf("loom %v: code %d, stderr %q; want an error mentioning %q", c.args, code, e.String(), c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "o")); err == nil {
		t.Error("a refused train wrote its output directory")
	}
}

// TestBPEEndToEnd learns a BPE tokenizer, trains with it, and generates and
// evaluates from the checkpoint, which carries the tokenizer.json.
func TestBPEEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	dir := t.TempDir()
	corpus := filepath.Join(dir, "corpus.txt")
	os.WriteFile(corpus, []byte(strings.Repeat("the quick brown fox jumps over the lazy dog. ", 400)), 0o644)
	tokPath := filepath.Join(dir, "tok.json")
	var o, e bytes.Buffer
	if code := run([]string{"tokenizer", "train", "--vocab", "300", "--data", corpus, "--out", tokPath}, &o, &e); code != 0 {
		t.Fatalf("tokenizer train: %s", e.String())
	}
	out := filepath.Join(dir, "run")
	if code := run([]string{"train", "--preset", "tiny", "--data", corpus, "--tokenizer", tokPath, "--steps", "10", "--threads", "1", "--out", out}, &o, &e); code != 0 {
		t.Fatalf("train: %s", e.String())
	}
	ckpt := filepath.Join(out, "checkpoint")
	cfg, _ := os.ReadFile(filepath.Join(ckpt, "config.json"))
	tok, err := tokenizer.Load(filepath.Join(ckpt, "tokenizer.json"), "")
	if err != nil {
		t.Fatal(err)
	}
	// A tiny corpus runs out of pairs before 300 tokens.
	if want := fmt.Sprintf(`"vocab_size": %d`, tok.VocabSize()); !strings.Contains(string(cfg), `"tokenizer": "tokenizer.json"`) || !strings.Contains(string(cfg), want) {
		t.Fatalf("config.json lacks %s: %s", want, cfg)
	}
	o.Reset()
	if code := run([]string{"generate", "--model", ckpt, "--prompt", "the quick", "--max-tokens", "5", "--json"}, &o, &e); code != 0 {
		t.Fatalf("generate: %s", e.String())
	}
	o.Reset()
	if code := run([]string{"tokenize", "--tokenizer", filepath.Join(ckpt, "tokenizer.json"), "--text", "the quick brown fox", "--ids"}, &o, &e); code != 0 || len(strings.Fields(o.String())) >= 19 {
		t.Fatalf("tokenize: %q %s", o.String(), e.String())
	}
}

// A text too short for one window is refused in words a user knows and
// leaves no output directory; resuming a run with other text is refused
// before its data are replaced.
func TestTrainDataErrors(t *testing.T) {
	dir := t.TempDir()
	tiny := filepath.Join(dir, "tiny.txt")
	os.WriteFile(tiny, []byte("hello world"), 0o644)
	var o, e bytes.Buffer
	out := filepath.Join(dir, "run")
	if code := run([]string{"train", "--preset", "tiny", "--data", tiny, "--out", out}, &o, &e); code != 1 ||
		!strings.Contains(e.String(), "the training text gives 9 training tokens (byte tokenizer, 0.1 held out), fewer than the 65 that one window of train.seq_len 64 needs") ||
		strings.Contains(e.String(), "NewSampler") {
		t.Errorf("tiny --data: code %d, stderr %q", code, e.String())
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("tiny --data left %s behind", out)
	}
	text := []byte(strings.Repeat("To be, or not to be, that is the question. ", 200))
	a, b := filepath.Join(dir, "a.txt"), filepath.Join(dir, "b.txt")
	os.WriteFile(a, text, 0o644)
	os.WriteFile(b, append([]byte("Whether 'tis nobler. "), text...), 0o644)
	e.Reset()
	if code := run([]string{"train", "--preset", "tiny", "--data", a, "--out", out, "--steps", "2"}, &o, &e); code != 0 {
		t.Fatalf("train: %s", e.String())
	}
	meta, _ := os.ReadFile(filepath.Join(out, "data", "meta.json"))
	e.Reset()
	if code := run([]string{"train", "--preset", "tiny", "--data", b, "--out", out, "--steps", "4"}, &o, &e); code != 1 ||
		!strings.Contains(e.String(), "cannot resume "+out+": it was trained on other text (8600 bytes") || strings.Contains(e.String(), "SetState") {
		t.Errorf("resume with other --data: code %d, stderr %q", code, e.String())
	}
	if after, _ := os.ReadFile(filepath.Join(out, "data", "meta.json")); !bytes.Equal(meta, after) {
		t.Error("a refused resume replaced the run's data")
	}
}

// `loom train --config checkpoint/config.json` (a bare model config) trains
// with the default preset's settings and says so.
func TestTrainBareConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("trains and evaluates")
	}
	out := filepath.Join(t.TempDir(), "run")
	var o, e bytes.Buffer
	cfg := "../../convert/testdata/hf/loom-trained/config.json"
	if code := run([]string{"train", "--config", cfg, "--out", out, "--steps", "2"}, &o, &e); code != 0 {
		t.Fatalf("train --config %s: %s", cfg, e.String())
	}
	if want := cfg + " is a model config.json without training settings: training it with the quickstart preset's settings and the flags given: 2 steps, batch 16, sequence length 64"; !strings.Contains(e.String(), want) {
		t.Errorf("stderr %q; want %q", e.String(), want)
	}
	if !strings.Contains(o.String(), "trained 2 steps") {
		t.Errorf("stdout %q", o.String())
	}
}
