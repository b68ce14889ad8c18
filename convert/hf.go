package convert

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/loomml/loom/dtype"
	"github.com/loomml/loom/format/safetensors"
	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/tokenizer"
)

// Files of a Hugging Face model directory besides config.json and the
// weights.
const (
	GenerationConfigFile = "generation_config.json"
	TokenizerFile        = "tokenizer.json"
	TokenizerConfigFile  = "tokenizer_config.json"
	ChatTemplateFile     = "chat_template.jinja"
)

// GenerationConfig is the part of generation_config.json loom uses.
type GenerationConfig struct {
	BOSTokenID  decoder.TokenIDs `json:"bos_token_id,omitempty"`
	EOSTokenID  decoder.TokenIDs `json:"eos_token_id,omitempty"`
	PadTokenID  decoder.TokenIDs `json:"pad_token_id,omitempty"`
	MaxLength   int              `json:"max_length,omitempty"`
	Temperature *float64         `json:"temperature,omitempty"`
	TopK        *int             `json:"top_k,omitempty"`
	TopP        *float64         `json:"top_p,omitempty"`
	DoSample    *bool            `json:"do_sample,omitempty"`
}

// LoadGenerationConfig reads dir's generation_config.json; a directory
// without one gives nil and no error.
func LoadGenerationConfig(dir string) (*GenerationConfig, error) {
	var g GenerationConfig
	if ok, err := readOptionalJSON(filepath.Join(dir, GenerationConfigFile), &g); !ok {
		return nil, err
	}
	return &g, nil
}

// readOptionalJSON decodes the JSON file at path into v; false, with no
// error, when there is no such file. Errors name the file.
func readOptionalJSON(path string, v any) (bool, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("%s: %v", path, err)
	}
	return true, nil
}

// StopTokens returns the end-of-sequence ids a generator should stop at:
// those of generation_config.json (gen, may be nil), of config.json and
// the tokenizer's, without duplicates, each checked against vocab_size.
func StopTokens(c *decoder.Config, gen *GenerationConfig, tok tokenizer.Tokenizer) []int {
	var out []int
	add := func(id int) {
		if id < 0 || id >= c.VocabSize {
			return
		}
		for _, o := range out {
			if o == id {
				return
			}
		}
		out = append(out, id)
	}
	if gen != nil {
		for _, id := range gen.EOSTokenID {
			add(id)
		}
	}
	for _, id := range c.EOSTokenID {
		add(id)
	}
	if tok != nil {
		add(tok.EOS())
	}
	return out
}

