package gguf

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestGGMLReference reads testdata/ggml_reference.gguf, written by ggml's
// own writer (gguf_write_to_file) with one value of each scalar type, two
// arrays and three tensors, and checks that the Writer reproduces it byte
// for byte from what was read.
func TestGGMLReference(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "ggml_reference.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	f := mustParse(t, raw)
	want := []KV{
		{"a.u8", uint8(200)}, {"a.i8", int8(-5)}, {"a.u16", uint16(60000)}, {"a.i16", int16(-300)},
		{"a.u32", uint32(4000000000)}, {"a.i32", int32(-70000)}, {"a.f32", float32(0.125)}, {"a.bool", true},
		{"a.str", "hello"}, {"a.u64", uint64(1 << 40)}, {"a.i64", int64(-1 << 40)}, {"a.f64", 2.5},
		{"a.arr_i32", []int32{1, -2, 3}}, {"a.arr_str", []string{"x", "yz"}},
	}
	if !reflect.DeepEqual(f.KV, want) {
		t.Errorf("KV = %#v\nwant %#v", f.KV, want)
	}
	wantTensors := []TensorInfo{
		{Name: "w", Shape: []int{2, 3}, Type: F32, Offset: 0, Size: 24},
		{Name: "h", Shape: []int{5}, Type: F16, Offset: 32, Size: 10},
		{Name: "q", Shape: []int{2, 64}, Type: Q8_0, Offset: 64, Size: 136},
	}
	if !reflect.DeepEqual(f.Tensors, wantTensors) || f.DataOffset != 512 || f.Version != 3 {
		t.Errorf("Tensors = %+v, DataOffset %d, Version %d", f.Tensors, f.DataOffset, f.Version)
	}
	if v, err := f.Float32s("w"); err != nil || !slices.Equal(v, []float32{0, 1.5, 3, 4.5, 6, 7.5}) {
		t.Errorf("w = %v, %v", v, err)
	}
	if v, err := f.Float32s("h"); err != nil || !slices.Equal(v, []float32{-2, -1, 0, 1, 2}) {
		t.Errorf("h = %v, %v", v, err)
	}
	// ggml quantized q from (i%17)*0.37 - 3 with quantize_row_q8_0_ref.
	src := make([]float32, 128)
	for i := range src {
		src[i] = float32(i%17)*0.37 - 3
	}
	q := make([]byte, 4*34)
	QuantizeQ8_0(q, src)
	if b, _ := f.TensorBytes("q"); !bytes.Equal(b, q) {
		t.Errorf("QuantizeQ8_0 differs from ggml's:\n% x\n% x", q, b)
	}
	if got := reencode(t, f); !bytes.Equal(got, raw) {
		t.Errorf("the Writer does not reproduce ggml's file:\n% x\nwant\n% x", got, raw)
	}
}

// reencode writes what f holds with a Writer.
func reencode(t testing.TB, f *File) []byte {
	t.Helper()
	w := NewWriter()
	for _, kv := range f.KV {
		if err := w.Add(kv.Key, kv.Value); err != nil {
			t.Fatalf("re-adding a parsed key: %v", err)
		}
	}
	for _, in := range f.Tensors {
		b, err := f.TensorBytes(in.Name)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.AddTensor(in.Name, in.Shape, in.Type, b); err != nil {
			t.Fatalf("re-adding a parsed tensor: %v", err)
		}
	}
	return encode(t, w)
}

// fuzzSeeds returns the inputs FuzzParse starts from: valid files of many
// kinds and malformed ones of every kind TestCorruptHeaders builds.
func fuzzSeeds(t testing.TB) [][]byte {
	seeds := [][]byte{smallFile(t)}
	if raw, err := os.ReadFile(filepath.Join("testdata", "ggml_reference.gguf")); err == nil {
		seeds = append(seeds, raw)
	}
	w := NewWriter()
	for _, kv := range allValues(rand.New(rand.NewPCG(1, 1))) {
		mustAdd(t, w, kv.Key, kv.Value)
	}
	mustAdd(t, w, AlignmentKey, uint32(8))
	mustAddTensor(t, w, "bf", []int{3}, BF16, make([]byte, 6))
	mustAddTensor(t, w, "f16", []int{1, 2}, F16, []byte{0, 0x3c, 0, 0xc0})
	mustAddTensor(t, w, "k", []int{256}, Q2_K, make([]byte, 84))
	seeds = append(seeds, encode(t, w))
	// One tensor of each block type package quant dequantises (random
	// blocks: scales and codes of every kind).
	rng := rand.New(rand.NewPCG(2, 2))
	wq := NewWriter()
	for i, typ := range []Type{Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K} {
		n, _ := typ.RowBytes(256)
		b := make([]byte, n)
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		mustAddTensor(t, wq, fmt.Sprintf("q%d", i), []int{256}, typ, b)
	}
	seeds = append(seeds, encode(t, wq))
	seeds = append(seeds,
		encode(t, NewWriter()),
		header(2, 0, 1).kv("a", ValueUint8).u8(1).b,
		header(3, 2, 0).tensor("late", []uint64{4}, F32, 64).tensor("early", []uint64{2}, F16, 0).pad(32, 87).b,
		header(3, 1, 0).tensor("t", []uint64{math.MaxInt32, math.MaxInt32, math.MaxInt32}, F32, 0).b,
		header(3, 2, 0).tensor("a", []uint64{16}, F32, 0).tensor("b", []uint64{1}, F32, 32).pad(32, 64).b,
		header(3, 0, 1).kv("n", ValueArray).u32(uint32(ValueArray)).u64(2).u32(0).u64(1).u8(7).u32(uint32(ValueString)).u64(1).str("s").b,
		header(0x03000000, 0, 0).b,
		[]byte("GGUF"), nil,
	)
	return seeds
}

