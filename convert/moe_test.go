package convert

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/loomml/loom/format/safetensors"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/decoder/decodertest"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/tokenizer"
)

// TestMoEHFRoundTrip: Mixtral and Qwen2-MoE models export as transformers
// names and configures them (block_sparse_moe … w1/w3/w2 for Mixtral,
// num_local_experts) and load back bit for bit, computing the same logits.
func TestMoEHFRoundTrip(t *testing.T) {
	f := false
	for _, tc := range []struct {
		name, class string
		cfg         *decoder.Config
		tensors     []string // checkpoint names that must be there
		keys        []string // config.json keys that must be there
	}{
		{"mixtral", "MixtralForCausalLM", decodertest.MixtralConfig(nil),
			[]string{"model.layers.1.block_sparse_moe.gate.weight", "model.layers.0.block_sparse_moe.experts.3.w1.weight",
				"model.layers.0.block_sparse_moe.experts.3.w3.weight", "model.layers.1.block_sparse_moe.experts.0.w2.weight"},
			[]string{"num_local_experts", "num_experts_per_tok", "router_aux_loss_coef"}},
		{"qwen2_moe", "Qwen2MoeForCausalLM", decodertest.TinyConfig(func(c *decoder.Config) {
			c.ModelType, c.NumExperts, c.NumExpertsPerTok, c.MoEIntermediateSize = "qwen2_moe", 4, 2, 24
			c.SharedExpertIntermediateSize, c.NormTopKProb, c.MLPOnlyLayers = 40, &f, []int{1}
		}),
			[]string{"model.layers.0.mlp.gate.weight", "model.layers.0.mlp.experts.2.up_proj.weight",
				"model.layers.0.mlp.shared_expert.down_proj.weight", "model.layers.0.mlp.shared_expert_gate.weight", "model.layers.1.mlp.gate_proj.weight"},
			[]string{"num_experts", "moe_intermediate_size", "shared_expert_intermediate_size", "norm_topk_prob", "decoder_sparse_step", "mlp_only_layers"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.VocabSize = 256 // the byte tokenizer's
			m, err := decoder.New(tc.cfg, 3)
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(t.TempDir(), "hf")
			if err := ExportHF(m, dir, tokenizer.Byte{}, tensor.Float32); err != nil {
				t.Fatal(err)
			}
			var cfg map[string]any
			b, _ := os.ReadFile(filepath.Join(dir, ConfigFile))
			json.Unmarshal(b, &cfg)
			if cfg["architectures"].([]any)[0] != tc.class {
				t.Errorf("architectures %v, want %s", cfg["architectures"], tc.class)
			}
			for _, k := range tc.keys {
				if _, ok := cfg[k]; !ok {
					t.Errorf("config.json has no %s:\n%s", k, b)
				}
			}
			sf, err := safetensors.Open(filepath.Join(dir, WeightsFile))
			if err != nil {
				t.Fatal(err)
			}
			names := sf.Names()
			sf.Close()
			for _, n := range tc.tensors {
				if !slices.Contains(names, n) {
					t.Errorf("no tensor %s in %v", n, names)
				}
			}
			back, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			want := decodertest.ParamValues(m)
			got := decodertest.ParamValues(back)
			if len(got) != len(want) {
				t.Fatalf("%d parameters back, want %d", len(got), len(want))
			}
			for name, w := range want {
				if !slices.Equal(got[name], w) {
					t.Fatalf("%s differs after the round trip", name)
				}
			}
			ids := decodertest.IDs(10, tc.cfg.VocabSize)
			decodertest.EqualLogits(t, "reloaded", decodertest.Logits(t, m, ids), decodertest.Logits(t, back, ids))
		})
	}
}
