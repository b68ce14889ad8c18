package gguf

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"
)

// TestNonFinite checks File.NonFinite on a float tensor, the scales of a
// Q8_0 tensor, and a type whose scales are unknown (not checked).
func TestNonFinite(t *testing.T) {
	w := NewWriter()
	f32 := make([]byte, 4*8)
	binary.LittleEndian.PutUint32(f32[4*6:], math.Float32bits(float32(math.Inf(-1))))
	q8 := make([]byte, 3*34)
	binary.LittleEndian.PutUint16(q8[2*34:], 0x7e00) // NaN scale of block 2
	for _, tt := range []struct {
		name string
		typ  Type
		n    int
		data []byte
	}{
		{"f32", F32, 8, f32}, {"q8", Q8_0, 96, q8}, {"iq1m", IQ1_M, 256, make([]byte, 56)},
	} {
		if err := w.AddTensor(tt.name, []int{tt.n}, tt.typ, tt.data); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := Parse("m.gguf", buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if nf, ok, err := f.NonFinite("f32"); err != nil || !ok || nf.Count != 1 || nf.First != 6 || !math.IsInf(nf.Value, -1) || nf.Scale {
		t.Errorf("f32: %+v, %v, %v", nf, ok, err)
	}
	if nf, ok, err := f.NonFinite("q8"); err != nil || !ok || nf.Count != 1 || nf.First != 64 || !math.IsNaN(nf.Value) || !nf.Scale {
		t.Errorf("q8_0: %+v, %v, %v", nf, ok, err)
	}
	if nf, ok, err := f.NonFinite("iq1m"); err != nil || ok || nf.Count != 0 {
		t.Errorf("iq1_m: %+v, %v, %v; want not checked", nf, ok, err)
	}
	if _, _, err := f.NonFinite("nope"); err == nil {
		t.Error("no error for a tensor the file lacks")
	}
}
