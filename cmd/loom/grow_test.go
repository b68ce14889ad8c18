package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tokenformerSpec is the tiny preset's spec with a TokenFormer model.
const tokenformerSpec = `{"model": {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
  "hidden_act": "silu", "rms_norm_eps": 1e-5, "rope_theta": 10000, "vocab_size": 256, "max_position_embeddings": 64,
  "initializer_range": 0.02, "partial_rotary_factor": 0.25,
  "loom": {"tokenizer": "byte", "tokenformer": {"qkv_slot_num": 16}}},
 "train": {"steps": 4, "batch_size": 4, "seq_len": 32, "lr": 0.003, "min_lr_factor": 0.1, "warmup": 1, "beta1": 0.9, "beta2": 0.95,
  "eps": 1e-8, "clip": 1, "seed": 1, "val_fraction": 0.1, "eval_batches": 1}}`

// TestGrowCLI: a TokenFormer trains, grows (logits kept, the config
// follows) and trains further from the grown checkpoint; growing a Llama,
// or without saying how much, is refused.
func TestGrowCLI(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "spec.json")
	os.WriteFile(spec, []byte(tokenformerSpec), 0o644)
	corpus := filepath.Join(dir, "corpus.txt")
	os.WriteFile(corpus, []byte(strings.Repeat("the quick brown fox jumps over the lazy dog. ", 100)), 0o644)
	var o, e bytes.Buffer
	sh := func(args ...string) int {
		o.Reset()
		e.Reset()
		return run(args, &o, &e)
	}
	if code := sh("train", "--config", spec, "--data", corpus, "--threads", "1", "--out", filepath.Join(dir, "run")); code != 0 {
		t.Fatalf("train: %s %s", o.String(), e.String())
	}
	grown := filepath.Join(dir, "grown")
	if code := sh("grow", "--model", filepath.Join(dir, "run"), "--factor", "2", "--out", grown); code != 0 {
		t.Fatalf("grow: %s %s", o.String(), e.String())
	}
	if !strings.Contains(o.String(), "qkv 16 → 32, proj 16 → 32, ffn 64 → 128") || !strings.Contains(o.String(), "unchanged") {
		t.Errorf("grow output: %s", o.String())
	}
	b, err := os.ReadFile(filepath.Join(grown, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		IntermediateSize int `json:"intermediate_size"`
		Loom             struct {
			TokenFormer struct {
				QKV int            `json:"qkv_slot_num"`
				Tau map[string]int `json:"tau"`
			} `json:"tokenformer"`
		} `json:"loom"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.IntermediateSize != 128 || cfg.Loom.TokenFormer.QKV != 32 || cfg.Loom.TokenFormer.Tau["qkv"] != 16 || cfg.Loom.TokenFormer.Tau["ffn"] != 64 {
		t.Errorf("grown config %s", b)
	}
	if code := sh("train", "--init", grown, "--config", spec, "--data", corpus, "--threads", "1", "--out", filepath.Join(dir, "run2")); code != 0 {
		t.Fatalf("train --init: %s %s", o.String(), e.String())
	}
	if code := sh("train", "--preset", "tiny", "--data", corpus, "--steps", "2", "--threads", "1", "--out", filepath.Join(dir, "llama")); code != 0 {
		t.Fatalf("train llama: %s", e.String())
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"grow", "--model", filepath.Join(dir, "llama"), "--slots", "4", "--out", filepath.Join(dir, "g2")}, "not a TokenFormer"},
		{[]string{"grow", "--model", grown, "--out", filepath.Join(dir, "g3")}, "--slots N or --factor F"},
		{[]string{"grow", "--model", grown, "--slots", "2", "--factor", "2", "--out", filepath.Join(dir, "g4")}, "not both"},
	} {
		if code := sh(tc.args...); code == 0 || !strings.Contains(e.String(), tc.want) {
			t.Errorf("%v: exit %d, %s", tc.args, code, e.String())
		}
		if _, err := os.Stat(tc.args[len(tc.args)-1]); err == nil {
			t.Errorf("%v left %s behind", tc.args, tc.args[len(tc.args)-1])
		}
	}
}
