package safetensors

import (
	"path/filepath"
	"testing"

	"github.com/loomml/loom/tensor"
)

func TestLoomTensorRoundTrip(t *testing.T) {
	r := tensor.NewRNG(1)
	x32 := tensor.RandN(r, 3, 4).Transpose(0, 1) // a view: encoded in logical order
	x64 := tensor.RandN(r, 2, 2).To(tensor.Float64)
	var ts []Tensor
	for _, c := range []struct {
		name string
		t    *tensor.Tensor
		dt   DType
	}{{"a", x32, F32}, {"b", x64, F64}, {"c", x32, BF16}} {
		e, err := FromTensor(c.name, c.t, c.dt)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, e)
	}
	path := filepath.Join(t.TempDir(), "t.safetensors")
	if err := Write(path, ts, nil); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a, _ := f.Tensor("a")
	b, _ := f.Tensor("b")
	c, _ := f.Tensor("c")
	if b.DType() != tensor.Float64 || a.DType() != tensor.Float32 {
		t.Fatalf("dtypes %v %v", a.DType(), b.DType())
	}
	for i := 0; i < 4; i++ {
		for j := 0; j < 3; j++ {
			want := x32.At(i, j)
			if a.At(i, j) != want {
				t.Fatalf("a[%d,%d] = %v, want %v", i, j, a.At(i, j), want)
			}
			if d := c.At(i, j) - want; d > 0.01*abs(want) || d < -0.01*abs(want) {
				t.Fatalf("bf16 c[%d,%d] = %v, want ≈ %v", i, j, c.At(i, j), want)
			}
		}
	}
	if b.At(1, 1) != x64.At(1, 1) {
		t.Fatal("float64 changed")
	}
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}
