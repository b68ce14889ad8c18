package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/loomml/loom/convert"
	"github.com/loomml/loom/format/gguf"
	"github.com/loomml/loom/models/encoder"
)

// Which kind of model a directory holds, told from its config.json before
// it is loaded, so a forecaster given to generate (or a language model given
// to forecast) is named as such instead of failing on a missing field.
const (
	kindLanguage = "language model"
	kindForecast = "forecasting model"
	kindEncoder  = "encoder"
)

// modelKind returns the kind of model at path and a short description
// ("llama", "itransformer trained on ETTh1.csv"); kind is "" when the
// config.json is neither (the loader then says what is wrong).
func modelKind(path string) (kind, desc string) {
	if st, err := os.Stat(path); err == nil && !st.IsDir() {
		if gguf.IsGGUF(path) {
			return kindLanguage, "GGUF"
		}
		return "", ""
	}
	p := filepath.Join(path, convert.ConfigFile)
	if _, err := os.Stat(p); err != nil {
		p = filepath.Join(path, convert.CheckpointDir, convert.ConfigFile)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return "", ""
	}
	var c struct {
		ModelType string          `json:"model_type"`
		Hidden    int             `json:"hidden_size"`
		Inputs    []string        `json:"inputs"`
		Source    string          `json:"source"`
		Model     json.RawMessage `json:"model"`
	}
	if json.Unmarshal(b, &c) != nil {
		return "", ""
	}
	switch {
	case c.Model != nil && c.Inputs != nil:
		var m struct {
			Arch string `json:"arch"`
		}
		json.Unmarshal(c.Model, &m)
		desc = m.Arch
		if c.Source != "" {
			desc += " trained on " + c.Source
		}
		return kindForecast, desc
	case c.ModelType == encoder.TypeBERT || c.ModelType == encoder.TypeAST:
		return kindEncoder, c.ModelType
	case c.ModelType != "" || c.Hidden > 0:
		return kindLanguage, c.ModelType
	}
	return "", ""
}

// wantKind refuses a model of another kind than the command takes, saying
// what the path holds and which command takes it.
func wantKind(path, want string) error {
	kind, desc := modelKind(path)
	if kind == "" || kind == want {
		return nil
	}
	if desc != "" {
		desc = " (" + desc + ")"
	}
	switch kind {
	case kindForecast:
		return fmt.Errorf("%s holds a %s%s, not a language model: use loom forecast eval or loom forecast predict with it", path, kind, desc)
	case kindEncoder:
		return fmt.Errorf("%s holds an %s%s, not a generative language model: fine-tune it with loom finetune --task classify", path, kind, desc)
	default:
		return fmt.Errorf("%s holds a %s%s, not a forecasting model: use loom generate, eval, export or prune with it; loom forecast takes a model from loom forecast train", path, kind, desc)
	}
}
