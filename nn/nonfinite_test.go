package nn

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/format/safetensors"
	"github.com/loomml/loom/tensor"
)

// TestLoadParamsNonFinite checks that a checkpoint holding a NaN or an
// infinity (as F32, F16 or BF16) is refused, naming the file, the tensor
// and the element, and that the parameters are left as they were.
func TestLoadParamsNonFinite(t *testing.T) {
	for _, tc := range []struct {
		dt   safetensors.DType
		v    float32
		want string
	}{
		{safetensors.F32, float32(math.NaN()), "element 5 is NaN (the file is corrupt)"},
		{safetensors.F16, float32(math.Inf(1)), "element 5 is +Inf (the file is corrupt)"},
		{safetensors.BF16, float32(math.Inf(-1)), "element 5 is -Inf (the file is corrupt)"},
	} {
		t.Run(string(tc.dt), func(t *testing.T) {
			a := &autograd.Var{Name: "a.weight", Value: tensor.FromFloat32([]float32{1, 2, 3, 4}, 2, 2)}
			b := &autograd.Var{Name: "b.weight", Value: tensor.FromFloat32(make([]float32, 8), 2, 4)}
			b.Value.F32()[5] = tc.v
			path := filepath.Join(t.TempDir(), "w.safetensors")
			if err := SaveParams(path, []*autograd.Var{a, b}, tc.dt, nil); err != nil {
				t.Fatal(err)
			}
			a2 := &autograd.Var{Name: "a.weight", Value: tensor.New(tensor.Float32, 2, 2)}
			b2 := &autograd.Var{Name: "b.weight", Value: tensor.New(tensor.Float32, 2, 4)}
			err := LoadParams(path, []*autograd.Var{a2, b2})
			want := path + ": tensor b.weight: " + tc.want
			if err == nil || err.Error() != want {
				t.Fatalf("got %v, want %q", err, want)
			}
			for _, x := range b2.Value.F32() {
				if x != 0 {
					t.Fatalf("b.weight changed to %v", b2.Value.F32())
				}
			}
		})
	}
}
