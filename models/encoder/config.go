package encoder

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/nn"
)

// Model types (config.json's model_type).
const (
	TypeBERT = "bert"
	TypeAST  = "audio-spectrogram-transformer"
)

// Architectures (config.json's architectures[0]): the base models and the
// task models built on them.
const (
	BertModel                      = "BertModel"
	BertForSequenceClassification  = "BertForSequenceClassification"
	BertForMaskedLM                = "BertForMaskedLM"
	ASTModel                       = "ASTModel"
	ASTForAudioClassification      = "ASTForAudioClassification"
	problemRegression              = "regression"
	problemSingleLabel             = "single_label_classification"
	defaultLayerNormEps            = 1e-12
	defaultInitializerRange        = 0.02
	defaultPatch, defaultStride    = 16, 10
	defaultMaxLength, defaultMels  = 1024, 128
	defaultMaxPositions, defaultTV = 512, 2
)

// architectures maps every architecture to its model type.
var architectures = map[string]string{
	BertModel: TypeBERT, BertForSequenceClassification: TypeBERT, BertForMaskedLM: TypeBERT,
	ASTModel: TypeAST, ASTForAudioClassification: TypeAST,
}

// Config is a Hugging Face config.json of a BERT (BertConfig) or an Audio
// Spectrogram Transformer (ASTConfig), with HF's key names, plus loom's own
// options under "loom".
type Config struct {
	Architectures             []string `json:"architectures"`
	ModelType                 string   `json:"model_type"`
	HiddenSize                int      `json:"hidden_size"`
	NumHiddenLayers           int      `json:"num_hidden_layers"`
	NumAttentionHeads         int      `json:"num_attention_heads"`
	IntermediateSize          int      `json:"intermediate_size"`
	HiddenAct                 string   `json:"hidden_act"`
	HiddenDropoutProb         float64  `json:"hidden_dropout_prob"`
	AttentionProbsDropoutProb float64  `json:"attention_probs_dropout_prob"`
	InitializerRange          float64  `json:"initializer_range"`
	LayerNormEps              float64  `json:"layer_norm_eps"`

	// BERT.
	VocabSize             int      `json:"vocab_size,omitempty"`
	MaxPositionEmbeddings int      `json:"max_position_embeddings,omitempty"`
	TypeVocabSize         int      `json:"type_vocab_size,omitempty"`
	PadTokenID            *int     `json:"pad_token_id,omitempty"`
	PositionEmbeddingType string   `json:"position_embedding_type,omitempty"`
	ClassifierDropout     *float64 `json:"classifier_dropout,omitempty"`

	// AST.
	PatchSize       int   `json:"patch_size,omitempty"`
	QKVBias         *bool `json:"qkv_bias,omitempty"`
	FrequencyStride int   `json:"frequency_stride,omitempty"`
	TimeStride      int   `json:"time_stride,omitempty"`
	MaxLength       int   `json:"max_length,omitempty"`
	NumMelBins      int   `json:"num_mel_bins,omitempty"`

	// Task heads: labels in id order (id2label), and problem_type
	// ("regression" with one output; single-label classification
	// otherwise).
	ID2Label    map[string]string `json:"id2label,omitempty"`
	Label2ID    map[string]int    `json:"label2id,omitempty"`
	ProblemType string            `json:"problem_type,omitempty"`
	TorchDtype  string            `json:"torch_dtype,omitempty"`

	Loom Options `json:"loom,omitzero"`
}

// Options are loom's additions to the config.
type Options struct {
	// FeatureMean and FeatureStd normalise an AST's filterbank features as
	// ASTFeatureExtractor does: (x − mean) / (2·std), with the statistics
	// of the pre-training data.
	FeatureMean float64 `json:"feature_mean,omitempty"`
	FeatureStd  float64 `json:"feature_std,omitempty"`
	// Removed lists the attention and FFN sublayers pruned away
	// (AxFormer, compress/axformer; pruned.go); nil: none.
	Removed *Removed `json:"removed,omitempty"`
	// AttentionTopK gives each layer's top-k hard attention (0: dense
	// softmax attention; nil: dense everywhere; pruned.go).
	AttentionTopK []int `json:"attention_top_k,omitempty"`
	// AttentionHeads, when set, gives each layer its own number of
	// attention heads (of head_dim hidden_size/num_attention_heads each)
	// in place of num_attention_heads: what structured head pruning
	// leaves (widths.go). The decoder's key.
	AttentionHeads []int `json:"attention_heads,omitempty"`
	// IntermediateSizes, when set, gives each layer its own FFN width in
	// place of intermediate_size (widths.go). The decoder's key.
	IntermediateSizes []int `json:"intermediate_sizes,omitempty"`
}

