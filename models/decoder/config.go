package decoder

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/loomml/loom/internal/fsutil"
)

// Config is a Hugging Face config.json for LlamaForCausalLM (or the class
// of model_type, arch.go: Mistral, Qwen2, Qwen3, Phi-3, GPT-2, Gemma 2,
// Gemma 3 text; GPT-2's and Gemma's own key names are read under Llama's), with loom's own options under
// the "loom" key.
type Config struct {
	Architectures         []string `json:"architectures"`
	ModelType             string   `json:"model_type"`
	HiddenSize            int      `json:"hidden_size"`
	IntermediateSize      int      `json:"intermediate_size"`
	NumHiddenLayers       int      `json:"num_hidden_layers"`
	NumAttentionHeads     int      `json:"num_attention_heads"`
	NumKeyValueHeads      int      `json:"num_key_value_heads"`
	HeadDim               int      `json:"head_dim,omitempty"`
	HiddenAct             string   `json:"hidden_act"`
	RMSNormEps            float64  `json:"rms_norm_eps"`
	RopeTheta             float64  `json:"rope_theta"`
	VocabSize             int      `json:"vocab_size"`
	MaxPositionEmbeddings int      `json:"max_position_embeddings"`
	TieWordEmbeddings     bool     `json:"tie_word_embeddings"`
	AttentionBias         bool     `json:"attention_bias"`
	MLPBias               bool     `json:"mlp_bias"`
	InitializerRange      float64  `json:"initializer_range"`
	BOSTokenID            TokenIDs `json:"bos_token_id"`
	EOSTokenID            TokenIDs `json:"eos_token_id"`
	TorchDtype            string   `json:"torch_dtype,omitempty"`
	// RopeScaling extends RoPE to longer contexts (nil: none).
	RopeScaling *RopeScaling `json:"rope_scaling,omitempty"`
	// SlidingWindow limits attention to the last SlidingWindow positions
	// (Mistral; Qwen2 when UseSlidingWindow). Nil or 0: no limit.
	SlidingWindow    *int  `json:"sliding_window,omitempty"`
	UseSlidingWindow *bool `json:"use_sliding_window,omitempty"`
	MaxWindowLayers  *int  `json:"max_window_layers,omitempty"`
	// LayerTypes, when present (newer transformers), says per layer
	// "sliding_attention" or "full_attention".
	LayerTypes []string `json:"layer_types,omitempty"`
	// PartialRotaryFactor rotates only that fraction of each head
	// (Phi-3's config; 0 or 1: all of it).
	PartialRotaryFactor float64 `json:"partial_rotary_factor,omitempty"`
	// OriginalMaxPositionEmbeddings is the pretraining context of a
	// context-extended model (Phi-3 with "longrope").
	OriginalMaxPositionEmbeddings int `json:"original_max_position_embeddings,omitempty"`
	// QueryPreAttnScalar, when set, makes the score scale
	// query_pre_attn_scalar^-0.5 in place of head_dim^-0.5 (Gemma).
	QueryPreAttnScalar float64 `json:"query_pre_attn_scalar,omitempty"`
	// RopeLocalBaseFreq is the rotary base of the sliding-window layers,
	// which take no rope_scaling (Gemma 3; 0: rope_theta everywhere).
	RopeLocalBaseFreq float64 `json:"rope_local_base_freq,omitempty"`
	// SlidingWindowPattern makes layer i a sliding-window layer unless
	// (i+1) is a multiple of it (Gemma 3's older configs; layer_types
	// wins when present).
	SlidingWindowPattern int `json:"sliding_window_pattern,omitempty"`
	// AttnLogitSoftcapping and FinalLogitSoftcapping cap attention scores
	// and output logits as c·tanh(x/c) (Gemma 2; nil: none).
	AttnLogitSoftcapping  *float64 `json:"attn_logit_softcapping,omitempty"`
	FinalLogitSoftcapping *float64 `json:"final_logit_softcapping,omitempty"`
	MoEFields
	Loom Options `json:"loom,omitzero"`
}

