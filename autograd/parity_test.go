package autograd

import (
	"fmt"
	"math"
	"testing"

	"github.com/loomml/loom/format/safetensors"
	"github.com/loomml/loom/tensor"
)

// The PyTorch fixtures come from testdata/gen_parity.py (PyTorch 1.13, float32).

func loadParity(t *testing.T) *safetensors.File {
	return openFixtures(t, "testdata/parity.safetensors")
}

// openFixtures opens a fixture file for the test's duration.
func openFixtures(t *testing.T, path string) *safetensors.File {
	t.Helper()
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func fixture(t *testing.T, f *safetensors.File, name string) *tensor.Tensor {
	t.Helper()
	data, shape, err := f.Float32(name)
	if err != nil {
		t.Fatal(err)
	}
	return tensor.FromFloat32(data, shape...)
}

// assertClose compares got with the PyTorch value want: every element within
// tol·max(1, max|want|).
func assertClose(t *testing.T, what string, got, want *tensor.Tensor, tol float64) {
	t.Helper()
	if !tensor.EqualShape(got.Shape(), want.Shape()) {
		t.Fatalf("%s: shape %v, PyTorch %v", what, got.Shape(), want.Shape())
	}
	g, w := got.Float64s(), want.Float64s()
	scale := 1.0
	for _, v := range w {
		scale = math.Max(scale, math.Abs(v))
	}
	for i := range w {
		if d := math.Abs(g[i] - w[i]); !(d <= tol*scale) {
			t.Fatalf("%s element %d: %.9g, PyTorch %.9g (|diff| %.3g > %.3g)", what, i, g[i], w[i], d, tol*scale)
		}
	}
}

// parityTol is the tolerance for float32 results against PyTorch's float32
// results on these small inputs (relative to the largest magnitude).
const parityTol = 2e-6

// loomOnly names gradcheck cases without a PyTorch fixture: softmax_dropout
// and dropout_seeded draw their masks from loom's RNG, which PyTorch cannot
// replay (tensor's tests check them against softmax and a plain mask).
var loomOnly = map[string]bool{"softmax_dropout": true, "dropout_seeded": true}

func TestParityWithPyTorch(t *testing.T) {
	f := loadParity(t)
	for _, c := range opCases() {
		if loomOnly[c.name] {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			xs := make([]*Var, len(c.shapes))
			for i := range xs {
				xs[i] = Leaf(fixture(t, f, fmt.Sprintf("%s.in%d", c.name, i)))
			}
			y := c.f(xs)
			assertClose(t, "output", y.Value, fixture(t, f, c.name+".out"), parityTol)
			y.BackwardWith(fixture(t, f, c.name+".gout"))
			for i, x := range xs {
				want := fixture(t, f, fmt.Sprintf("%s.gin%d", c.name, i))
				got := x.Grad
				if got == nil {
					got = tensor.ZerosLike(x.Value)
				}
				assertClose(t, fmt.Sprintf("gradient of input %d", i), got, want, parityTol)
			}
		})
	}
}

// TestDropoutTorchMask feeds a mask drawn by torch's F.dropout and checks
// the output and gradient against PyTorch's.
func TestDropoutTorchMask(t *testing.T) {
	f := loadParity(t)
	x := Leaf(fixture(t, f, "dropout_torch.in0"))
	y := DropoutMask(x, fixture(t, f, "dropout_torch.mask"))
	assertClose(t, "output", y.Value, fixture(t, f, "dropout_torch.out"), 1e-7)
	y.BackwardWith(fixture(t, f, "dropout_torch.gout"))
	assertClose(t, "gradient", x.Grad, fixture(t, f, "dropout_torch.gin0"), 1e-7)
}

func TestRopeTablesMatchTransformers(t *testing.T) {
	f := loadParity(t)
	var pos []int
	for p := 0; p < 4096; p += 37 {
		pos = append(pos, p)
	}
	cos, sin := tensor.RopeTables(pos, 64, 500000)
	assertClose(t, "cos", cos, fixture(t, f, "rope.cos"), 1e-7)
	assertClose(t, "sin", sin, fixture(t, f, "rope.sin"), 1e-7)
}
