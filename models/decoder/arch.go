package decoder

import (
	"cmp"
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
}

// architectures are the model types loom reads.
var architectures = map[string]arch{
	"llama":   {class: "LlamaForCausalLM", gguf: true},
	"mistral": {class: "MistralForCausalLM", gguf: true},
	"qwen2":   {class: "Qwen2ForCausalLM", qkvBias: true, qwenWindows: true},
	"qwen3":   {class: "Qwen3ForCausalLM", qkNorm: "rmsnorm", qwenWindows: true, defaultHeadDim: 128},
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