// Architecture returns architectures[0] (the base model of the type when
// absent).
func (c *Config) Architecture() string {
	if len(c.Architectures) > 0 {
		return c.Architectures[0]
	}
	if c.ModelType == TypeAST {
		return ASTModel
	}
	return BertModel
}

// Labels returns the class names in id order.
func (c *Config) Labels() []string {
	out := make([]string, len(c.ID2Label))
	for k, v := range c.ID2Label {
		i, _ := strconv.Atoi(k)
		out[i] = v
	}
	return out
}

// SetLabels sets id2label and label2id from names in id order.
func (c *Config) SetLabels(names []string) {
	c.ID2Label, c.Label2ID = map[string]string{}, map[string]int{}
	for i, n := range names {
		c.ID2Label[strconv.Itoa(i)] = n
		c.Label2ID[n] = i
	}
}

// NumLabels is the number of outputs of a task head.
func (c *Config) NumLabels() int { return len(c.ID2Label) }

// Regression reports whether the task head is a regression (one output,
// mean squared error).
func (c *Config) Regression() bool { return c.ProblemType == problemRegression }

// Patches returns an AST's patch grid: rows over frequency, columns over
// time.
func (c *Config) Patches() (freq, time int) {
	return (c.NumMelBins-c.PatchSize)/c.FrequencyStride + 1, (c.MaxLength-c.PatchSize)/c.TimeStride + 1
}

// ignoredKeys are PretrainedConfig's generic keys that do not change an
// encoder's computation.
var ignoredKeys = []string{"transformers_version", "use_cache", "gradient_checkpointing", "_name_or_path",
	"output_past", "return_dict", "output_hidden_states", "output_attentions", "bos_token_id", "eos_token_id",
	"sep_token_id", "cls_token_id", "mask_token_id", "tie_word_embeddings", "chunk_size_feed_forward",
	"tokenizer_class", "finetuning_task", "prefix", "task_specific_params", "torchscript", "pruned_heads",
	"add_cross_attention", "is_encoder_decoder", "_attn_implementation_autoset", "model_name", "is_decoder", "num_labels"}

