package decoder

import (
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

// WriteFileAtomic writes data to path atomically (a temp file synced and
// renamed into place), so readers never see a partial file.
func WriteFileAtomic(path string, data []byte) error { return fsutil.WriteFile(path, data) }
