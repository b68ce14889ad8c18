package train

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/loomml/loom/tensor"
)

// TestLoadStateNonFinite checks that optimizer state holding a NaN (a
// corrupt checkpoint) is refused when resuming, naming the file and the
// tensor.
func TestLoadStateNonFinite(t *testing.T) {
	path := filepath.Join(t.TempDir(), OptimizerFile)
	m := tensor.FromFloat32([]float32{0, 1, 2}, 3)
	v := tensor.FromFloat32([]float32{0, float32(math.NaN()), 2}, 3)
	if err := saveState(path, map[string]*tensor.Tensor{"m.w": m, "v.w": v}); err != nil {
		t.Fatal(err)
	}
	_, err := loadState(path)
	want := path + ": tensor v.w: element 1 is NaN (the file is corrupt)"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
}
