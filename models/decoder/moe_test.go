package decoder_test

import (
	"strings"
	"testing"

	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/decoder/decodertest"
	"github.com/loomml/loom/nn"
)

// TestMoEDecoder: Mixtral and Qwen2-MoE configs build mixtures in their
// sparse layers under Qwen2-MoE's names, and decode with a cache as they
// compute in full.
func TestMoEDecoder(t *testing.T) {
	f := false
	for _, tc := range []struct {
		name  string
		cfg   *decoder.Config
		names []string // parameter names that must exist
		dense []string // and must not
	}{
		{"mixtral", decodertest.MixtralConfig(nil),
			[]string{"model.layers.1.mlp.gate.weight", "model.layers.0.mlp.experts.3.down_proj.weight"},
			[]string{"model.layers.0.mlp.gate_proj.weight", "model.layers.0.mlp.shared_expert.up_proj.weight"}},
		{"qwen2_moe", decodertest.TinyConfig(func(c *decoder.Config) {
			c.ModelType, c.NumExperts, c.NumExpertsPerTok, c.MoEIntermediateSize = "qwen2_moe", 4, 2, 24
			c.SharedExpertIntermediateSize, c.NormTopKProb, c.MLPOnlyLayers, c.DecoderSparseStep = 40, &f, []int{1}, 1
		}),
			[]string{"model.layers.0.mlp.experts.0.gate_proj.weight", "model.layers.0.mlp.shared_expert.up_proj.weight",
				"model.layers.0.mlp.shared_expert_gate.weight", "model.layers.1.mlp.gate_proj.weight"},
			[]string{"model.layers.1.mlp.gate.weight", "model.layers.0.mlp.gate_proj.weight"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := decoder.New(tc.cfg, 1)
			if err != nil {
				t.Fatal(err)
			}
			byName, err := nn.ParamMap(m.Params())
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range tc.names {
				if byName[n] == nil {
					t.Errorf("no parameter %s", n)
				}
			}
			for _, n := range tc.dense {
				if byName[n] != nil {
					t.Errorf("unexpected parameter %s", n)
				}
			}
			if w := byName["model.layers.0.mlp.experts.1.up_proj.weight"]; w.Dim(0) != tc.cfg.ExpertSize() {
				t.Errorf("expert width %d, want %d", w.Dim(0), tc.cfg.ExpertSize())
			}
			decodertest.CachedMatchesFull(t, m, decodertest.IDs(12, tc.cfg.VocabSize), 1e-5)
			// The JSON reads back as the same config.
			back, err := decoder.ParseConfig("config.json", tc.cfg.JSON())
			if err != nil {
				t.Fatal(err)
			}
			if string(back.JSON()) != string(tc.cfg.JSON()) {
				t.Errorf("config round trip:\n%s\nvs\n%s", back.JSON(), tc.cfg.JSON())
			}
		})
	}
}

// TestMoEConfigErrors: bad mixture settings are errors naming the key.
func TestMoEConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		json, want string
	}{
		{`"model_type": "mixtral", "num_local_experts": 4, "num_experts_per_tok": 5`, "num_experts_per_tok is 5 with 4 experts"},
		{`"model_type": "mixtral", "num_local_experts": 0`, "num_experts is 0"},
		{`"model_type": "mixtral", "num_experts": 4`, `"num_experts" is not a key of MixtralForCausalLM (its name there is "num_local_experts")`},
		{`"model_type": "mixtral", "shared_expert_intermediate_size": 8`, `"shared_expert_intermediate_size" is not a key of MixtralForCausalLM`},
		{`"model_type": "mixtral", "loom": {"moe": {"router": "hash"}}`, `loom.moe.router is "hash"`},
		{`"model_type": "llama", "num_experts_per_tok": 2`, "num_experts_per_tok: mixture-of-experts layers are model_type mixtral or qwen2_moe, not llama"},
		{`"model_type": "llama", "num_local_experts": 8`, "model_type mixtral"},
		{`"model_type": "mixtral", "loom": {"moe": {"capacity_factor": -1}}`, "loom.moe.capacity_factor is -1"},
		{`"model_type": "qwen2_moe", "mlp_only_layers": [5]`, "mlp_only_layers lists layer 5 of 2"},
		{`"model_type": "mixtral", "loom": {"ffn": "moe"}`, `loom.ffn is "moe"`},
	} {
		js := `{"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 20, "max_position_embeddings": 32, ` + tc.json + `}`
		_, err := decoder.ParseConfig("config.json", []byte(js))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.json, err, tc.want)
		}
	}
}
