package forecast

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A forecaster's config.json is loom's own file: an unknown key is an
// error, not ignored.
func TestLoadRejectsUnknownKeys(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, ConfigFile), []byte(`{"model": {"arch": "naive", "lookback": 4, "horizon": 2, "variates": 1}, "inputs": ["a"], "scaler_meen": [0]}`), 0o644)
	if _, _, err := Load(dir); err == nil || !strings.Contains(err.Error(), `unknown field "scaler_meen"`) {
		t.Fatalf("Load: %v", err)
	}
}