// ParseConfig decodes and validates a config.json; errors name the file
// and the key. Keys loom does not know are refused (other than HF's
// generic ones), so nothing that changes the computation is ignored.
func ParseConfig(name string, data []byte) (*Config, error) {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	c := &Config{HiddenAct: "gelu", InitializerRange: defaultInitializerRange, LayerNormEps: defaultLayerNormEps}
	var mt string
	json.Unmarshal(keys["model_type"], &mt)
	switch mt {
	case TypeBERT:
		c.MaxPositionEmbeddings, c.TypeVocabSize, c.PositionEmbeddingType = defaultMaxPositions, defaultTV, "absolute"
		c.HiddenDropoutProb, c.AttentionProbsDropoutProb = 0.1, 0.1
	case TypeAST:
		c.PatchSize, c.FrequencyStride, c.TimeStride = defaultPatch, defaultStride, defaultStride
		c.MaxLength, c.NumMelBins = defaultMaxLength, defaultMels
	default:
		return nil, fmt.Errorf("%s: model_type %q: loom's encoders read %q and %q", name, mt, TypeBERT, TypeAST)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(c); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	known := map[string]bool{}
	for _, k := range jsonKeys(Config{}) {
		known[k] = true
	}
	for _, k := range ignoredKeys {
		known[k] = true
	}
	var unknown []string
	for k := range keys {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("%s: keys loom does not read: %s (a %s config has %s)", name, strings.Join(unknown, ", "), mt, strings.Join(jsonKeys(Config{}), ", "))
	}
	if err := checkLoomKeys(name, keys["loom"]); err != nil {
		return nil, err
	}
	if v, ok := keys["is_decoder"]; ok && string(v) == "true" {
		return nil, fmt.Errorf("%s: is_decoder is true: loom's encoders are bidirectional (use a decoder model type)", name)
	}
	if v, ok := keys["num_labels"]; ok && c.ID2Label == nil {
		// transformers makes LABEL_0 … LABEL_{n−1} from num_labels alone.
		var n int
		if err := json.Unmarshal(v, &n); err != nil || n < 1 {
			return nil, fmt.Errorf("%s: num_labels %s, want a positive integer", name, v)
		}
		names := make([]string, n)
		for i := range names {
			names[i] = "LABEL_" + strconv.Itoa(i)
		}
		c.SetLabels(names)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return c, nil
}

// jsonKeys lists Config's JSON key names.
func jsonKeys(v any) []string {
	var out []string
	t := reflect.TypeOf(v)
	for i := range t.NumField() {
		if k, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); k != "" && k != "-" {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// Validate checks that the config describes a model loom can build.
func (c *Config) Validate() error {
	mt, ok := architectures[c.Architecture()]
	switch {
	case !ok:
		return fmt.Errorf("architectures %q: loom's encoders are %s", c.Architecture(), strings.Join(ArchitectureNames(), ", "))
	case mt != c.ModelType:
		return fmt.Errorf("architectures %q is a %s model, but model_type is %q", c.Architecture(), mt, c.ModelType)
	case c.HiddenSize <= 0 || c.NumHiddenLayers <= 0 || c.NumAttentionHeads <= 0 || c.IntermediateSize <= 0:
		return fmt.Errorf("hidden_size %d, num_hidden_layers %d, num_attention_heads %d and intermediate_size %d must be positive",
			c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.IntermediateSize)
	case c.HiddenSize%c.NumAttentionHeads != 0:
		return fmt.Errorf("num_attention_heads %d does not divide hidden_size %d", c.NumAttentionHeads, c.HiddenSize)
	case c.HiddenDropoutProb < 0 || c.HiddenDropoutProb >= 1 || c.AttentionProbsDropoutProb < 0 || c.AttentionProbsDropoutProb >= 1:
		return fmt.Errorf("hidden_dropout_prob %v and attention_probs_dropout_prob %v must be in [0, 1)", c.HiddenDropoutProb, c.AttentionProbsDropoutProb)
	case c.LayerNormEps <= 0:
		return fmt.Errorf("layer_norm_eps %v must be positive", c.LayerNormEps)
	case c.ClassifierDropout != nil && (*c.ClassifierDropout < 0 || *c.ClassifierDropout >= 1):
		return fmt.Errorf("classifier_dropout %v must be in [0, 1)", *c.ClassifierDropout)
	}
	if !slices.Contains(nn.ActivationNames(), c.HiddenAct) {
		return fmt.Errorf("hidden_act %q: loom has %s", c.HiddenAct, strings.Join(nn.ActivationNames(), ", "))
	}
	switch c.ModelType {
	case TypeBERT:
		switch {
		case c.VocabSize <= 0 || c.MaxPositionEmbeddings <= 0 || c.TypeVocabSize <= 0:
			return fmt.Errorf("vocab_size %d, max_position_embeddings %d and type_vocab_size %d must be positive", c.VocabSize, c.MaxPositionEmbeddings, c.TypeVocabSize)
		case c.PositionEmbeddingType != "absolute":
			return fmt.Errorf("position_embedding_type %q: loom reads \"absolute\"", c.PositionEmbeddingType)
		case c.PadTokenID != nil && (*c.PadTokenID < 0 || *c.PadTokenID >= c.VocabSize):
			return fmt.Errorf("pad_token_id %d is outside the vocabulary of %d", *c.PadTokenID, c.VocabSize)
		}
	case TypeAST:
		switch {
		case c.PatchSize <= 0 || c.FrequencyStride <= 0 || c.TimeStride <= 0:
			return fmt.Errorf("patch_size %d, frequency_stride %d and time_stride %d must be positive", c.PatchSize, c.FrequencyStride, c.TimeStride)
		case c.NumMelBins < c.PatchSize || c.MaxLength < c.PatchSize:
			return fmt.Errorf("num_mel_bins %d and max_length %d must be at least patch_size %d", c.NumMelBins, c.MaxLength, c.PatchSize)
		case c.QKVBias != nil && !*c.QKVBias:
			return fmt.Errorf("qkv_bias false: loom's AST has biases on the query, key and value projections")
		}
	}
	if err := c.validatePruning(); err != nil {
		return err
	}
	if err := c.validateWidths(); err != nil {
		return err
	}
	if c.ProblemType != "" && c.ProblemType != problemRegression && c.ProblemType != problemSingleLabel {
		return fmt.Errorf("problem_type %q: loom reads %q and %q", c.ProblemType, problemSingleLabel, problemRegression)
	}
	if len(c.ID2Label) > 0 {
		seen := make([]bool, len(c.ID2Label))
		for k := range c.ID2Label {
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(seen) || seen[i] {
				return fmt.Errorf("id2label: key %q, want the ids 0 to %d", k, len(seen)-1)
			}
			seen[i] = true
		}
	}
	if c.head() == headClassifier {
		switch n := c.NumLabels(); {
		case c.Regression() && n != 1:
			return fmt.Errorf("problem_type regression with %d labels in id2label, want 1", n)
		case !c.Regression() && n < 2:
			return fmt.Errorf("%s needs id2label with at least 2 labels (have %d) or problem_type regression", c.Architecture(), n)
		}
	}
	return nil
}

// ArchitectureNames lists the architectures loom's encoders read.
func ArchitectureNames() []string {
	out := make([]string, 0, len(architectures))
	for a := range architectures {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
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
	out.Architectures = []string{c.Architecture()}
	if out.TorchDtype == "" {
		out.TorchDtype = "float32"
	}
	b, _ := json.MarshalIndent(out, "", "  ")
	return append(b, '\n')
}