// FuzzParse checks that Parse never panics, that its errors name the file,
// that what it accepts is consistent (tensors inside the file, aligned,
// sized by their type and shape), and that it survives a round trip
// through the Writer: re-encoding a parsed file parses to the same
// metadata, tensors and bytes, and re-encoding that gives the same file.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "fuzz.gguf"
		file, err := Parse(name, data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "gguf: "+name+": ") {
				t.Fatalf("error %q does not name the file", err)
			}
			if _, ok := errors.AsType[*Error](err); !ok {
				t.Fatalf("error %#v is not an *Error", err)
			}
			return
		}
		if file.Alignment <= 0 || file.Alignment&(file.Alignment-1) != 0 {
			t.Fatalf("alignment %d", file.Alignment)
		}
		for _, in := range file.Tensors {
			size, err := in.Type.RowBytes(in.NumElements())
			if err != nil || size != in.Size || len(in.Shape) < 1 || len(in.Shape) > MaxDims {
				t.Fatalf("tensor %+v: RowBytes = %d, %v", in, size, err)
			}
			if in.Offset%uint64(file.Alignment) != 0 || file.DataOffset+int64(in.Offset)+int64(in.Size) > int64(len(data)) {
				t.Fatalf("tensor %+v outside the file or misaligned", in)
			}
			b, err := file.TensorBytes(in.Name)
			if err != nil || len(b) != in.Size {
				t.Fatalf("TensorBytes(%q): %d bytes, %v", in.Name, len(b), err)
			}
			if v, err := file.Float32s(in.Name); err == nil && len(v) != in.NumElements() {
				t.Fatalf("Float32s(%q) has %d values, want %d", in.Name, len(v), in.NumElements())
			}
		}
		for _, in := range file.Tensors {
			if len(in.Name) > maxWriterTensorName {
				return // readable, but the Writer keeps to ggml's limit
			}
		}
		enc := reencode(t, file)
		again, err := Parse(name, enc)
		if err != nil {
			t.Fatalf("parsing the re-encoded file: %v", err)
		}
		if len(again.KV) != len(file.KV) || len(again.Tensors) != len(file.Tensors) || again.Alignment != file.Alignment {
			t.Fatalf("re-encoding changed the counts or alignment")
		}
		for i, kv := range file.KV {
			a, _ := appendValue(nil, kv.Value, true, 1)
			b, _ := appendValue(nil, again.KV[i].Value, true, 1)
			if again.KV[i].Key != kv.Key || !bytes.Equal(a, b) {
				t.Fatalf("key %q changed by re-encoding", kv.Key)
			}
		}
		for i, in := range file.Tensors {
			got := again.Tensors[i]
			if got.Name != in.Name || !slices.Equal(got.Shape, in.Shape) || got.Type != in.Type || got.Size != in.Size {
				t.Fatalf("tensor %+v became %+v", in, got)
			}
			b1, _ := file.TensorBytes(in.Name)
			b2, _ := again.TensorBytes(in.Name)
			if !bytes.Equal(b1, b2) {
				t.Fatalf("tensor %q bytes changed by re-encoding", in.Name)
			}
		}
		if enc2 := reencode(t, again); !bytes.Equal(enc2, enc) {
			t.Fatal("encoding is not canonical")
		}
	})
}

// TestFuzzCorpusNames checks the hand-made files of the committed fuzz
// corpus: those named valid_* parse, those named invalid_* do not.
func TestFuzzCorpusNames(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzParse")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	count := 0
	for _, e := range ents {
		valid := strings.HasPrefix(e.Name(), "valid_")
		if !valid && !strings.HasPrefix(e.Name(), "invalid_") {
			continue
		}
		count++
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
		if len(lines) != 2 || lines[0] != "go test fuzz v1" || !strings.HasPrefix(lines[1], "[]byte(") || !strings.HasSuffix(lines[1], ")") {
			t.Fatalf("%s: not a one-value corpus file", e.Name())
		}
		data, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
		if err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		_, err = Parse(e.Name(), []byte(data))
		if valid != (err == nil) {
			t.Errorf("%s: Parse error = %v", e.Name(), err)
		}
	}
	if count < 10 {
		t.Errorf("only %d named corpus files", count)
	}
}
