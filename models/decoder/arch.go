package decoder

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// An arch is what a Hugging Face model_type fixes beyond the fields of
// LlamaConfig: its class name, and the choices its modeling code makes
// that the config does not spell out. Each architecture is one entry of
// architectures; the shared code asks the entry, never the model_type.
type arch struct {
	// class is the architectures entry transformers writes
	// ("LlamaForCausalLM").
	class string
	// qkvBias: q, k and v always have biases, o never (Qwen2Attention).
	qkvBias bool
	// qkNorm names the norm applied to each query and key head before the
	// rotary embedding ("rmsnorm": Qwen3Attention's q_norm and k_norm).
	qkNorm string
	// qwenWindows: sliding windows only with use_sliding_window, in layers
	// i ≥ max_window_layers (Qwen2Config, Qwen3Config layer_types).
	qwenWindows bool
	// defaultHeadDim is the config class's head_dim when config.json has
	// none (Qwen3Config: 128); 0: hidden_size/num_attention_heads.
	defaultHeadDim int
	// gguf: the model exports to llama.cpp's llama architecture.
	gguf bool
	// keys renames the config class's own keys to Config's (GPT2Config's
	// n_embd is hidden_size); ParseConfig reads them under Config's names
	// and JSON writes them back under the class's, and only those: a
	// config with keys set writes no Llama key it has not renamed.
	keys [][2]string
	// implied are the loom options the architecture fixes (GPT-2's
	// LayerNorm with biases, learned positions, two-layer MLP): a config
	// of this type gets them, and they export to Hugging Face.
	implied Options
	// requires are keys of the class that loom reads only at one value,
	// with that value as JSON; any other is refused naming the key.
	requires map[string]string
	// tolerated are the class's keys that leave inference unchanged
	// (dropout probabilities, heads loom does not build).
	tolerated []string
	// defaults sets what the class fixes or defaults when config.json
	// (keys present, by the class's names) leaves it out.
	defaults func(c *Config, present map[string]bool)
	// aliases rename some of the class's keys to Config's, the others
	// keeping their names (Gemma's hidden_activation is hidden_act).
	aliases [][2]string
	// slidingPattern: the class reads sliding_window_pattern (Gemma 3).
	slidingPattern bool
	// softcap: the class reads attn_logit_softcapping and
	// final_logit_softcapping (Gemma 2).
	softcap bool
	// embedScale multiplies the embeddings by √hidden_size, rounded to
	// float32 (Gemma3TextScaledWordEmbedding's embed_scale).
	embedScale bool
	// longrope and partialRotary: the class reads rope_scaling "longrope"
	// and partial_rotary_factor (Phi3's rotary embedding).
	longrope, partialRotary bool
	// moe: the class's feed-forward layers are mixtures of experts
	// (moe.go).
	moe bool
	// validate checks what the class cannot express (nil: nothing).
	validate func(c *Config) error
}

// architectures are the model types loom reads.
var architectures = map[string]arch{
	"llama":   {class: "LlamaForCausalLM", gguf: true},
	"mistral": {class: "MistralForCausalLM", gguf: true},
	"qwen2":   {class: "Qwen2ForCausalLM", qkvBias: true, qwenWindows: true},
	"qwen3":   {class: "Qwen3ForCausalLM", qkNorm: "rmsnorm", qwenWindows: true, defaultHeadDim: 128},
}

func init() {
	// Here rather than in the literal: their validate funcs read configs
	// through methods that look the table up.
	architectures["phi3"], architectures["gpt2"], architectures["gemma3_text"], architectures["gemma2"] = phi3, gpt2, gemma3, gemma2
}

