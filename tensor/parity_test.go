package tensor_test

import (
	"testing"

	"github.com/loomml/loom/format/safetensors"
	"github.com/loomml/loom/tensor"
)

// TestHalfConversionMatchesPyTorch compares bf16 and f16 rounding with
// PyTorch's .to(torch.bfloat16) and .to(torch.float16) on awkward values and
// 2000 random ones over a wide range (fixture from
// autograd/testdata/gen_parity.py).
func TestHalfConversionMatchesPyTorch(t *testing.T) {
	f, err := safetensors.Open("../autograd/testdata/parity.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vals, _, err := f.Float32("convert.f32")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		conv func(float32) uint16
	}{{"convert.bf16", tensor.BF16FromFloat32}, {"convert.f16", tensor.F16FromFloat32}} {
		want, _, err := f.Int64(c.name)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			if got := c.conv(v); got != uint16(want[i]) {
				t.Errorf("%s of %v: %#04x, PyTorch %#04x", c.name, v, got, uint16(want[i]))
			}
		}
	}
}
