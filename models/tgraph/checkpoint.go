package tgraph

import (
	"fmt"

	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/nn"
)

// A checkpoint is a directory of config.json (the Config) and
// model.safetensors (the parameters under their names).
const (
	ConfigFile  = nn.ModelConfigFile
	WeightsFile = nn.ModelWeightsFile
)

// Save writes m into dir (atomically: a new directory replaces dir).
func Save(m LinkModel, dir string) error {
	return fsutil.ReplaceDir(dir, fsutil.Options{Force: true}, func(tmp string) error { return SaveInto(m, tmp) })
}

// SaveInto writes m's two files into the existing directory dir (a
// training checkpoint's: train.Loop's SaveModel).
func SaveInto(m LinkModel, dir string) error {
	c := m.Config()
	return nn.SaveModelDir(dir, c, m.Params(), map[string]string{"loom": "tgraph/" + c.Arch})
}

// Load reads a checkpoint directory of any architecture; errors name the
// file.
func Load(dir string) (LinkModel, error) {
	var c Config
	path, dir, err := nn.ReadModelConfig(dir, &c)
	if err != nil {
		return nil, err
	}
	m, err := Build(c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := nn.LoadModelWeights(dir, m.Params()); err != nil {
		return nil, err
	}
	return m, nil
}