// RopeScaling is transformers' rope_scaling: "linear" divides the
// frequencies by Factor, "llama3" rescales them by wavelength (Llama 3.1).
type RopeScaling struct {
	RopeType                      string  `json:"rope_type,omitempty"`
	Type                          string  `json:"type,omitempty"` // older spelling of rope_type
	Factor                        float64 `json:"factor"`
	LowFreqFactor                 float64 `json:"low_freq_factor,omitempty"`
	HighFreqFactor                float64 `json:"high_freq_factor,omitempty"`
	OriginalMaxPositionEmbeddings int     `json:"original_max_position_embeddings,omitempty"`
	// LongFactor and ShortFactor divide the frequencies of "longrope"
	// (Phi-3): the long ones for sequences longer than the original
	// context, the short ones otherwise.
	LongFactor  []float64 `json:"long_factor,omitempty"`
	ShortFactor []float64 `json:"short_factor,omitempty"`
	// AttentionFactor scales cos and sin ("longrope"; nil: from the
	// context extension, as transformers computes it).
	AttentionFactor *float64 `json:"attention_factor,omitempty"`
}

// Kind returns the scaling type.
func (r *RopeScaling) Kind() string {
	if r.RopeType != "" {
		return r.RopeType
	}
	return r.Type
}

// TokenIDs is a token id field that transformers writes as a number or a
// list of numbers (several end-of-sequence tokens).
type TokenIDs []int

// UnmarshalJSON accepts null, a number or a list of numbers.
func (t *TokenIDs) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" {
		*t = nil
		return nil
	}
	if strings.HasPrefix(s, "[") {
		var ids []int
		if err := json.Unmarshal(b, &ids); err != nil {
			return err
		}
		*t = ids
		return nil
	}
	var id int
	if err := json.Unmarshal(b, &id); err != nil {
		return fmt.Errorf("want a token id or a list of them, have %s", s)
	}
	*t = TokenIDs{id}
	return nil
}

// MarshalJSON writes one id as a number, several as a list, none as null.
func (t TokenIDs) MarshalJSON() ([]byte, error) {
	switch len(t) {
	case 0:
		return []byte("null"), nil
	case 1:
		return json.Marshal(t[0])
	}
	return json.Marshal([]int(t))
}

// Window returns the largest attention window any layer uses (0: none).
func (c *Config) Window() int {
	w := 0
	for i := range max(c.NumHiddenLayers, 1) {
		w = max(w, c.WindowAt(i))
	}
	return w
}

// WindowAt returns the attention window of layer i (0: none): Mistral's
// sliding_window in every layer; Qwen2's only when use_sliding_window and
// only in layers i ≥ max_window_layers (default 28), as transformers'
// Qwen2Config.layer_types has it.
func (c *Config) WindowAt(i int) int {
	if c.SlidingWindow == nil || *c.SlidingWindow <= 0 {
		return 0
	}
	if len(c.LayerTypes) > 0 || c.arch().slidingPattern {
		if c.Sliding(i) {
			return *c.SlidingWindow
		}
		return 0
	}
	if c.arch().qwenWindows {
		if c.UseSlidingWindow == nil || !*c.UseSlidingWindow {
			return 0
		}
		mwl := 28
		if c.MaxWindowLayers != nil {
			mwl = *c.MaxWindowLayers
		}
		if i < mwl {
			return 0
		}
	}
	return *c.SlidingWindow
}

// Sliding reports whether layer i is a "sliding_attention" layer by
// layer_types, or else by sliding_window_pattern (Gemma3TextConfig:
// (i+1) % pattern != 0) for a type that reads it.
func (c *Config) Sliding(i int) bool {
	if len(c.LayerTypes) > 0 {
		return i < len(c.LayerTypes) && c.LayerTypes[i] == "sliding_attention"
	}
	if p := c.SlidingWindowPattern; c.arch().slidingPattern && p > 0 {
		return (i+1)%p != 0
	}
	return false
}

// QKVBias reports whether q, k and v have biases (always in Qwen2).
func (c *Config) QKVBias() bool { return c.AttentionBias || c.arch().qkvBias }

