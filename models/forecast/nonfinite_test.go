package forecast

import (
	"math"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadNonFinite checks that a forecaster whose weights file holds a NaN
// is refused at load, naming the file and the tensor.
func TestLoadNonFinite(t *testing.T) {
	m, err := New(smallConfig("dlinear", 3))
	if err != nil {
		t.Fatal(err)
	}
	p := m.Params()[0]
	p.Value.Contiguous().F32()[2] = float32(math.NaN())
	dir := t.TempDir()
	if err := Save(dir, m, &Saved{Model: m.Config()}); err != nil {
		t.Fatal(err)
	}
	_, _, err = Load(dir)
	want := filepath.Join(dir, WeightsFile) + ": tensor " + p.Name + ": element 2 is NaN (the file is corrupt)"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want %q", err, want)
	}
}
