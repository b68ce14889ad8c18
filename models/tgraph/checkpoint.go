package tgraph

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/loomml/loom/format/safetensors"
	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/nn"
)

// A checkpoint is a directory of config.json (the Config) and
// model.safetensors (the parameters under their names).
const (
	ConfigFile  = "config.json"
	WeightsFile = "model.safetensors"
)

// Save writes m into dir (atomically: a new directory replaces dir).
func Save(m LinkModel, dir string) error {
	return fsutil.ReplaceDir(dir, fsutil.Options{Force: true}, func(tmp string) error { return SaveInto(m, tmp) })
}

// SaveInto writes m's two files into the existing directory dir (a
// training checkpoint's: train.Loop's SaveModel).
func SaveInto(m LinkModel, dir string) error {
	c := m.Config()
	cfg, _ := json.MarshalIndent(c, "", "  ")
	if err := fsutil.WriteFile(filepath.Join(dir, ConfigFile), append(cfg, '\n')); err != nil {
		return err
	}
	return nn.SaveParams(filepath.Join(dir, WeightsFile), m.Params(), safetensors.F32, map[string]string{"loom": "tgraph/" + c.Arch})
}

// Load reads a checkpoint directory of any architecture; errors name the
// file.
func Load(dir string) (LinkModel, error) {
	path, data, err := fsutil.ReadIn(dir, ConfigFile)
	if err != nil {
		return nil, err
	}
	var c Config
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m, err := Build(c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := nn.LoadParams(filepath.Join(filepath.Dir(path), WeightsFile), m.Params()); err != nil {
		return nil, err
	}
	return m, nil
}