// Options are loom's choices that Hugging Face's Llama cannot express (or
// expresses differently). The zero value of each field is Llama's choice.
type Options struct {
	Norm      string `json:"norm,omitempty"`      // "rmsnorm" (Llama) or "layernorm"
	NormBias  bool   `json:"norm_bias,omitempty"` // LayerNorm with an additive bias
	Positions string `json:"positions,omitempty"` // "rope" (Llama) or "learned" (GPT-2)
	FFN       string `json:"ffn,omitempty"`       // "gated" (Llama's SwiGLU) or "mlp" (GPT-2)
	Layout    string `json:"layout,omitempty"`    // block layout: "prenorm"
	Attention string `json:"attention,omitempty"` // token mixer: "mha"
	Tokenizer string `json:"tokenizer,omitempty"` // tokenizer name, e.g. "byte"
	// Removed lists pruned sublayers (sublayers.go); nil: none.
	Removed *Removed `json:"removed,omitempty"`
	// IntermediateSizes, when set, gives each layer its own FFN width in
	// place of intermediate_size (a Mix'n'Match extraction, matformer.go).
	IntermediateSizes []int `json:"intermediate_sizes,omitempty"`
	// AttentionHeads, when set, gives each layer its own number of
	// attention heads (and as many key/value heads) in place of
	// num_attention_heads: what structured head pruning leaves (heads.go).
	AttentionHeads []int `json:"attention_heads,omitempty"`
	// MatFormer makes every FFN nested and trains all its granularities
	// (matformer.go); nil: an ordinary model.
	MatFormer *MatFormer `json:"matformer,omitempty"`
	// PHM builds attention and/or FFN projections as PHM layers (phm.go).
	PHM *PHMOptions `json:"phm,omitempty"`
	// Param is the parametrisation: "sp" (standard, the default) or "mup"
	// (mup.go), with BaseWidth the width whose hyperparameters transfer
	// and the zero-initialisation options.
	Param          string `json:"param,omitempty"`
	BaseWidth      int    `json:"base_width,omitempty"`
	MuPZeroQuery   bool   `json:"mup_zero_query,omitempty"`
	MuPZeroReadout bool   `json:"mup_zero_readout,omitempty"`
	// Share shares attention and FFN weights across layers (share.go:
	// "attention+ffn", WideNet; "all", ALBERT); "": none.
	Share string `json:"share,omitempty"`
	// MoE sets how a mixture of experts trains (moe.go; nil: dropless,
	// no router noise, no z-loss).
	MoE *MoEOptions `json:"moe,omitempty"`
	// Precision is the arithmetic of training's matrix products: "fp32"
	// (the default) or "bf16" (operands rounded to bfloat16, float32 sums
	// and master weights; autograd.SetPrecision). It does not change what
	// the model computes at inference.
	Precision string `json:"precision,omitempty"`
	// TokenFormer makes every projection a Pattention (tokenformer.go);
	// nil: Linear layers.
	TokenFormer *TokenFormerOptions `json:"tokenformer,omitempty"`
	// SSA subsamples attention in training (ssa.go, arXiv 2306.01705);
	// nil: dense.
	SSA *SSAOptions `json:"ssa,omitempty"`
}

// Default values of the options.
const (
	DefaultNorm      = "rmsnorm"
	DefaultPositions = "rope"
	DefaultFFN       = "gated"
	DefaultLayout    = "prenorm"
	DefaultAttention = "mha"
)

// NormName returns the norm in use.
func (c *Config) NormName() string {
	return cmp.Or(c.Loom.Norm, c.Loom.TokenFormer.implied().Norm, DefaultNorm)
}

// PositionsName returns the position encoding in use.
func (c *Config) PositionsName() string { return cmp.Or(c.Loom.Positions, DefaultPositions) }

// FFNName returns the feed-forward network in use.
func (c *Config) FFNName() string {
	return cmp.Or(c.Loom.FFN, c.Loom.TokenFormer.implied().FFN, DefaultFFN)
}

// AttentionName returns the attention in use.
func (c *Config) AttentionName() string {
	return cmp.Or(c.Loom.Attention, c.Loom.TokenFormer.implied().Attention, DefaultAttention)
}

// LayoutName returns the block layout in use.
func (c *Config) LayoutName() string { return cmp.Or(c.Loom.Layout, DefaultLayout) }

// IntermediateSizeAt returns layer i's FFN width.
func (c *Config) IntermediateSizeAt(i int) int {
	if i < len(c.Loom.IntermediateSizes) {
		return c.Loom.IntermediateSizes[i]
	}
	return c.IntermediateSize
}

// RotaryDim returns the number of rotated values of each head:
// int(head_dim·partial_rotary_factor), as transformers computes it.
func (c *Config) RotaryDim() int {
	if f := c.PartialRotaryFactor; f != 0 && f != 1 {
		return int(float64(c.HeadDimOrDefault()) * f)
	}
	return c.HeadDimOrDefault()
}

// HeadDimOrDefault returns head_dim, or hidden_size/num_attention_heads when
// it is unset, as transformers does.
func (c *Config) HeadDimOrDefault() int {
	if c.HeadDim > 0 {
		return c.HeadDim
	}
	if c.NumAttentionHeads > 0 {
		return c.HiddenSize / c.NumAttentionHeads
	}
	return 0
}

// KVHeads returns num_key_value_heads, defaulting to num_attention_heads.
func (c *Config) KVHeads() int {
	if c.NumKeyValueHeads > 0 {
		return c.NumKeyValueHeads
	}
	return c.NumAttentionHeads
}

