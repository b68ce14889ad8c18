package decoder

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/loomml/loom/internal/suggest"
)

// Keys of a config.json that loom does not read. A Hugging Face config.json
// carries many keys transformers writes for every model (generation
// defaults, labels, bookkeeping) that do not change what the model
// computes: those are tolerated. A key that would change the computation,
// or one loom has never heard of, is an error naming it, so a config is
// never half-honoured in silence. loom's own "loom" section is decoded
// strictly.

// hfTolerated are keys transformers' PretrainedConfig and the Llama,
// Mistral and Qwen2 configs write that leave a decoder's forward pass as
// loom computes it.
var hfTolerated = []string{
	// bookkeeping
	"_name_or_path", "_commit_hash", "_attn_implementation", "_attn_implementation_autoset",
	"transformers_version", "auto_map", "torchscript", "use_bfloat16", "tf_legacy_loss", "dtype",
	"return_dict", "output_hidden_states", "output_attentions", "use_cache", "pruned_heads",
	"chunk_size_feed_forward", "is_encoder_decoder", "is_decoder", "add_cross_attention",
	"cross_attention_hidden_size", "tie_encoder_decoder", "gradient_checkpointing", "tokenizer_class",
	"prefix", "task_specific_params", "problem_type", "finetuning_task", "id2label", "label2id",
	"num_labels", "pad_token_id", "sep_token_id", "decoder_start_token_id",
	// generation defaults (generate reads generation_config.json)
	"max_length", "min_length", "do_sample", "early_stopping", "num_beams", "num_beam_groups",
	"diversity_penalty", "temperature", "top_k", "top_p", "typical_p", "repetition_penalty",
	"length_penalty", "no_repeat_ngram_size", "encoder_no_repeat_ngram_size", "bad_words_ids",
	"num_return_sequences", "output_scores", "return_dict_in_generate", "forced_bos_token_id",
	"forced_eos_token_id", "remove_invalid_values", "exponential_decay_length_penalty",
	"suppress_tokens", "begin_suppress_tokens",
	// training-only regularisation (no effect at inference; loom's
	// training does not use it and says so in the model card)
	"attention_dropout",
	// split matmuls that compute the same product (Llama pretraining_tp)
	"pretraining_tp",
}

// hfUnsupported are keys known to change the computation in a way loom does
// not implement, with the reason.
var hfUnsupported = map[string]string{
	"quantization_config": "quantized weights (GPTQ, AWQ, bitsandbytes, …) are not read; load a float checkpoint or a GGUF",
	"num_local_experts":   "mixture-of-experts layers are model_type mixtral (or qwen2_moe)",
	"qk_layernorm":        "query/key normalisation is not implemented",
	"use_qk_norm":         "query/key normalisation is not implemented",
	"rope_interleaved":    "interleaved rotary embeddings are not implemented",
}

// checkKeys refuses keys of a config.json that loom would otherwise ignore
// although they change the computation, and unknown keys in the "loom"
// section.
func checkKeys(data []byte, archKeys []string) error {
	known := suggest.JSONKeys(&Config{})
	unknown, err := suggest.UnknownKeys(data, slices.Concat(known, hfTolerated, archKeys))
	if err != nil {
		return err
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return err
	}
	var errs []error
	for _, k := range unknown {
		if k == "rope_parameters" {
			continue // read by readRopeParameters
		}
		if why, ok := hfUnsupported[k]; ok {
			if bytes.Equal(bytes.TrimSpace(top[k]), []byte("null")) {
				continue // the feature is off (Gemma 3's soft-capping: null)
			}
			errs = append(errs, fmt.Errorf("%q: %s", k, why))
			continue
		}
		errs = append(errs, fmt.Errorf("%q is not a key loom knows%s; if it changes the computation loom cannot honour it, and if it does not, remove it", k, suggest.DidYouMean(k, known)))
	}
	if raw, ok := top["loom"]; ok && !bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		var o Options
		if err := dec.Decode(&o); err != nil {
			if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
				name = strings.Trim(name, `"`)
				errs = append(errs, fmt.Errorf("loom.%s is not a loom option%s", name, suggest.DidYouMean(name, suggest.JSONKeys(&Options{}))))
			} else {
				errs = append(errs, fmt.Errorf("loom: %w", err))
			}
		}
	}
	return errors.Join(errs...)
}

// allowedKeys are the architecture's own keys ParseConfig accepts beyond
// Config's and hfTolerated: those it tolerates and those it requires at
// one value (checked by checkArchKeys).
func (a arch) allowedKeys() []string {
	out := slices.Clone(a.tolerated)
	for k := range a.requires {
		out = append(out, k)
	}
	return out
}

// readRopeParameters reads transformers 5's rope_parameters, which replaces
// rope_theta and rope_scaling: {"rope_type": "default", "rope_theta": …}
// or a scaling type with its fields.
func (c *Config) readRopeParameters(data []byte) error {
	var top struct {
		P *struct {
			RopeTheta float64 `json:"rope_theta"`
			RopeScaling
		} `json:"rope_parameters"`
	}
	if err := json.Unmarshal(data, &top); err != nil || top.P == nil {
		return err
	}
	p := top.P
	if p.RopeTheta > 0 {
		c.RopeTheta = p.RopeTheta
	}
	if k := p.Kind(); k != "" && k != "default" {
		r := p.RopeScaling
		c.RopeScaling = &r
	}
	return nil
}
