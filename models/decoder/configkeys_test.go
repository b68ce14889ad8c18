package decoder

import (
	"strings"
	"testing"
)

// A config.json as transformers writes it for a Llama, with its
// bookkeeping and generation keys.
const transformersLlama = `{
  "_name_or_path": "meta-llama/Llama-3.2-1B",
  "architectures": ["LlamaForCausalLM"],
  "attention_bias": false,
  "attention_dropout": 0.0,
  "bos_token_id": 1,
  "eos_token_id": 2,
  "head_dim": 16,
  "hidden_act": "silu",
  "hidden_size": 64,
  "initializer_range": 0.02,
  "intermediate_size": 128,
  "max_position_embeddings": 256,
  "mlp_bias": false,
  "model_type": "llama",
  "num_attention_heads": 4,
  "num_hidden_layers": 2,
  "num_key_value_heads": 2,
  "pretraining_tp": 1,
  "rms_norm_eps": 1e-05,
  "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0, "original_max_position_embeddings": 128, "rope_type": "llama3"},
  "rope_theta": 500000.0,
  "tie_word_embeddings": true,
  "torch_dtype": "bfloat16",
  "transformers_version": "4.45.0.dev0",
  "use_cache": true,
  "vocab_size": 300
}`

func TestConfigKeys(t *testing.T) {
	if _, err := ParseConfig("config.json", []byte(transformersLlama)); err != nil {
		t.Fatalf("a transformers-written config: %v", err)
	}
	with := func(extra string) string { return strings.Replace(transformersLlama, "{\n", "{\n  "+extra+",\n", 1) }
	for _, c := range []struct{ name, json, want string }{
		{"quantized", with(`"quantization_config": {"quant_method": "gptq"}`), `config.json: "quantization_config": quantized weights`},
		{"softcap", with(`"final_logit_softcapping": 30.0`), `"final_logit_softcapping": final logit soft-capping (Gemma 2) is not implemented`},
		{"typo", with(`"rope_thetta": 1e6`), `"rope_thetta" is not a key loom knows; did you mean "rope_theta"?`},
		{"unknown", with(`"frobnication": 3`), `"frobnication" is not a key loom knows; want one of`},
		{"loom typo", with(`"loom": {"lyout": "macaron"}`), `loom.lyout is not a loom option; did you mean "layout"?`},
		{"loom type", with(`"loom": {"layout": 3}`), `cannot unmarshal number into Go struct field Options.loom.layout of type string`},
	} {
		_, err := ParseConfig("config.json", []byte(c.json))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want %q", c.name, err, c.want)
		}
	}
}

// transformers 5 writes rope_parameters in place of rope_theta and
// rope_scaling; they are read, not ignored.
func TestRopeParameters(t *testing.T) {
	js := strings.Replace(transformersLlama, `"rope_theta": 500000.0,`, `"rope_parameters": {"rope_type": "default", "rope_theta": 250000.0},`, 1)
	js = strings.Replace(js, `"rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0, "original_max_position_embeddings": 128, "rope_type": "llama3"},`, "", 1)
	c, err := ParseConfig("config.json", []byte(js))
	if err != nil || c.RopeTheta != 250000 || c.RopeScaling != nil {
		t.Fatalf("default rope_parameters: %+v, %v", c, err)
	}
	js = strings.Replace(js, `{"rope_type": "default", "rope_theta": 250000.0}`, `{"rope_type": "linear", "factor": 2.0, "rope_theta": 1e6}`, 1)
	c, err = ParseConfig("config.json", []byte(js))
	if err != nil || c.RopeTheta != 1e6 || c.RopeScaling == nil || c.RopeScaling.Kind() != "linear" || c.RopeScaling.Factor != 2 {
		t.Fatalf("linear rope_parameters: %+v, %v", c, err)
	}
}
