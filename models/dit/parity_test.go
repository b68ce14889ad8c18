package dit

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// TestParity compares the forward pass with a PyTorch reference written
// from facebookresearch/DiT's models.py (testdata/gen_dit.py), on random
// weights (adaLN and final layer included) and three images: every output
// within 1e-4 relative to the output's scale.
func TestParity(t *testing.T) {
	dir := filepath.Join("testdata", "dit-tiny")
	b, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Config struct {
			ImageSize int     `json:"image_size"`
			Channels  int     `json:"channels"`
			PatchSize int     `json:"patch_size"`
			Hidden    int     `json:"hidden"`
			Depth     int     `json:"depth"`
			Heads     int     `json:"heads"`
			MLPRatio  float64 `json:"mlp_ratio"`
			Classes   int     `json:"classes"`
		}
		X, Out []float32
		T      []float64
		Y      []int
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	rc := ref.Config
	m, err := New(Config{ImageSize: rc.ImageSize, Channels: rc.Channels, PatchSize: rc.PatchSize, Hidden: rc.Hidden, Depth: rc.Depth,
		Heads: rc.Heads, MLPRatio: rc.MLPRatio, Classes: rc.Classes, Diffusion: Schedule{Steps: 1000}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := nn.LoadParamsAs(filepath.Join(dir, "model.safetensors"), "", m.Params()); err != nil {
		t.Fatal(err)
	}
	N := len(ref.Y)
	x := tensor.FromFloat32(ref.X, N, rc.Channels, rc.ImageSize, rc.ImageSize)
	var got []float32
	autograd.NoGrad(func() { got = m.Forward(nil, autograd.Const(x), ref.T, ref.Y).Value.Contiguous().F32() })
	scale, worst := 0.0, 0.0
	for _, v := range ref.Out {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	for i, v := range ref.Out {
		worst = math.Max(worst, math.Abs(float64(got[i]-v)))
	}
	t.Logf("max |Δ| %.3g (outputs up to %.3g)", worst, scale)
	if worst > 1e-4*scale {
		t.Errorf("outputs differ from the reference by up to %.3g (scale %.3g)", worst, scale)
	}
}
