package forecast

import (
	"testing"

	"github.com/loomml/loom/format/safetensors"
	"github.com/loomml/loom/tensor"
)

// The fixtures come from testdata/gen_parity.py (PyTorch 1.13, float32):
// iTransformer and DLinear written from the official code, eval mode.
func TestParityWithPyTorch(t *testing.T) {
	f, err := safetensors.Open("testdata/parity.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	get := func(name string) *tensor.Tensor {
		data, shape, err := f.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		return tensor.FromFloat32(data, shape...)
	}
	x, mark := get("x"), get("mark")
	for _, c := range []struct {
		arch string
		cfg  Config
	}{
		{"itransformer", Config{Arch: "itransformer", Lookback: 24, Horizon: 8, Variates: 5, Marks: 4, DModel: 16, DFF: 32, Heads: 4, Layers: 2, UseNorm: true}},
		{"dlinear", Config{Arch: "dlinear", Lookback: 24, Horizon: 8, Kernel: 25}},
	} {
		m, err := New(c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m.Params() {
			want := get(c.arch + "." + p.Name)
			if !tensor.EqualShape(want.Shape(), p.Shape()) {
				t.Fatalf("%s: %s is %v, PyTorch %v", c.arch, p.Name, p.Shape(), want.Shape())
			}
			p.Value = want
		}
		marks := mark
		if c.arch == "dlinear" {
			marks = nil
		}
		got, want := forward(t, m, x, marks), get(c.arch+".out")
		if d := maxDiff(got, want); d > 2e-5*(1+maxAbs(want)) {
			t.Errorf("%s: max |Δ| %.3g against PyTorch", c.arch, d)
		}
	}
}

func maxAbs(t *tensor.Tensor) float64 {
	var m float64
	for _, v := range t.Float64s() {
		m = max(m, v, -v)
	}
	return m
}
