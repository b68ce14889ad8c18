package decoder

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/loomml/loom/format/safetensors"
	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/nn"
)

// File names of a model directory, as Hugging Face lays it out.
const (
	ConfigFile  = "config.json"
	WeightsFile = "model.safetensors"
)

// Save writes config.json and model.safetensors (float32) into dir, each
// file atomically.
func (m *Model) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := WriteFileAtomic(filepath.Join(dir, ConfigFile), m.Config.JSON()); err != nil {
		return err
	}
	return nn.SaveParams(filepath.Join(dir, WeightsFile), m.Params(), safetensors.F32, map[string]string{"format": "pt"})
}

// Load reads a model directory written by Save (or a Hugging Face Llama
// directory with a single model.safetensors).
func Load(dir string) (*Model, error) {
	c, err := LoadConfig(filepath.Join(dir, ConfigFile))
	if err != nil {
		return nil, err
	}
	m, err := New(c, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ConfigFile), err)
	}
	if err := nn.LoadParams(filepath.Join(dir, WeightsFile), m.Params()); err != nil {
		return nil, err
	}
	return m, nil
}

// WriteFileAtomic writes data to path atomically (a temp file synced and
// renamed into place), so readers never see a partial file.
func WriteFileAtomic(path string, data []byte) error { return fsutil.WriteFile(path, data) }
