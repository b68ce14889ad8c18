package convert

import (
	"os"
	"path/filepath"

	"github.com/loomml/loom/format/safetensors"
	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/nn"
)

// File names of a model directory, as Hugging Face lays it out.
const (
	ConfigFile  = "config.json"
	WeightsFile = "model.safetensors"
)

// Save writes config.json and model.safetensors (float32) into dir, each
// file atomically.
func Save(m *decoder.Model, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := fsutil.WriteFile(filepath.Join(dir, ConfigFile), m.Config.JSON()); err != nil {
		return err
	}
	return nn.SaveParams(filepath.Join(dir, WeightsFile), m.Params(), safetensors.F32, map[string]string{"format": "pt"})
}