// gemma2 is Gemma2ForCausalLM (transformers' modeling_gemma2.py): Gemma
// 3's block without q/k norms and with one rotary base, attention scores
// soft-capped (attn_logit_softcapping, 50) and logits soft-capped
// (final_logit_softcapping, 30), sliding-window layers alternating with
// global ones (layer_types, by default every even layer sliding).
var gemma2 = arch{class: "Gemma2ForCausalLM", softcap: true, embedScale: true,
	defaultHeadDim: 256,
	aliases:        [][2]string{{"hidden_activation", "hidden_act"}},
	implied:        Options{Norm: "gemma_rmsnorm", Layout: "prepost"},
	tolerated:      []string{"cache_implementation"},
	defaults: func(c *Config, present map[string]bool) {
		if !present["tie_word_embeddings"] {
			c.TieWordEmbeddings = true
		}
		if !present["hidden_activation"] {
			c.HiddenAct = "gelu_pytorch_tanh"
		}
		if !present["query_pre_attn_scalar"] {
			c.QueryPreAttnScalar = 256
		}
		if !present["layer_types"] { // Gemma2Config: (i+1) % 2 sliding
			c.LayerTypes = make([]string, c.NumHiddenLayers)
			for i := range c.LayerTypes {
				c.LayerTypes[i] = map[bool]string{true: "sliding_attention", false: "full_attention"}[(i+1)%2 != 0]
			}
		}
		if !present["sliding_window"] {
			w := 4096
			c.SlidingWindow = &w
		}
		for _, f := range []struct {
			key string
			v   **float64
			def float64
		}{{"attn_logit_softcapping", &c.AttnLogitSoftcapping, 50}, {"final_logit_softcapping", &c.FinalLogitSoftcapping, 30}} {
			if !present[f.key] {
				d := f.def
				*f.v = &d
			}
		}
	},
}

// gemma3 is Gemma3ForCausalLM (transformers' modeling_gemma3.py, the text
// model): embeddings times √hidden_size, Gemma's (1+w) RMSNorm
// everywhere, a norm after attention and after the MLP as well as before
// each (the "prepost" layout), q and k normed per head, scores scaled by
// query_pre_attn_scalar^-0.5, sliding-window layers with their own rotary
// base (rope_local_base_freq, no scaling) between the global ones, a GeGLU
// MLP (hidden_activation gelu_pytorch_tanh), the head tied.
var gemma3 = arch{class: "Gemma3ForCausalLM", qkNorm: "gemma_rmsnorm", slidingPattern: true, embedScale: true,
	defaultHeadDim: 256,
	aliases:        [][2]string{{"hidden_activation", "hidden_act"}},
	implied:        Options{Norm: "gemma_rmsnorm", Layout: "prepost"},
	// Soft-capping (null in Gemma 3's configs) is refused when set: see
	// hfUnsupported.
	tolerated: []string{"cache_implementation"},
	// EmbeddingGemma's bidirectional attention is not a causal LM.
	requires: map[string]string{"use_bidirectional_attention": "false"},
	defaults: func(c *Config, present map[string]bool) {
		if !present["tie_word_embeddings"] {
			c.TieWordEmbeddings = true
		}
		if !present["hidden_activation"] {
			c.HiddenAct = "gelu_pytorch_tanh"
		}
		if !present["rope_theta"] {
			c.RopeTheta = 1e6
		}
		if !present["rope_local_base_freq"] {
			c.RopeLocalBaseFreq = 10000
		}
		if !present["query_pre_attn_scalar"] {
			c.QueryPreAttnScalar = 256
		}
		if !present["sliding_window_pattern"] && !present["layer_types"] {
			c.SlidingWindowPattern = 6
		}
		if !present["sliding_window"] {
			w := 4096
			c.SlidingWindow = &w
		}
	},
}

// phi3 is Phi3ForCausalLM (transformers' modeling_phi3.py): Llama's
// computation with q, k and v fused in one qkv_proj and gate and up in one
// gate_up_proj (the checkpoint layout, which convert splits and fuses),
// sliding_window on every layer when set, no biases.
var phi3 = arch{class: "Phi3ForCausalLM", longrope: true, partialRotary: true,
	tolerated: []string{"embd_pdrop", "resid_pdrop"},
	defaults: func(c *Config, present map[string]bool) {
		if !present["rms_norm_eps"] {
			c.RMSNormEps = 1e-5 // Phi3Config
		}
	},
	validate: func(c *Config) error {
		if c.AttentionBias || c.MLPBias {
			return fmt.Errorf("attention_bias/mlp_bias: Phi-3 has no biases")
		}
		return nil
	},
}

