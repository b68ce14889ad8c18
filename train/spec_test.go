package train

import (
	"encoding/json"
	"strings"
	"testing"
)

const model = `{"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 256, "max_position_embeddings": 32}`

func TestParseSpec(t *testing.T) {
	// A bare config.json trains with the default preset's settings, its
	// sequence length capped at the model's positions.
	s, err := ParseSpec([]byte(model))
	if err != nil || !s.BareConfig || s.Model.HiddenSize != 64 || s.Train.SeqLen != 32 || s.Train.Steps != 1600 {
		t.Fatalf("bare config: %+v, %v", s, err)
	}
	s, err = ParseSpec([]byte(`{"model": ` + model + `, "train": {"steps": 5, "batch_size": 2, "seq_len": 16, "lr": 0.001}}`))
	if err != nil || s.BareConfig || s.Train.Steps != 5 || s.Train.Beta2 != 0.95 {
		t.Fatalf("spec: %+v, %v", s, err)
	}
	for _, c := range []struct{ json, want string }{
		{`{"model": ` + model + `, "trian": {"steps": 5}}`, `"trian" is not a spec key; did you mean "train"?`},
		{`{"model": ` + model + `, "train": {"step": 5, "batch_size": 2, "seq_len": 16, "lr": 0.001}}`, `train.step is not a training setting; did you mean "steps"?`},
		{`{"train": {"steps": 5}}`, "model: missing"},
		{`{"model": {"hidden_size": 64, "loom": {"layot": "macaron"}}, "train": {}}`, `loom.layot is not a loom option; did you mean "layout"?`},
		{`[1, 2]`, "cannot unmarshal array"},
	} {
		if _, err := ParseSpec([]byte(c.json)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want %q", c.json, err, c.want)
		}
	}
}

// What --print-spec prints for every preset parses back strictly to the
// same spec.
func TestPresetSpecsRoundTrip(t *testing.T) {
	for _, p := range Presets() {
		s := p.Spec()
		js, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseSpec(js)
		if err != nil {
			t.Errorf("%s: %v", p.Name, err)
			continue
		}
		js2, _ := json.Marshal(back)
		if string(js) != string(js2) {
			t.Errorf("%s: round trip differs:\n%s\n%s", p.Name, js, js2)
		}
	}
}

// A spec of another class (GPT-2, its own key names) prints as its
// config.json and parses back to the same spec.
func TestSpecOfOtherClassRoundTrips(t *testing.T) {
	s, err := ParseSpec([]byte(`{"model": {"model_type": "gpt2", "n_embd": 32, "n_layer": 2, "n_head": 4, "vocab_size": 256, "n_positions": 64},
		"train": {"steps": 3, "batch_size": 2, "seq_len": 16, "lr": 0.001}}`))
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseSpec(js)
	if err != nil {
		t.Fatalf("the printed spec does not load back: %v\n%s", err, js)
	}
	if js2, _ := json.Marshal(back); string(js) != string(js2) {
		t.Errorf("round trip differs:\n%s\n%s", js, js2)
	}
}
