package forecast

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/data/series"
	"github.com/loomml/loom/format/safetensors"
	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/nn"
)

// Files of a forecaster directory.
const (
	ConfigFile  = "config.json"
	WeightsFile = "model.safetensors"
)

// Saved is a forecaster's config.json: the model and how its data were cut
// and scaled.
type Saved struct {
	Model   Config      `json:"model"`
	Data    series.Spec `json:"data"`
	Inputs  []string    `json:"inputs"`  // training columns, in order
	Outputs []int       `json:"outputs"` // scored columns (indices into inputs)
	Mean    []float64   `json:"scaler_mean"`
	Std     []float64   `json:"scaler_std"`
	StepSec float64     `json:"step_seconds"`
	Source  string      `json:"source,omitempty"` // the training file's name
	Result  *Result     `json:"result,omitempty"`
}

// SavedFor records m trained on d.
func SavedFor(m Model, d *series.Dataset, res *Result) *Saved {
	return &Saved{Model: m.Config(), Data: d.Spec, Inputs: d.Inputs, Outputs: d.Outputs, Mean: d.Mean, Std: d.Std,
		StepSec: d.Step.Seconds(), Source: filepath.Base(d.Name), Result: res}
}

// Save writes dir/model.safetensors and then dir/config.json, each
// atomically (config.json last: a directory with it holds a whole model).
func Save(dir string, m Model, s *Saved) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := nn.SaveParams(filepath.Join(dir, WeightsFile), State(m), safetensors.F32, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	return fsutil.WriteFile(filepath.Join(dir, ConfigFile), append(b, '\n'))
}

// State is what a saved model holds: its parameters, then the buffers of
// a model with them (PatchTST's BatchNorm statistics), as PyTorch's
// state_dict holds both.
func State(m Model) []*autograd.Var { return append(m.Params(), Buffers(m)...) }

// Buffers returns the buffers of a model with them (nil for the others),
// for training objectives to hand to train.Loop's checkpoints.
func Buffers(m Model) []*autograd.Var {
	if b, ok := m.(nn.Buffered); ok {
		return b.Buffers()
	}
	return nil
}

// Load reads a forecaster directory.
func Load(dir string) (Model, *Saved, error) {
	p := filepath.Join(dir, ConfigFile)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, nil, err
	}
	// loom's own file: decoded strictly, so a mistyped key is not ignored.
	var s Saved
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", p, err)
	}
	m, err := New(s.Model)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", p, err)
	}
	if st := State(m); len(st) > 0 {
		if err := nn.LoadParams(filepath.Join(dir, WeightsFile), st); err != nil {
			return nil, nil, err
		}
	}
	return m, &s, nil
}
