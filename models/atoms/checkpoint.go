package atoms

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/nn"
)

// A checkpoint is a directory of config.json (the Config and the
// Reference) and model.safetensors (the parameters under their names).
const (
	ConfigFile  = nn.ModelConfigFile
	WeightsFile = nn.ModelWeightsFile
)

// checkpointConfig is config.json.
type checkpointConfig struct {
	Config    Config    `json:"config"`
	Reference Reference `json:"reference"`
}

// Save writes m into dir (atomically: a new directory replaces dir).
func Save(m *Model, dir string) error {
	return fsutil.ReplaceDir(dir, fsutil.Options{Force: true}, func(tmp string) error { return SaveInto(m, tmp) })
}

// SaveInto writes m's two files into the existing directory dir (a
// training checkpoint's).
func SaveInto(m *Model, dir string) error {
	return nn.SaveModelDir(dir, checkpointConfig{m.Config, m.Ref}, m.Params(), map[string]string{"loom": "atoms/" + m.Config.Arch})
}

// Load reads a model directory, or the model/ (else checkpoint/) directory
// of a `loom atoms train` run; errors name the file.
func Load(dir string) (*Model, error) {
	if _, err := os.Stat(filepath.Join(dir, ConfigFile)); err != nil {
		for _, sub := range []string{"model", "checkpoint"} {
			if _, err := os.Stat(filepath.Join(dir, sub, ConfigFile)); err == nil {
				dir = filepath.Join(dir, sub)
				break
			}
		}
	}
	var c checkpointConfig
	path, dir, err := nn.ReadModelConfig(dir, &c)
	if err != nil {
		return nil, err
	}
	m, err := New(c.Config, c.Reference)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := nn.LoadModelWeights(dir, m.Params()); err != nil {
		return nil, err
	}
	return m, nil
}
