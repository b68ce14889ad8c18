package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInitProgressSmallModel: init's progress counts a small model in KB,
// not as "0/0 MB", and shows no ETA before it has a rate.
func TestInitProgressSmallModel(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.json")
	os.WriteFile(cfg, []byte(`{"architectures":["LlamaForCausalLM"],"model_type":"llama","hidden_size":64,"intermediate_size":128,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":4,"vocab_size":256,"max_position_embeddings":64,"rms_norm_eps":1e-6,"rope_theta":10000,"hidden_act":"silu","initializer_range":0.02}`), 0o644)
	var o, e bytes.Buffer
	if code := run([]string{"init", "--config", cfg, "--out", filepath.Join(dir, "m"), "--shard-mb", "0"}, &o, &e); code != 0 {
		t.Fatalf("init: %d %s %s", code, o.String(), e.String())
	}
	lines := strings.Split(strings.TrimSpace(e.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "init 0 B/230.0 KB [") || !strings.HasSuffix(lines[0], "ETA --") ||
		!strings.HasPrefix(lines[1], "init 230.0 KB/230.0 KB [") || strings.Contains(e.String(), "MB") {
		t.Fatalf("init progress:\n%s\nwant a line at 0 B/230.0 KB with ETA --, then 230.0 KB/230.0 KB", e.String())
	}
}

// TestTrainProgressEvery: --progress-every sets how often training prints
// a progress line off a terminal (default 10 s); it must be positive.
func TestTrainProgressEvery(t *testing.T) {
	dir := t.TempDir()
	corpus := filepath.Join(dir, "corpus.txt")
	os.WriteFile(corpus, []byte(strings.Repeat("the quick brown fox jumps over the lazy dog. ", 100)), 0o644)
	for _, c := range []struct {
		every string
		lines int // "train i/6" lines
	}{{"", 2}, {"1ns", 6}} {
		args := []string{"train", "--preset", "tiny", "--data", corpus, "--steps", "6", "--threads", "1", "--out", filepath.Join(dir, "run"+c.every)}
		if c.every != "" {
			args = append(args, "--progress-every", c.every)
		}
		var o, e bytes.Buffer
		if code := run(args, &o, &e); code != 0 {
			t.Fatalf("%v: %d %s", args, code, e.String())
		}
		n := 0
		for _, line := range strings.Split(e.String(), "\n") {
			if strings.HasPrefix(line, "train ") {
				n++
			}
		}
		if n != c.lines {
			t.Errorf("--progress-every %q: %d progress lines, want %d:\n%s", c.every, n, c.lines, e.String())
		}
	}
	for _, bad := range []string{"0s", "-1s", "soon"} {
		var o, e bytes.Buffer
		code := run([]string{"train", "--preset", "tiny", "--out", filepath.Join(dir, "x"), "--progress-every", bad}, &o, &e)
		if code != 2 || !strings.Contains(e.String(), "progress-every") {
			t.Errorf("--progress-every %s: exit %d, %q; want 2 and an error naming the flag", bad, code, e.String())
		}
	}
}