// Validate checks every field a model needs, before any work starts, and
// names the first bad field and what was expected.
func (c *Config) Validate() error {
	pos := func(name string, v int) error {
		if v <= 0 {
			return fmt.Errorf("%s is %d, want a positive integer", name, v)
		}
		return nil
	}
	for _, f := range []struct {
		name string
		v    int
	}{
		{"hidden_size", c.HiddenSize}, {"intermediate_size", c.IntermediateSize},
		{"num_hidden_layers", c.NumHiddenLayers}, {"num_attention_heads", c.NumAttentionHeads},
		{"vocab_size", c.VocabSize}, {"max_position_embeddings", c.MaxPositionEmbeddings},
	} {
		if err := pos(f.name, f.v); err != nil {
			return err
		}
	}
	if c.NumKeyValueHeads < 0 || c.HeadDim < 0 {
		return fmt.Errorf("num_key_value_heads (%d) and head_dim (%d) must not be negative", c.NumKeyValueHeads, c.HeadDim)
	}
	if c.HeadDim == 0 && c.HiddenSize%c.NumAttentionHeads != 0 {
		return fmt.Errorf("num_attention_heads (%d) does not divide hidden_size (%d); set head_dim or change one of them", c.NumAttentionHeads, c.HiddenSize)
	}
	if c.NumAttentionHeads%c.KVHeads() != 0 {
		return fmt.Errorf("num_key_value_heads (%d) does not divide num_attention_heads (%d)", c.KVHeads(), c.NumAttentionHeads)
	}
	if c.PositionsName() == "rope" {
		if c.HeadDimOrDefault()%2 != 0 {
			return fmt.Errorf("head_dim (%d) must be even for rotary embeddings", c.HeadDimOrDefault())
		}
		if !(c.RopeTheta > 0) {
			return fmt.Errorf("rope_theta is %v, want a positive number", c.RopeTheta)
		}
	}
	if !(c.RMSNormEps > 0) {
		return fmt.Errorf("rms_norm_eps is %v, want a positive number", c.RMSNormEps)
	}
	if !(c.InitializerRange >= 0) {
		return fmt.Errorf("initializer_range is %v, want a non-negative number", c.InitializerRange)
	}
	if err := c.validateOptions(); err != nil {
		return err
	}
	if f := c.PartialRotaryFactor; f != 0 && f != 1 {
		if !c.arch().partialRotary && c.Loom.TokenFormer == nil {
			return fmt.Errorf("partial_rotary_factor %v: partial rotary embeddings are implemented for model_type phi3 (and loom.tokenformer) only", f)
		}
		if d := c.RotaryDim(); !(f > 0 && f < 1) || d%2 != 0 || d == 0 {
			return fmt.Errorf("partial_rotary_factor %v gives a rotary dim of %d of head_dim %d, want an even positive number", f, d, c.HeadDimOrDefault())
		}
	}
	for _, f := range []struct {
		key, what string
		v         *float64
	}{{"attn_logit_softcapping", "attention logit", c.AttnLogitSoftcapping}, {"final_logit_softcapping", "final logit", c.FinalLogitSoftcapping}} {
		switch {
		case f.v == nil:
		case !c.arch().softcap:
			return fmt.Errorf("%q: %s soft-capping (Gemma 2) is not implemented for model_type %s (only for gemma2)", f.key, f.what, cmp.Or(c.ModelType, "llama"))
		case !(*f.v > 0):
			return fmt.Errorf("%s is %v, want a positive number or null", f.key, *f.v)
		}
	}
	if err := c.arch().checkImplied(c); err != nil {
		return err
	}
	if v := c.arch().validate; v != nil {
		if err := v(c); err != nil {
			return fmt.Errorf("model_type %s: %w", c.ModelType, err)
		}
	}
	for _, ids := range []TokenIDs{c.BOSTokenID, c.EOSTokenID} {
		for _, id := range ids {
			if id < 0 || id >= c.VocabSize {
				return fmt.Errorf("token id %d (bos_token_id/eos_token_id) outside the vocabulary [0, %d)", id, c.VocabSize)
			}
		}
	}
	for _, a := range c.Architectures {
		known := false
		for _, ar := range architectures {
			known = known || a == ar.class
		}
		if !known {
			return fmt.Errorf("architectures lists %q; loom reads %s", a, classes())
		}
	}
	if len(c.LayerTypes) > 0 {
		if len(c.LayerTypes) != c.NumHiddenLayers {
			return fmt.Errorf("layer_types has %d entries for %d layers", len(c.LayerTypes), c.NumHiddenLayers)
		}
		for i, t := range c.LayerTypes {
			if t != "full_attention" && t != "sliding_attention" {
				return fmt.Errorf("layer_types[%d] is %q, want \"full_attention\" or \"sliding_attention\"", i, t)
			}
		}
	}
	if r := c.RopeScaling; r != nil {
		switch r.Kind() {
		case "", "default":
		case "linear":
			if !(r.Factor > 0) {
				return fmt.Errorf("rope_scaling.factor is %v, want a positive number", r.Factor)
			}
		case "llama3":
			if !(r.Factor > 0) || !(r.LowFreqFactor > 0) || !(r.HighFreqFactor > r.LowFreqFactor) || r.OriginalMaxPositionEmbeddings <= 0 {
				return fmt.Errorf("rope_scaling (llama3) needs factor > 0, 0 < low_freq_factor < high_freq_factor and original_max_position_embeddings > 0, have %+v", *r)
			}
		case "longrope":
			if !c.arch().longrope {
				return fmt.Errorf("rope_scaling.rope_type \"longrope\" is supported for model_type phi3 only, not %q", c.ModelType)
			}
			half := c.RotaryDim() / 2
			if len(r.LongFactor) != half || len(r.ShortFactor) != half {
				return fmt.Errorf("rope_scaling (longrope) has %d long_factor and %d short_factor values, want %d each (half the rotary dim)", len(r.LongFactor), len(r.ShortFactor), half)
			}
			for _, f := range slices.Concat(r.LongFactor, r.ShortFactor) {
				if !(f > 0) {
					return fmt.Errorf("rope_scaling (longrope) factor %v, want positive numbers", f)
				}
			}
		default:
			return fmt.Errorf("rope_scaling.rope_type %q is not supported (loom reads linear, llama3 and, for phi3, longrope)", r.Kind())
		}
	}
	return nil
}

