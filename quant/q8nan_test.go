package quant

import (
	"bytes"
	"math"
	"testing"

	"github.com/loomml/loom/dtype"
)

// TestQ8NaNBlock: a block holding a NaN takes ggml's MAX semantics (a NaN
// maximum is replaced by a later value) in Q8_0 and Q8_1 alike, so both
// get the scale of the finite values.
func TestQ8NaNBlock(t *testing.T) {
	x := make([]float32, 32)
	for i := range x {
		x[i] = float32(i) - 10
	}
	x[0] = float32(math.NaN())
	q0, err := Quantize(dtype.Q8_0, x)
	if err != nil {
		t.Fatal(err)
	}
	q1, err := Quantize(dtype.Q8_1, x)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(q0[:2], q1[:2]) {
		t.Fatalf("Q8_0 scale %x, Q8_1 scale %x", q0[:2], q1[:2])
	}
	if d := f16(q0); d != roundF16(21.0/127) {
		t.Fatalf("scale %v, want that of max |x| = 21", d)
	}
	if !bytes.Equal(q0[3:34], q1[5:36]) {
		t.Fatal("Q8_0 and Q8_1 quantise the finite values differently")
	}
}
