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
