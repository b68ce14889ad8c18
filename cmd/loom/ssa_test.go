package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loomml/loom/train"
)

// TestSSAFlag: --ssa outside (0, 1] is a usage error naming the flag, for
// loom train and loom bench train; a valid ratio lands in the spec's
// loom.ssa, and loom bench train --config --ssa times subsampled steps and
// reports the share of attention pairs they computed.
func TestSSAFlag(t *testing.T) {
	for _, verb := range [][]string{{"train"}, {"bench", "train"}} {
		for _, bad := range []string{"0", "-0.25", "1.5", "NaN"} {
			var o, e bytes.Buffer
			args := append(append([]string{}, verb...), "--ssa", bad)
			if code := run(args, &o, &e); code == 0 || !strings.Contains(e.String(), "ssa") {
				t.Errorf("%v: exit %d, stderr %q; want a usage error naming --ssa", args, code, e.String())
			}
		}
	}
	var o, e bytes.Buffer
	if code := run([]string{"train", "--preset", train.DefaultPreset, "--ssa", "0.25", "--print-spec"}, &o, &e); code != 0 {
		t.Fatalf("train --print-spec: %s", e.String())
	}
	if !strings.Contains(o.String(), `"ssa": {`) || !strings.Contains(o.String(), `"ratio": 0.25`) {
		t.Fatalf("spec lacks loom.ssa.ratio 0.25:\n%s", o.String())
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.json")
	if err := os.WriteFile(cfg, []byte(`{"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2,
		"vocab_size": 64, "max_position_embeddings": 512, "rms_norm_eps": 1e-6, "hidden_act": "silu", "rope_theta": 10000}`), 0o644); err != nil {
		t.Fatal(err)
	}
	o.Reset()
	e.Reset()
	if code := run([]string{"bench", "train", "--config", cfg, "--batch", "1", "--seq", "512", "--steps", "1", "--ssa", "0.25", "--json"}, &o, &e); code != 0 {
		t.Fatalf("bench train --ssa: %s", e.String())
	}
	var res trainBench
	if err := json.Unmarshal(o.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	// 8 tiles of 64 with budgets 1,1,1,1,2,2,2,2: 33024 of 131328 causal pairs.
	if res.AttnShare <= 0.2 || res.AttnShare > 0.45 {
		t.Fatalf("ssa_attention_share %v, want 0.2515", res.AttnShare)
	}
}