// LoadTokenizer returns the tokenizer of a model directory: the one named
// by config.json's loom.tokenizer, else the directory's tokenizer.json,
// else the byte tokenizer. A tokenizer with more ids than the model's
// vocab_size is an error.
func LoadTokenizer(c *decoder.Config, dir string) (tokenizer.Tokenizer, error) {
	spec := c.Loom.Tokenizer
	if spec == "" {
		if _, err := os.Stat(filepath.Join(dir, TokenizerFile)); err == nil {
			spec = TokenizerFile
		} else if _, err := os.Stat(filepath.Join(dir, "tokenizer.model")); err == nil {
			spec = "tokenizer.model" // a sentencepiece model without tokenizer.json
		} else {
			spec = "byte"
		}
	}
	tok, err := tokenizer.Load(spec, dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	if tok.VocabSize() > c.VocabSize {
		return nil, fmt.Errorf("%s: tokenizer %s has %d ids, more than vocab_size %d in config.json", dir, tok.Name(), tok.VocabSize(), c.VocabSize)
	}
	return tok, nil
}

// ExportHF writes m as a Hugging Face model directory that
// LlamaForCausalLM.from_pretrained loads (or the class of its model_type,
// with that class's config keys and checkpoint layout, hflayout.go):
// config.json (without loom's options), model.safetensors in dt (F32, F16 or BF16, with
// __metadata__ {"format": "pt"}), tokenizer.json, tokenizer_config.json and
// generation_config.json. A model using options Hugging Face cannot express
// is refused, naming them. Removed sublayers are written as zero weights
// (transformers cannot skip them), which computes the same function. dir
// must be absent or empty; it appears complete or not at all.
func ExportHF(m *decoder.Model, dir string, tok tokenizer.Tokenizer, dt tensor.DType) error {
	return ExportHFWith(m, dir, tok, dt, WriteOptions{})
}

// ExportHFWith is ExportHF with o: o.Force replaces an existing dir as a
// whole (no old shard or index survives), o.Context stops the export.
func ExportHFWith(m *decoder.Model, dir string, tok tokenizer.Tokenizer, dt tensor.DType, o WriteOptions) error {
	if err := m.Config.CheckExport(decoder.HF); err != nil {
		return fmt.Errorf("convert: %w", err)
	}
	st, err := safetensorsType(dt)
	if err != nil {
		return err
	}
	if tok == nil {
		tok = tokenizer.Byte{}
	}
	if tok.VocabSize() > m.Config.VocabSize {
		return fmt.Errorf("convert: tokenizer %s has %d ids, more than the model's vocab_size %d", tok.Name(), tok.VocabSize(), m.Config.VocabSize)
	}
	bpe, ok := tok.(*tokenizer.BPE)
	if _, isByte := tok.(tokenizer.Byte); isByte {
		bpe, ok = tokenizer.ByteHF(), true
	}
	if !ok {
		return fmt.Errorf("convert: tokenizer %s cannot be written as tokenizer.json", tok.Name())
	}
	c := *m.Config
	c.Loom = decoder.Options{}
	c.HeadDim = c.HeadDimOrDefault() // explicit: transformers reads a 0 as 0
	c.TorchDtype = dt.Info().Torch
	if eos := tok.EOS(); eos >= 0 && len(c.EOSTokenID) == 0 {
		c.EOSTokenID = decoder.TokenIDs{eos}
	}
	gen := GenerationConfig{BOSTokenID: c.BOSTokenID, EOSTokenID: c.EOSTokenID}
	genJSON, _ := json.MarshalIndent(struct {
		GenerationConfig
		FromModelConfig bool `json:"_from_model_config"`
	}{gen, true}, "", "  ")
	tokCfg := map[string]any{"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": c.MaxPositionEmbeddings,
		"clean_up_tokenization_spaces": false}
	if eos := tok.EOS(); eos >= 0 {
		tokCfg["eos_token"] = string(tok.TokenBytes(eos))
	}
	tokJSON, _ := json.MarshalIndent(tokCfg, "", "  ")

	write := func(d string) error {
		if err := fsutil.WriteFile(filepath.Join(d, ConfigFile), c.JSON()); err != nil {
			return err
		}
		params, _, err := m.FullParams() // removed sublayers as zero weights
		if err != nil {
			return err
		}
		if params, err = toHFLayout(m.Config, params); err != nil { // the architecture's tensor layout
			return err
		}
		if err := saveParams(o.Ctx(), filepath.Join(d, WeightsFile), params, st, map[string]string{"format": "pt"}); err != nil {
			return err
		}
		if err := bpe.SaveHF(filepath.Join(d, TokenizerFile)); err != nil {
			return err
		}
		if err := fsutil.WriteFile(filepath.Join(d, TokenizerConfigFile), append(tokJSON, '\n')); err != nil {
			return err
		}
		return fsutil.WriteFile(filepath.Join(d, GenerationConfigFile), append(genJSON, '\n'))
	}
	return fsutil.ReplaceDir(dir, o, write)
}

// HFTypes are the types weights are written in to safetensors files.
var HFTypes = []tensor.DType{tensor.Float32, tensor.Float16, tensor.BFloat16}

// safetensorsType returns the safetensors spelling of dt, one of HFTypes.
func safetensorsType(dt tensor.DType) (safetensors.DType, error) {
	if !slices.Contains(HFTypes, dt) {
		return "", fmt.Errorf("convert: safetensors weights as %v: want one of %s", dt, dtype.Names(HFTypes...))
	}
	return safetensors.DType(dt.Info().Safetensors), nil
}

// TokenizerConfig is the part of tokenizer_config.json loom uses.
type TokenizerConfig struct {
	// AddBOSToken is add_bos_token (nil when absent: the tokenizer.json
	// post-processor decides).
	AddBOSToken *bool `json:"add_bos_token"`
	// EOSToken is eos_token's content ("" when absent).
	EOSToken string `json:"-"`
	// BOSToken is bos_token's content ("" when absent).
	BOSToken string `json:"-"`
	// ChatTemplate is chat_template when it is one string (or the text of
	// chat_template.jinja beside the file when it has none); ChatTemplates
	// holds it when it is a list of {"name", "template"} (by name). Both
	// are empty when the file has none.
	ChatTemplate  string            `json:"-"`
	ChatTemplates map[string]string `json:"-"`
}

// LoadTokenizerConfig reads dir's tokenizer_config.json; a directory
// without one gives nil and no error.
func LoadTokenizerConfig(dir string) (*TokenizerConfig, error) {
	path := filepath.Join(dir, TokenizerConfigFile)
	var raw struct {
		AddBOSToken  *bool           `json:"add_bos_token"`
		EOSToken     json.RawMessage `json:"eos_token"`
		BOSToken     json.RawMessage `json:"bos_token"`
		ChatTemplate json.RawMessage `json:"chat_template"`
	}
	if ok, err := readOptionalJSON(path, &raw); !ok {
		return nil, err
	}
	tc := &TokenizerConfig{AddBOSToken: raw.AddBOSToken}
	var err error
	if tc.EOSToken, err = specialToken(path, "eos_token", raw.EOSToken); err != nil {
		return nil, err
	}
	if tc.BOSToken, err = specialToken(path, "bos_token", raw.BOSToken); err != nil {
		return nil, err
	}
	if len(raw.ChatTemplate) > 0 && string(raw.ChatTemplate) != "null" {
		var list []struct {
			Name     string `json:"name"`
			Template string `json:"template"`
		}
		switch {
		case json.Unmarshal(raw.ChatTemplate, &tc.ChatTemplate) == nil:
		case json.Unmarshal(raw.ChatTemplate, &list) == nil:
			tc.ChatTemplates = make(map[string]string, len(list))
			for i, t := range list {
				if t.Name == "" || t.Template == "" {
					return nil, fmt.Errorf("%s: chat_template[%d] has no name or no template, want {\"name\": ..., \"template\": ...}", path, i)
				}
				tc.ChatTemplates[t.Name] = t.Template
			}
		default:
			return nil, fmt.Errorf("%s: chat_template is not a string or a list of {\"name\": ..., \"template\": ...}", path)
		}
	}
	if tc.ChatTemplate == "" && tc.ChatTemplates == nil {
		// Newer transformers save the template beside the config.
		b, err := os.ReadFile(filepath.Join(dir, ChatTemplateFile))
		switch {
		case err == nil:
			tc.ChatTemplate = string(b)
		case !errors.Is(err, fs.ErrNotExist):
			return nil, err
		}
	}
	return tc, nil
}

// specialToken reads a special token of tokenizer_config.json: a string,
// {"content": ...} or null ("").
func specialToken(path, field string, raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	var obj struct {
		Content string `json:"content"`
	}
	switch {
	case json.Unmarshal(raw, &s) == nil:
		return s, nil
	case json.Unmarshal(raw, &obj) == nil:
		return obj.Content, nil
	}
	return "", fmt.Errorf("%s: %s is %s, want a string or {\"content\": ...}", path, field, raw)
}
