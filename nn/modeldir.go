package nn

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/format/safetensors"
	"github.com/loomml/loom/internal/fsutil"
)

// A model directory, as the model families without a Hugging Face layout
// (DiT, graph, atoms and temporal-graph models) write it: config.json, the
// family's configuration, and model.safetensors, its state (parameters,
// then any buffers) under their names in float32.
const (
	ModelConfigFile  = "config.json"
	ModelWeightsFile = "model.safetensors"
)

// SaveModelDir writes config as indented JSON to dir/config.json and state
// to dir/model.safetensors with metadata, each file atomically, into the
// existing directory dir.
func SaveModelDir(dir string, config any, state []*autograd.Var, metadata map[string]string) error {
	js, err := json.MarshalIndent(config, "", "  ")
	if err != nil {
		return err
	}
	if err := fsutil.WriteFile(filepath.Join(dir, ModelConfigFile), append(js, '\n')); err != nil {
		return err
	}
	return SaveParams(filepath.Join(dir, ModelWeightsFile), state, safetensors.F32, metadata)
}

// ReadModelConfig decodes path's config.json (path: the model directory
// or the file itself) into config, refusing unknown fields; it returns
// the file's path, which errors name, and the directory holding it.
func ReadModelConfig(path string, config any) (file, dir string, err error) {
	file, data, err := fsutil.ReadIn(path, ModelConfigFile)
	if err != nil {
		return file, "", err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(config); err != nil {
		return file, "", fmt.Errorf("%s: %w", file, err)
	}
	return file, filepath.Dir(file), nil
}

// LoadModelWeights fills state from dir/model.safetensors (LoadParams:
// every tensor present with its shape, nothing else in the file).
func LoadModelWeights(dir string, state []*autograd.Var) error {
	return LoadParams(filepath.Join(dir, ModelWeightsFile), state)
}
