package train

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/loomml/loom/internal/suggest"
	"github.com/loomml/loom/models/decoder"
)

// DefaultPreset is the preset whose training settings a bare model
// config.json given to LoadSpec trains with.
const DefaultPreset = "quickstart"

// LoadSpec reads path, either a spec ({"model": config.json, "train":
// settings}) or a bare Hugging Face config.json, which trains with the
// settings of DefaultPreset (its sequence length capped at the model's
// positions) and sets Spec.BareConfig. The spec's own keys and its train
// section are decoded strictly: an unknown key is an error naming it and
// the nearest valid one. The model section is a config.json as
// decoder.ParseConfig reads it. Errors name the file.
func LoadSpec(path string) (*Spec, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := ParseSpec(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// ParseSpec is LoadSpec for the bytes of a file.
func ParseSpec(raw []byte) (*Spec, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, err
	}
	_, hasModel := top["model"]
	_, hasTrain := top["train"]
	if !hasModel && !hasTrain {
		return bareConfigSpec(raw)
	}
	for k := range top {
		if k != "model" && k != "train" {
			return nil, fmt.Errorf("%q is not a spec key%s (a spec has \"model\", a config.json, and \"train\", the training settings)", k, suggest.DidYouMean(k, []string{"model", "train"}))
		}
	}
	if !hasModel {
		return nil, fmt.Errorf("model: missing (a config.json object)")
	}
	m, err := decoder.ParseConfig("model", top["model"])
	if err != nil {
		return nil, err
	}
	s := &Spec{Model: m, Train: Settings{ValFraction: 0.1, Hyper: Hyper{Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, Clip: 1, MinLRFactor: 0.1}}}
	if hasTrain {
		dec := json.NewDecoder(bytes.NewReader(top["train"]))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s.Train); err != nil {
			if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
				name = strings.Trim(name, `"`)
				return nil, fmt.Errorf("train.%s is not a training setting%s", name, suggest.DidYouMean(name, suggest.JSONKeys(&Settings{})))
			}
			return nil, fmt.Errorf("train: %w", err)
		}
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// bareConfigSpec is a spec for a bare config.json: the model it describes
// with DefaultPreset's training settings.
func bareConfigSpec(raw []byte) (*Spec, error) {
	m, err := decoder.ParseConfig("config.json", raw)
	if err != nil {
		return nil, err
	}
	p, err := LookupPreset(DefaultPreset)
	if err != nil {
		return nil, err
	}
	s := &Spec{Model: m, Train: p.Train, BareConfig: true}
	s.Train.SeqLen = min(s.Train.SeqLen, m.MaxPositionEmbeddings)
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}
