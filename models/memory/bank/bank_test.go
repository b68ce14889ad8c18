package bank

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/optim"
	"github.com/loomml/loom/tensor"
)

func initValues(id int, p []float32) {
	for i := range p {
		p[i] = float32(id) + float32(i)/100
	}
}

func TestCreateReopen(t *testing.T) {
	tests := []struct{ blocks, floats, perShard int }{{1, 3, 1}, {10, 7, 4}, {64, 16, 64}}
	for _, tc := range tests {
		dir := t.TempDir()
		b, err := Create(dir, tc.blocks, tc.floats, tc.perShard, initValues)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Verify(); err != nil {
			t.Fatal(err)
		}
		g := make([]float32, tc.floats)
		for i := range g {
			g[i] = 1
		}
		if err := b.Update(tc.blocks-1, g, AdamW{LR: 0.1, Beta1: 0.9, Beta2: 0.99, Eps: 1e-8}); err != nil {
			t.Fatal(err)
		}
		if err := b.Verify(); err == nil {
			t.Fatal("Verify passed after an update changed a shard")
		}
		want := append([]float32(nil), b.Params(tc.blocks-1)...)
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		b, err = Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Verify(); err != nil {
			t.Fatal(err)
		}
		for i, x := range b.Params(tc.blocks - 1) {
			if x != want[i] {
				t.Fatalf("reopened parameter %d = %g, want %g", i, x, want[i])
			}
		}
		if b.Steps(tc.blocks-1) != 1 || (tc.blocks > 1 && b.Steps(0) != 0) {
			t.Fatalf("steps %d and %d", b.Steps(tc.blocks-1), b.Steps(0))
		}
		b.Close()
	}
}

// TestUpdateIsAdamW checks a block's update against optim's AdamW on the
// same values and gradients.
func TestUpdateIsAdamW(t *testing.T) {
	const n = 9
	b, err := Create(t.TempDir(), 3, n, 2, initValues)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	p := autograd.NewParam("w", autograd.RoleMatrix, tensor.FromFloat32(append([]float32(nil), b.Params(1)...), n))
	o := AdamW{LR: 0.01, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.1}
	ref := optim.NewAdamW([]*optim.Group{{Params: []*autograd.Var{p}, LR: o.LR, WeightDecay: o.WeightDecay}})
	ref.Beta1, ref.Beta2, ref.Eps = o.Beta1, o.Beta2, o.Eps
	rng := tensor.NewRNG(3)
	for range 5 {
		g := tensor.RandN(rng, 1, n)
		p.Grad = g
		ref.Step()
		if err := b.Update(1, g.F32(), o); err != nil {
			t.Fatal(err)
		}
	}
	for i, x := range b.Params(1) {
		if d := x - p.Value.F32()[i]; d > 1e-6 || d < -1e-6 {
			t.Fatalf("parameter %d: bank %g, optim %g", i, x, p.Value.F32()[i])
		}
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name    string
		breakIt func(dir string)
		want    string
	}{
		{"missing shard", func(dir string) { os.Remove(filepath.Join(dir, "shard-00001.bin")) }, "shard-00001.bin"},
		{"short shard", func(dir string) { os.Truncate(filepath.Join(dir, "shard-00000.bin"), 10) }, "shard-00000.bin"},
		{"missing manifest", func(dir string) { os.Remove(filepath.Join(dir, ManifestName)) }, ManifestName},
		{"bad manifest", func(dir string) { os.WriteFile(filepath.Join(dir, ManifestName), []byte("{"), 0o644) }, ManifestName},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			b, err := Create(dir, 5, 4, 2, nil)
			if err != nil {
				t.Fatal(err)
			}
			b.Close()
			tc.breakIt(dir)
			_, err = Open(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming %s", err, tc.want)
			}
		})
	}
	if _, err := Create(t.TempDir(), 0, 4, 2, nil); err == nil || !strings.Contains(err.Error(), "blocks") {
		t.Fatalf("zero blocks: %v", err)
	}
}