// gpt2 is GPT2LMHeadModel (transformers' modeling_gpt2.py): learned
// positions, LayerNorm with biases, tanh-approximate GELU MLP, biases on
// every projection, the head tied to the embedding. Its Conv1D weights
// and fused c_attn are the checkpoint layout, which convert transposes,
// splits and fuses.
var gpt2 = arch{class: "GPT2LMHeadModel",
	keys: [][2]string{{"n_embd", "hidden_size"}, {"n_inner", "intermediate_size"}, {"n_layer", "num_hidden_layers"},
		{"n_head", "num_attention_heads"}, {"n_positions", "max_position_embeddings"}, {"activation_function", "hidden_act"},
		{"layer_norm_epsilon", "rms_norm_eps"}, {"vocab_size", "vocab_size"}, {"initializer_range", "initializer_range"},
		{"bos_token_id", "bos_token_id"}, {"eos_token_id", "eos_token_id"}, {"tie_word_embeddings", "tie_word_embeddings"},
		{"architectures", "architectures"}, {"model_type", "model_type"}, {"torch_dtype", "torch_dtype"}, {"loom", "loom"}},
	implied: Options{Norm: "layernorm", NormBias: true, Positions: "learned", FFN: "mlp"},
	// scale_attn_weights false drops the 1/√head_dim; the layer-index
	// scaling divides by the layer number: neither is implemented.
	requires: map[string]string{"scale_attn_weights": "true", "scale_attn_by_inverse_layer_idx": "false"},
	tolerated: []string{"n_ctx", "resid_pdrop", "embd_pdrop", "attn_pdrop", "summary_type", "summary_use_proj",
		"summary_activation", "summary_proj_to_labels", "summary_first_dropout",
		// upcasting changes only fp16/bf16 rounding; loom computes in float32
		"reorder_and_upcast_attn"},
	defaults: func(c *Config, present map[string]bool) {
		c.AttentionBias, c.MLPBias = true, true
		if !present["tie_word_embeddings"] {
			c.TieWordEmbeddings = true // GPT2Config
		}
		if !present["activation_function"] {
			c.HiddenAct = "gelu_new"
		}
		if !present["layer_norm_epsilon"] {
			c.RMSNormEps = 1e-5
		}
		if c.IntermediateSize == 0 { // n_inner absent or null: 4·n_embd
			c.IntermediateSize = 4 * c.HiddenSize
		}
	},
	validate: func(c *Config) error {
		switch {
		case c.KVHeads() != c.NumAttentionHeads || c.HeadDimOrDefault()*c.NumAttentionHeads != c.HiddenSize:
			return fmt.Errorf("num_key_value_heads/head_dim: GPT-2 has n_head heads of n_embd/n_head values")
		case !c.AttentionBias || !c.MLPBias:
			return fmt.Errorf("attention_bias/mlp_bias: GPT-2 has biases on every projection")
		case c.RopeScaling != nil || c.Window() > 0:
			return fmt.Errorf("rope_scaling/sliding_window: GPT-2 has neither")
		}
		return nil
	},
}

// renameIn rewrites the class's keys of config.json data to Config's.
func (a arch) renameIn(name string, data []byte) ([]byte, error) {
	if a.keys == nil && a.aliases == nil {
		return data, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	out := map[string]json.RawMessage{}
	for k, v := range m {
		out[k] = v
	}
	for _, kv := range slices.Concat(a.keys, a.aliases) {
		if kv[0] == kv[1] {
			continue
		}
		if _, ok := m[kv[1]]; ok {
			return nil, fmt.Errorf("%q is not a key of %s (its name there is %q)", kv[1], a.class, kv[0])
		}
		if v, ok := m[kv[0]]; ok {
			delete(out, kv[0])
			if !bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
				out[kv[1]] = v
			}
		}
	}
	return json.Marshal(out)
}

