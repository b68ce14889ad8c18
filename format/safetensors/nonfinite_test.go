package safetensors

import (
	"bytes"
	"math"
	"testing"

	"github.com/loomml/loom/dtype"
)

// TestNonFinite checks File.NonFinite on every float dtype, the 8-bit
// ones included, and that integer and boolean tensors have none.
func TestNonFinite(t *testing.T) {
	f64 := func(v ...float64) []byte {
		tt, err := FromFloat64("x", []int{len(v)}, v, F64)
		if err != nil {
			t.Fatal(err)
		}
		return tt.Data
	}
	f32 := func(dt DType, v ...float32) []byte {
		tt, err := FromFloat32("x", []int{len(v)}, v, dt)
		if err != nil {
			t.Fatal(err)
		}
		return tt.Data
	}
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for _, tc := range []struct {
		name  string
		dt    DType
		data  []byte
		count int
		first int
		value string
	}{
		{"F32", F32, f32(F32, 1, nan, 3, -inf), 2, 1, "NaN"},
		{"F16", F16, f32(F16, 1, 2, inf), 1, 2, "+Inf"},
		{"BF16", BF16, f32(BF16, -inf, 2), 1, 0, "-Inf"},
		{"F64", F64, f64(1, math.NaN()), 1, 1, "NaN"},
		{"F8_E4M3 NaN", F8_E4M3, []byte{0x38, 0x7e, 0xff, 0x7f}, 2, 2, "NaN"}, // 0x7e is 448, finite
		{"F8_E5M2 -Inf", F8_E5M2, []byte{0x3c, 0x7b, 0xfc, 0x7e}, 2, 2, "-Inf"},
		{"I32", I32, []byte{0x00, 0x00, 0xc0, 0x7f}, 0, -1, ""},
		{"BOOL", BOOL, []byte{1, 0, 1}, 0, -1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			size := tc.dt.Size()
			var buf bytes.Buffer
			if err := Encode(&buf, []Tensor{{Name: "x", DType: tc.dt, Shape: []int{len(tc.data) / size}, Data: tc.data}}, nil); err != nil {
				t.Fatal(err)
			}
			f, err := Parse("m.safetensors", buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			nf, err := f.NonFinite("x")
			if err != nil || nf.Count != tc.count || nf.First != tc.first || tc.count > 0 && dtype.Describe(nf.Value) != tc.value {
				t.Fatalf("got %+v, %v; want count %d, first %d (%s)", nf, err, tc.count, tc.first, tc.value)
			}
			if _, err := f.NonFinite("y"); err == nil {
				t.Fatal("no error for a tensor the file lacks")
			}
		})
	}
}
