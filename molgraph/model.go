package molgraph

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/models/graph"
	"github.com/loomml/loom/nn"
)

// Model is a trained graph model with its target's standardisation.
type Model struct {
	Net graph.Model
	// Mean and Std standardised the training targets: a prediction is
	// Net's output × Std + Mean.
	Mean, Std float64
	Target    string // the target column it was trained on
}

// Files of a saved model directory.
const (
	ConfigFile  = nn.ModelConfigFile
	WeightsFile = nn.ModelWeightsFile
)

type savedConfig struct {
	Graph  graph.Config `json:"graph"`
	Target struct {
		Column string  `json:"column"`
		Mean   float64 `json:"mean"`
		Std    float64 `json:"std"`
	} `json:"target"`
}

// state is what the weights file holds: parameters, then buffers.
func (m *Model) state() []*autograd.Var { return append(m.Net.Params(), m.Net.Buffers()...) }

// Save writes config.json and model.safetensors (parameters and
// BatchNorm's running estimates) into dir.
func (m *Model) Save(dir string) error {
	var sc savedConfig
	sc.Graph = m.Net.Config()
	sc.Target.Column, sc.Target.Mean, sc.Target.Std = m.Target, m.Mean, m.Std
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return nn.SaveModelDir(dir, sc, m.state(), map[string]string{"format": "pt", "loom": "graph/" + sc.Graph.Arch})
}

// Load reads a model saved by Save: dir itself, or a `loom graph train`
// run directory holding it under model/ (the best epoch's) or
// checkpoint/ (the last step's).
func Load(dir string) (*Model, error) {
	if _, err := os.Stat(filepath.Join(dir, ConfigFile)); err != nil {
		for _, sub := range []string{"model", "checkpoint"} {
			if _, err := os.Stat(filepath.Join(dir, sub, ConfigFile)); err == nil {
				dir = filepath.Join(dir, sub)
				break
			}
		}
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("%s: not a `loom graph train` model: %w", dir, err)
	}
	var sc savedConfig
	path, dir, err := nn.ReadModelConfig(dir, &sc)
	if err != nil {
		return nil, fmt.Errorf("not a `loom graph train` model: %w", err)
	}
	if !(sc.Target.Std > 0) {
		return nil, fmt.Errorf("%s: target.std is %v, want a positive number", path, sc.Target.Std)
	}
	net, err := graph.New(sc.Graph)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m := &Model{Net: net, Mean: sc.Target.Mean, Std: sc.Target.Std, Target: sc.Target.Column}
	if err := nn.LoadModelWeights(dir, m.state()); err != nil {
		return nil, err
	}
	return m, nil
}

// Predict returns the model's predictions for d's molecules, in target
// units, in evaluation mode.
func (m *Model) Predict(d *Dataset) ([]float64, error) {
	k := m.Net.Config().PEDim
	zeros := make([][]float64, d.Len())
	for i := range zeros {
		zeros[i] = []float64{0}
	}
	set, err := graph.NewSet(d.Graphs, zeros, k)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.Name, err)
	}
	out := make([]float64, 0, d.Len())
	autograd.NoGrad(func() {
		for lo := 0; lo < d.Len(); lo += 256 {
			idx := make([]int, 0, 256)
			for i := lo; i < min(d.Len(), lo+256); i++ {
				idx = append(idx, i)
			}
			for _, v := range m.Net.Forward(nil, set.Batch(idx)).Value.Float64s() {
				out = append(out, v*m.Std+m.Mean)
			}
		}
	})
	return out, nil
}