// ParseConfig decodes and validates a config.json; errors name the file.
func ParseConfig(name string, data []byte) (*Config, error) {
	c := &Config{RMSNormEps: 1e-6, RopeTheta: 10000, InitializerRange: 0.02, HiddenAct: "silu"}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var mt string
	json.Unmarshal(keys["model_type"], &mt)
	a := architectures[mt] // the zero arch for llama's absent type or an unknown one (Validate)
	present := map[string]bool{}
	for k := range keys {
		present[k] = true
	}
	if err := a.checkArchKeys(keys); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	data, err := a.renameIn(name, data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(c); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := checkKeys(data, a.allowedKeys()); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if a.defaults != nil {
		a.defaults(c, present)
	}
	if err := a.applyImplied(c); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := c.readRopeParameters(data); err != nil {
		return nil, fmt.Errorf("%s: rope_parameters: %w", name, err)
	}
	if !present["head_dim"] && c.arch().defaultHeadDim > 0 {
		c.HeadDim = c.arch().defaultHeadDim // the config class's default
	}
	if c.ModelType == "mistral" && c.SlidingWindow == nil {
		// transformers' MistralConfig defaults sliding_window to 4096 when
		// the key is absent; an explicit null means no window.
		if !present["sliding_window"] {
			w := 4096
			c.SlidingWindow = &w
		}
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return c, nil
}

// LoadConfig reads and validates path (a config.json, or a directory
// holding one).
func LoadConfig(path string) (*Config, error) {
	path, data, err := fsutil.ReadIn(path, "config.json")
	if err != nil {
		return nil, err
	}
	return ParseConfig(path, data)
}

// JSON returns the config as indented JSON.
func (c *Config) JSON() []byte {
	out := *c
	if out.ModelType == "" {
		out.ModelType = "llama"
	}
	if len(out.Architectures) == 0 {
		out.Architectures = []string{Architecture(out.ModelType)}
	}
	if out.HeadDim == 0 && out.arch().defaultHeadDim > 0 {
		out.HeadDim = out.HeadDimOrDefault() // absent, the class would read its own default
	}
	if out.TorchDtype == "" {
		out.TorchDtype = "float32"
	}
	b, _ := json.MarshalIndent(out, "", "  ")
	b = out.moeJSON(b)
	b = out.arch().jsonOut(b)
	if out.ModelType == "mistral" && out.SlidingWindow == nil {
		// An absent key means 4096 to transformers (and ParseConfig): say
		// "no window" explicitly.
		b = append(bytes.TrimSuffix(b, []byte("\n}")), []byte(",\n  \"sliding_window\": null\n}")...)
	}
	return append(b, '\n')
}