// checkArchKeys refuses the class's keys that must hold one value and hold
// another.
func (a arch) checkArchKeys(keys map[string]json.RawMessage) error {
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range a.requires {
			if !yield(k) {
				return
			}
		}
	}) {
		raw, ok := keys[k]
		if !ok {
			continue
		}
		var have, want any
		json.Unmarshal(raw, &have)
		json.Unmarshal([]byte(a.requires[k]), &want)
		if have != want {
			return fmt.Errorf("%q is %s; loom implements %s only with %s", k, bytes.TrimSpace(raw), a.class, a.requires[k])
		}
	}
	return nil
}

// jsonOut writes config as the class's config.json: Config's keys renamed
// to the class's, and only those (for a class with keys).
func (a arch) jsonOut(b []byte) []byte {
	if a.keys == nil && a.aliases == nil {
		return b
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return b
	}
	if a.keys == nil { // aliases only: rename them, keep the rest
		for _, kv := range a.aliases {
			if v, ok := m[kv[1]]; ok {
				delete(m, kv[1])
				m[kv[0]] = v
			}
		}
		r, _ := json.MarshalIndent(m, "", "  ")
		return r
	}
	out := map[string]json.RawMessage{}
	for _, kv := range a.keys {
		if v, ok := m[kv[1]]; ok {
			out[kv[0]] = v
		}
	}
	for k, v := range a.requires {
		out[k] = json.RawMessage(v)
	}
	r, _ := json.MarshalIndent(out, "", "  ")
	return r
}

// applyImplied sets the architecture's implied loom options where c leaves
// them unset, and refuses one set otherwise.
func (a arch) applyImplied(c *Config) error {
	o, im := &c.Loom, a.implied
	for _, f := range []struct {
		key  string
		have *string
		want string
	}{{"loom.norm", &o.Norm, im.Norm}, {"loom.positions", &o.Positions, im.Positions}, {"loom.ffn", &o.FFN, im.FFN}, {"loom.layout", &o.Layout, im.Layout}} {
		if f.want == "" {
			continue
		}
		if *f.have != "" && *f.have != f.want {
			return fmt.Errorf("%s is %q; model_type %s fixes it to %q", f.key, *f.have, c.ModelType, f.want)
		}
		*f.have = f.want
	}
	o.NormBias = o.NormBias || im.NormBias
	return nil
}

// Architecture returns the Hugging Face class of a model_type ("" is
// llama's), or "" for a type loom does not read.
func Architecture(modelType string) string { return architectures[cmp.Or(modelType, "llama")].class }

// arch returns c's architecture (the zero arch for an unknown type, which
// Validate refuses).
func (c *Config) arch() arch { return architectures[cmp.Or(c.ModelType, "llama")] }

// ModelTypes lists the model types loom reads.
func ModelTypes() []string {
	return slices.Sorted(func(yield func(string) bool) {
		for k := range architectures {
			if !yield(k) {
				return
			}
		}
	})
}

// classes lists the Hugging Face classes loom reads, for errors.
func classes() string {
	var out []string
	for _, t := range ModelTypes() {
		out = append(out, architectures[t].class)
	}
	return strings.Join(out, ", ")
}

// QKNorm returns the norm applied per head to queries and keys before the
// rotary embedding ("" when there is none).
func (c *Config) QKNorm() string { return c.arch().qkNorm }

// checkImplied refuses a config whose loom options differ from those its
// model_type fixes (a config built in Go rather than read by ParseConfig,
// which sets them).
func (a arch) checkImplied(c *Config) error {
	d := *c
	if err := a.applyImplied(&d); err != nil {
		return err
	}
	if d.Loom.Norm != c.Loom.Norm || d.Loom.Positions != c.Loom.Positions || d.Loom.FFN != c.Loom.FFN || d.Loom.NormBias != c.Loom.NormBias || d.Loom.Layout != c.Loom.Layout {
		return fmt.Errorf("model_type %s needs loom.norm %q, loom.norm_bias %v, loom.positions %q, loom.ffn %q and loom.layout %q",
			c.ModelType, d.Loom.Norm, d.Loom.NormBias, d.Loom.Positions, d.Loom.FFN, d.Loom.Layout)
	}
	return nil
}
