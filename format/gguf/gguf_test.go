package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/loomml/loom/tensor"
)

// builder assembles GGUF bytes by hand, for layouts the Writer will not
// produce.
type builder struct{ b []byte }

func (b *builder) u8(v uint8) *builder   { b.b = append(b.b, v); return b }
func (b *builder) u32(v uint32) *builder { b.b = binary.LittleEndian.AppendUint32(b.b, v); return b }
func (b *builder) u64(v uint64) *builder { b.b = binary.LittleEndian.AppendUint64(b.b, v); return b }
func (b *builder) str(s string) *builder { b.u64(uint64(len(s))); b.b = append(b.b, s...); return b }
func (b *builder) raw(p ...byte) *builder {
	b.b = append(b.b, p...)
	return b
}

// header starts a file with the magic, a version and the two counts.
func header(version uint32, nTensors, nKV uint64) *builder {
	b := &builder{b: []byte(Magic)}
	return b.u32(version).u64(nTensors).u64(nKV)
}

// kv appends a key and its value type (the caller appends the value).
func (b *builder) kv(key string, vt ValueType) *builder { return b.str(key).u32(uint32(vt)) }

// tensor appends a tensor info; ne is innermost first, as in the file.
func (b *builder) tensor(name string, ne []uint64, t Type, off uint64) *builder {
	b.str(name).u32(uint32(len(ne)))
	for _, d := range ne {
		b.u64(d)
	}
	return b.u32(uint32(t)).u64(off)
}

// pad appends zeros up to a multiple of align, then n more zero bytes of
// tensor data.
func (b *builder) pad(align, n int) *builder {
	for len(b.b)%align != 0 {
		b.b = append(b.b, 0)
	}
	b.b = append(b.b, make([]byte, n)...)
	return b
}

// encode returns the bytes w writes.
func encode(t testing.TB, w *Writer) []byte {
	t.Helper()
	var buf bytes.Buffer
	n, err := w.WriteTo(&buf)
	if err != nil {
		t.Fatalf("WriteTo: %v", err)
	}
	if n != int64(buf.Len()) {
		t.Fatalf("WriteTo returned %d, wrote %d bytes", n, buf.Len())
	}
	return buf.Bytes()
}

func mustAdd(t testing.TB, w *Writer, key string, v any) {
	t.Helper()
	if err := w.Add(key, v); err != nil {
		t.Fatal(err)
	}
}

func mustAddTensor(t testing.TB, w *Writer, name string, shape []int, typ Type, data []byte) {
	t.Helper()
	if err := w.AddTensor(name, shape, typ, data); err != nil {
		t.Fatal(err)
	}
}

func mustParse(t testing.TB, data []byte) *File {
	t.Helper()
	f, err := Parse("test.gguf", data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return f
}

func TestTypeTable(t *testing.T) {
	for _, tc := range []struct {
		t           Type
		name        string
		block, size int
	}{
		{F32, "F32", 1, 4}, {F16, "F16", 1, 2}, {Q4_0, "Q4_0", 32, 18}, {Q4_1, "Q4_1", 32, 20},
		{Q4_2, "Q4_2", 0, 0}, {Q4_3, "Q4_3", 0, 0},
		{Q5_0, "Q5_0", 32, 22}, {Q5_1, "Q5_1", 32, 24}, {Q8_0, "Q8_0", 32, 34}, {Q8_1, "Q8_1", 32, 36},
		{Q2_K, "Q2_K", 256, 84}, {Q3_K, "Q3_K", 256, 110}, {Q4_K, "Q4_K", 256, 144}, {Q5_K, "Q5_K", 256, 176},
		{Q6_K, "Q6_K", 256, 210}, {Q8_K, "Q8_K", 256, 292},
		{IQ2_XXS, "IQ2_XXS", 256, 66}, {IQ2_XS, "IQ2_XS", 256, 74}, {IQ3_XXS, "IQ3_XXS", 256, 98},
		{IQ1_S, "IQ1_S", 256, 50}, {IQ4_NL, "IQ4_NL", 32, 18}, {IQ3_S, "IQ3_S", 256, 110},
		{IQ2_S, "IQ2_S", 256, 82}, {IQ4_XS, "IQ4_XS", 256, 136},
		{I8, "I8", 1, 1}, {I16, "I16", 1, 2}, {I32, "I32", 1, 4}, {I64, "I64", 1, 8}, {F64, "F64", 1, 8},
		{IQ1_M, "IQ1_M", 256, 56}, {BF16, "BF16", 1, 2},
		{Q4_0_4_4, "Q4_0_4_4", 0, 0}, {Q4_0_4_8, "Q4_0_4_8", 0, 0}, {Q4_0_8_8, "Q4_0_8_8", 0, 0},
		{TQ1_0, "TQ1_0", 256, 54}, {TQ2_0, "TQ2_0", 256, 66},
		{IQ4_NL_4_4, "IQ4_NL_4_4", 0, 0}, {IQ4_NL_4_8, "IQ4_NL_4_8", 0, 0}, {IQ4_NL_8_8, "IQ4_NL_8_8", 0, 0},
		{MXFP4, "MXFP4", 32, 17}, {NVFP4, "NVFP4", 64, 36}, {Q1_0, "Q1_0", 128, 18}, {Q2_0, "Q2_0", 64, 18},
		{43, "Type(43)", 0, 0}, {math.MaxUint32, "Type(4294967295)", 0, 0},
	} {
		if got := tc.t.String(); got != tc.name {
			t.Errorf("Type(%d).String() = %q, want %q", uint32(tc.t), got, tc.name)
		}
		if got := tc.t.BlockSize(); got != tc.block {
			t.Errorf("%s.BlockSize() = %d, want %d", tc.name, got, tc.block)
		}
		if got := tc.t.TypeSize(); got != tc.size {
			t.Errorf("%s.TypeSize() = %d, want %d", tc.name, got, tc.size)
		}
		if tc.t.Known() != (tc.block != 0) {
			t.Errorf("%s.Known() = %v", tc.name, tc.t.Known())
		}
		n, err := tc.t.RowBytes(tc.block * 3)
		if tc.block == 0 {
			if err == nil {
				t.Errorf("%s.RowBytes succeeded", tc.name)
			}
			continue
		}
		if err != nil || n != 3*tc.size {
			t.Errorf("%s.RowBytes(%d) = %d, %v; want %d", tc.name, 3*tc.block, n, err, 3*tc.size)
		}
	}
	for _, tc := range []struct {
		t    Type
		n    int
		want string
	}{
		{Q8_0, 33, "not a multiple of its block size 32"},
		{Q4_K, 128, "not a multiple of its block size 256"},
		{F32, -1, "must be non-negative"},
		{F64, math.MaxInt, "more bytes than fit in an int"},
		{Q4_2, 32, "removed"},
		{99, 1, "not a ggml type"},
	} {
		if _, err := tc.t.RowBytes(tc.n); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s.RowBytes(%d) error = %v, want it to mention %q", tc.t, tc.n, err, tc.want)
		}
	}
	if n, err := F16.RowBytes(0); n != 0 || err != nil {
		t.Errorf("F16.RowBytes(0) = %d, %v", n, err)
	}
}

func TestValueTypeNames(t *testing.T) {
	want := []string{"UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32", "FLOAT32", "BOOL", "STRING", "ARRAY", "UINT64", "INT64", "FLOAT64"}
	for i, name := range want {
		if got := ValueType(i).String(); got != name || !ValueType(i).Valid() {
			t.Errorf("ValueType(%d) = %q (valid %v), want %q", i, got, ValueType(i).Valid(), name)
		}
	}
	if got := ValueType(13).String(); got != "ValueType(13)" || ValueType(13).Valid() {
		t.Errorf("ValueType(13) = %q", got)
	}
}

// allValues returns one metadata value of every Go type the package maps
// to GGUF, with random contents.
func allValues(r *rand.Rand) []KV {
	str := func() string {
		b := make([]byte, r.IntN(12))
		for i := range b {
			b[i] = byte(r.IntN(256)) // GGUF strings are bytes; not all UTF-8
		}
		return string(b)
	}
	n := func() int { return 1 + r.IntN(7) }
	var kvs []KV
	add := func(k string, v any) { kvs = append(kvs, KV{k, v}) }
	add("u8", uint8(r.Uint32()))
	add("i8", int8(r.Uint32()))
	add("u16", uint16(r.Uint32()))
	add("i16", int16(r.Uint32()))
	add("u32", r.Uint32())
	add("i32", int32(r.Uint32()))
	add("f32", float32(r.NormFloat64()))
	add("bool.true", true)
	add("bool.false", false)
	add("str", str())
	add("str.empty", "")
	add("str.utf8", "héllo, 世界")
	add("u64", r.Uint64())
	add("i64", int64(r.Uint64()))
	add("f64", r.NormFloat64())
	add("f32.inf", float32(math.Inf(-1)))
	add("f64.max", math.MaxFloat64)
	au8 := make([]uint8, n())
	ai8 := make([]int8, n())
	au16 := make([]uint16, n())
	ai16 := make([]int16, n())
	au32 := make([]uint32, n())
	ai32 := make([]int32, n())
	af32 := make([]float32, n())
	ab := make([]bool, n())
	as := make([]string, n())
	au64 := make([]uint64, n())
	ai64 := make([]int64, n())
	af64 := make([]float64, n())
	for i := range au8 {
		au8[i] = uint8(r.Uint32())
	}
	for i := range ai8 {
		ai8[i] = int8(r.Uint32())
	}
	for i := range au16 {
		au16[i] = uint16(r.Uint32())
	}
	for i := range ai16 {
		ai16[i] = int16(r.Uint32())
	}
	for i := range au32 {
		au32[i] = r.Uint32()
	}
	for i := range ai32 {
		ai32[i] = int32(r.Uint32())
	}
	for i := range af32 {
		af32[i] = float32(r.NormFloat64())
	}
	for i := range ab {
		ab[i] = r.IntN(2) == 1
	}
	for i := range as {
		as[i] = str()
	}
	for i := range au64 {
		au64[i] = r.Uint64()
	}
	for i := range ai64 {
		ai64[i] = int64(r.Uint64())
	}
	for i := range af64 {
		af64[i] = r.NormFloat64()
	}
	add("arr.u8", au8)
	add("arr.i8", ai8)
	add("arr.u16", au16)
	add("arr.i16", ai16)
	add("arr.u32", au32)
	add("arr.i32", ai32)
	add("arr.f32", af32)
	add("arr.bool", ab)
	add("arr.str", as)
	add("arr.u64", au64)
	add("arr.i64", ai64)
	add("arr.f64", af64)
	add("arr.empty.u32", []uint32{})
	add("arr.empty.str", []string{})
	add("arr.nested", []any{[]string{"a", "bc"}, []uint32{1, 2, 3}, []any{[]int8{-1}, []any{}}, []bool{}})
	add("arr.nested.empty", []any{})
	return kvs
}

func TestRoundTripValues(t *testing.T) {
	for seed := range uint64(5) {
		r := rand.New(rand.NewPCG(seed, 99))
		kvs := allValues(r)
		r.Shuffle(len(kvs), func(i, j int) { kvs[i], kvs[j] = kvs[j], kvs[i] })
		w := NewWriter()
		for _, kv := range kvs {
			mustAdd(t, w, kv.Key, kv.Value)
		}
		if got := w.Keys(); len(got) != len(kvs) || got[0] != kvs[0].Key {
			t.Fatalf("Keys() = %q", got)
		}
		data := encode(t, w)
		f := mustParse(t, data)
		if f.Version != 3 || len(f.Tensors) != 0 || f.Alignment != 32 {
			t.Errorf("Version %d, %d tensors, alignment %d", f.Version, len(f.Tensors), f.Alignment)
		}
		// Without tensors there is no data section and no padding.
		if f.DataOffset != int64(len(data)) {
			t.Errorf("DataOffset = %d in a %d-byte file without tensors", f.DataOffset, len(data))
		}
		if !reflect.DeepEqual(f.KV, kvs) {
			t.Fatalf("seed %d: KV mismatch:\n got %#v\nwant %#v", seed, f.KV, kvs)
		}
		for _, kv := range kvs {
			if v, ok := f.Get(kv.Key); !ok || !reflect.DeepEqual(v, kv.Value) {
				t.Errorf("Get(%q) = %#v, %v; want %#v", kv.Key, v, ok, kv.Value)
			}
		}
	}
}

func TestFloatBitsRoundTrip(t *testing.T) {
	nan32 := math.Float32frombits(0x7fc01234)
	nan64 := math.Float64frombits(0xfff8000000005678)
	w := NewWriter()
	mustAdd(t, w, "a", nan32)
	mustAdd(t, w, "b", []float64{nan64, math.Copysign(0, -1)})
	f := mustParse(t, encode(t, w))
	a, _ := f.Get("a")
	b, _ := f.Get("b")
	if math.Float32bits(a.(float32)) != 0x7fc01234 {
		t.Errorf("float32 NaN bits changed: %#x", math.Float32bits(a.(float32)))
	}
	if bb := b.([]float64); math.Float64bits(bb[0]) != 0xfff8000000005678 || math.Float64bits(bb[1]) != 1<<63 {
		t.Errorf("float64 bits changed: %#x %#x", math.Float64bits(bb[0]), math.Float64bits(bb[1]))
	}
}

// testTensor is a tensor for round trips: its values and the encoded bytes.
type testTensor struct {
	name  string
	shape []int
	typ   Type
	vals  []float32 // what Float32s should return
	data  []byte
}

// makeTensor encodes random values of the given shape as typ.
func makeTensor(r *rand.Rand, name string, shape []int, typ Type) testTensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	src := make([]float32, n)
	for i := range src {
		src[i] = float32(r.NormFloat64() * 3)
	}
	tt := testTensor{name: name, shape: shape, typ: typ, vals: make([]float32, n)}
	le := binary.LittleEndian
	switch typ {
	case F32:
		for _, v := range src {
			tt.data = le.AppendUint32(tt.data, math.Float32bits(v))
		}
		copy(tt.vals, src)
	case F16:
		for i, v := range src {
			h := tensor.F16FromFloat32(v)
			tt.data = le.AppendUint16(tt.data, h)
			tt.vals[i] = tensor.Float32FromF16(h)
		}
	case BF16:
		for i, v := range src {
			h := tensor.BF16FromFloat32(v)
			tt.data = le.AppendUint16(tt.data, h)
			tt.vals[i] = tensor.Float32FromBF16(h)
		}
	case Q8_0:
		tt.data = make([]byte, n/32*34)
		QuantizeQ8_0(tt.data, src)
		DequantizeQ8_0(tt.vals, tt.data)
	default:
		// Raw bytes of the right length for any other type.
		size, err := typ.RowBytes(n)
		if err != nil {
			panic(err)
		}
		tt.data = make([]byte, size)
		for i := range tt.data {
			tt.data[i] = byte(r.Uint32())
		}
		tt.vals = nil
	}
	return tt
}

// checkTensors checks that f holds exactly tts, in order, laid out at the
// given alignment.
func checkTensors(t *testing.T, f *File, tts []testTensor, align int) {
	t.Helper()
	if f.Alignment != align {
		t.Errorf("Alignment = %d, want %d", f.Alignment, align)
	}
	if len(f.Tensors) != len(tts) {
		t.Fatalf("%d tensors, want %d", len(f.Tensors), len(tts))
	}
	if f.DataOffset%int64(align) != 0 {
		t.Errorf("DataOffset %d is not a multiple of %d", f.DataOffset, align)
	}
	var next uint64
	for i, tt := range tts {
		in := f.Tensors[i]
		if in.Name != tt.name || !slices.Equal(in.Shape, tt.shape) || in.Type != tt.typ || in.Size != len(tt.data) {
			t.Errorf("tensor %d = %+v, want %s %v %s of %d bytes", i, in, tt.name, tt.shape, tt.typ, len(tt.data))
		}
		if got, ok := f.Tensor(tt.name); !ok || !reflect.DeepEqual(got, in) {
			t.Errorf("Tensor(%q) = %+v, %v; want %+v", tt.name, got, ok, in)
		}
		// The Writer packs tensors in order, each padded to the alignment.
		if in.Offset != next || in.Offset%uint64(align) != 0 {
			t.Errorf("tensor %q at offset %d, want %d (a multiple of %d)", tt.name, in.Offset, next, align)
		}
		next += uint64((len(tt.data) + align - 1) / align * align)
		b, err := f.TensorBytes(tt.name)
		if err != nil || !bytes.Equal(b, tt.data) {
			t.Errorf("TensorBytes(%q) differ (err %v)", tt.name, err)
		}
		if tt.vals == nil {
			continue
		}
		got, err := f.Float32s(tt.name)
		if err != nil {
			t.Errorf("Float32s(%q): %v", tt.name, err)
			continue
		}
		if !slices.Equal(got, tt.vals) {
			t.Errorf("Float32s(%q) differ", tt.name)
		}
	}
}

func TestRoundTripTensors(t *testing.T) {
	for _, align := range []int{0, 1, 8, 32, 64, 4096} {
		r := rand.New(rand.NewPCG(uint64(align), 7))
		w := NewWriter()
		mustAdd(t, w, "general.architecture", "llama")
		if align != 0 {
			mustAdd(t, w, AlignmentKey, uint32(align))
		}
		mustAdd(t, w, "general.name", "round trip")
		var tts []testTensor
		i := 0
		for _, typ := range []Type{F32, F16, BF16, Q8_0} {
			for _, shape := range [][]int{{32}, {3, 64}, {2, 1, 96}, {1, 2, 3, 32}, {5}, {7, 3}} {
				if typ == Q8_0 && shape[len(shape)-1]%32 != 0 {
					continue
				}
				tts = append(tts, makeTensor(r, "t"+string(rune('a'+i)), shape, typ))
				i++
			}
		}
		tts = append(tts, makeTensor(r, "q4k", []int{2, 256}, Q4_K), makeTensor(r, "i32", []int{3}, I32))
		for _, tt := range tts {
			mustAddTensor(t, w, tt.name, tt.shape, tt.typ, tt.data)
		}
		if align == 0 {
			align = DefaultAlignment
		}
		if w.Alignment() != align {
			t.Errorf("Writer.Alignment() = %d, want %d", w.Alignment(), align)
		}
		data := encode(t, w)
		if len(data)%align != 0 {
			t.Errorf("alignment %d: file length %d is not padded to the alignment", align, len(data))
		}
		f := mustParse(t, data)
		checkTensors(t, f, tts, align)
		if got, _ := f.String("general.name"); got != "round trip" {
			t.Errorf("general.name = %q", got)
		}
		if _, err := f.Float32s("i32"); err == nil || !strings.Contains(err.Error(), "cannot be converted to float32") {
			t.Errorf("Float32s(%q) error = %v", "i32", err)
		}
		if _, err := f.Float32s("q4k"); err != nil { // ggml's blocks dequantize (package quant)
			t.Errorf("Float32s(%q) error = %v", "q4k", err)
		}
	}
}

func TestWriteFileAndOpen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.gguf")
	r := rand.New(rand.NewPCG(3, 4))
	tts := []testTensor{makeTensor(r, "token_embd.weight", []int{10, 64}, Q8_0), makeTensor(r, "output_norm.weight", []int{64}, F32)}
	w := NewWriter()
	mustAdd(t, w, "general.architecture", "llama")
	mustAdd(t, w, "tokenizer.ggml.tokens", []string{"a", "b", "c"})
	for _, tt := range tts {
		mustAddTensor(t, w, tt.name, tt.shape, tt.typ, tt.data)
	}
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) != 1 || ents[0].Name() != "model.gguf" {
		t.Fatalf("directory holds %v (%v), want only model.gguf", ents, err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(raw, encode(t, w)) {
		t.Fatal("WriteFile and WriteTo wrote different bytes")
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Name() != path {
		t.Errorf("Name() = %q", f.Name())
	}
	checkTensors(t, f, tts, 32)
	b, _ := f.TensorBytes("output_norm.weight")
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	_ = b // must not be used after Close
	if err := f.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := f.TensorBytes("output_norm.weight"); err == nil || !strings.Contains(err.Error(), "file is closed") {
		t.Errorf("TensorBytes after Close: %v", err)
	}
	if _, err := f.Float32s("output_norm.weight"); err == nil || !strings.Contains(err.Error(), "file is closed") {
		t.Errorf("Float32s after Close: %v", err)
	}
	if toks, err := f.Strings("tokenizer.ggml.tokens"); err != nil || !slices.Equal(toks, []string{"a", "b", "c"}) {
		t.Errorf("metadata after Close: %q, %v", toks, err)
	}

	// Errors of Open itself.
	if _, err := Open(filepath.Join(dir, "missing.gguf")); err == nil || !strings.Contains(err.Error(), "missing.gguf") {
		t.Errorf("Open(missing) = %v", err)
	}
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("Open(dir) = %v", err)
	}
	short := filepath.Join(dir, "short.gguf")
	if err := os.WriteFile(short, raw[:len(raw)-1], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(short); err == nil || !strings.HasPrefix(err.Error(), "gguf: "+short+": ") {
		t.Errorf("Open(truncated) = %v", err)
	}
	empty := filepath.Join(dir, "empty.gguf")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(empty); err == nil || !strings.Contains(err.Error(), "file is 0 bytes") {
		t.Errorf("Open(empty) = %v", err)
	}

	// A failed write leaves the destination alone and no temporary file.
	w2 := NewWriter()
	mustAddTensor(t, w2, "x", []int{1}, F32, make([]byte, 4))
	if err := w2.WriteFile(filepath.Join(dir, "nodir", "x.gguf")); err == nil || !strings.Contains(err.Error(), "nodir") {
		t.Errorf("WriteFile into a missing directory: %v", err)
	}
	if err := w2.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	if f, err := Open(path); err != nil || len(f.Tensors) != 1 {
		t.Errorf("replaced file: %v", err)
	} else {
		f.Close()
	}
}

// failWriter fails after n bytes.
type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, errors.New("disk full")
	}
	w.n -= len(p)
	return len(p), nil
}

func TestWriteToError(t *testing.T) {
	w := NewWriter()
	mustAdd(t, w, "k", "v")
	mustAddTensor(t, w, "x", []int{8}, F32, make([]byte, 32))
	full := len(encode(t, w))
	for _, at := range []int{0, 10, 40, full - 1} {
		n, err := w.WriteTo(&failWriter{n: at})
		if err == nil || !strings.Contains(err.Error(), "disk full") || n != int64(at) {
			t.Errorf("failing after %d bytes: n = %d, err = %v", at, n, err)
		}
	}
}

// TestLayoutBytes checks the bytes the Writer produces against the format,
// field by field.
func TestLayoutBytes(t *testing.T) {
	w := NewWriter()
	mustAdd(t, w, "general.architecture", "llama")
	mustAdd(t, w, "n", []uint16{7, 0x0102})
	mustAdd(t, w, "b", true)
	data := make([]byte, 2*3*4)
	for i := range data {
		data[i] = byte(i + 1)
	}
	mustAddTensor(t, w, "w", []int{2, 3}, F32, data) // ne = [3, 2]
	mustAddTensor(t, w, "v", []int{1}, F16, []byte{0xAA, 0xBB})
	got := encode(t, w)

	want := &builder{}
	want.raw('G', 'G', 'U', 'F')
	want.raw(3, 0, 0, 0)              // version 3, little-endian uint32
	want.raw(2, 0, 0, 0, 0, 0, 0, 0)  // tensor count, uint64
	want.raw(3, 0, 0, 0, 0, 0, 0, 0)  // key-value count, uint64
	want.raw(20, 0, 0, 0, 0, 0, 0, 0) // key: uint64 length ...
	want.raw([]byte("general.architecture")...)
	want.raw(8, 0, 0, 0)             // value type STRING
	want.raw(5, 0, 0, 0, 0, 0, 0, 0) // string length
	want.raw([]byte("llama")...)
	want.raw(1, 0, 0, 0, 0, 0, 0, 0, 'n')
	want.raw(9, 0, 0, 0)             // ARRAY
	want.raw(2, 0, 0, 0)             // of UINT16
	want.raw(2, 0, 0, 0, 0, 0, 0, 0) // two elements
	want.raw(7, 0, 2, 1)             // 7, 0x0102 little-endian
	want.raw(1, 0, 0, 0, 0, 0, 0, 0, 'b')
	want.raw(7, 0, 0, 0, 1)               // BOOL true
	want.raw(1, 0, 0, 0, 0, 0, 0, 0, 'w') // tensor name
	want.raw(2, 0, 0, 0)                  // n_dims
	want.raw(3, 0, 0, 0, 0, 0, 0, 0)      // ne[0] = 3, the innermost dimension
	want.raw(2, 0, 0, 0, 0, 0, 0, 0)      // ne[1] = 2
	want.raw(0, 0, 0, 0)                  // type F32
	want.raw(0, 0, 0, 0, 0, 0, 0, 0)      // offset 0
	want.raw(1, 0, 0, 0, 0, 0, 0, 0, 'v')
	want.raw(1, 0, 0, 0)
	want.raw(1, 0, 0, 0, 0, 0, 0, 0)
	want.raw(1, 0, 0, 0)              // type F16
	want.raw(32, 0, 0, 0, 0, 0, 0, 0) // offset 32: 24 bytes padded to 32
	infosEnd := len(want.b)
	want.pad(32, 0)
	dataStart := len(want.b)
	want.raw(data...)
	want.pad(32, 0)
	want.raw(0xAA, 0xBB)
	want.pad(32, 0)
	if !bytes.Equal(got, want.b) {
		t.Fatalf("layout differs:\n got % x\nwant % x", got, want.b)
	}
	if infosEnd%32 == 0 || dataStart%32 != 0 {
		t.Fatalf("test does not exercise header padding: infos end at %d", infosEnd)
	}
	f := mustParse(t, got)
	if f.DataOffset != int64(dataStart) {
		t.Errorf("DataOffset = %d, want %d", f.DataOffset, dataStart)
	}
	if in, _ := f.Tensor("w"); !slices.Equal(in.Shape, []int{2, 3}) || in.NumElements() != 6 {
		t.Errorf("shape of w = %v, want [2 3]", in.Shape)
	}
}

func TestVersion2(t *testing.T) {
	w := NewWriter()
	mustAdd(t, w, "k", uint64(5))
	mustAddTensor(t, w, "x", []int{2}, F32, []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0x40})
	data := encode(t, w)
	data[4] = 2 // version 2 has the same little-endian layout
	f := mustParse(t, data)
	if f.Version != 2 {
		t.Errorf("Version = %d", f.Version)
	}
	if v, err := f.Float32s("x"); err != nil || !slices.Equal(v, []float32{1, 2}) {
		t.Errorf("Float32s = %v, %v", v, err)
	}
}

func TestParseAcceptsReferenceVariants(t *testing.T) {
	// No tensors and no padding after the metadata, as ggml writes with
	// only_meta and reads: the data section starts where the infos end.
	b := header(3, 0, 1).kv("a", ValueUint8).u8(1)
	f := mustParse(t, b.b)
	if f.DataOffset != int64(len(b.b)) {
		t.Errorf("DataOffset = %d, want %d", f.DataOffset, len(b.b))
	}
	// Tensors out of order, with a gap, and trailing bytes after the last.
	b = header(3, 2, 0).tensor("late", []uint64{4}, F32, 64).tensor("early", []uint64{2}, F16, 0)
	b.pad(32, 64+16+7)
	f = mustParse(t, b.b)
	if in, _ := f.Tensor("late"); in.Offset != 64 || in.Size != 16 {
		t.Errorf("late = %+v", in)
	}
	// Alignment 1 (ggml accepts any power of two) and a tensor at an odd
	// offset.
	b = header(3, 1, 1).kv(AlignmentKey, ValueUint32).u32(1).tensor("x", []uint64{3}, I8, 1)
	b.raw(9, 1, 2, 3)
	f = mustParse(t, b.b)
	if got, _ := f.TensorBytes("x"); !bytes.Equal(got, []byte{1, 2, 3}) {
		t.Errorf("TensorBytes = %v", got)
	}
	// A 64-byte tensor name, the longest the specification allows.
	name := strings.Repeat("n", 64)
	b = header(3, 1, 0).tensor(name, []uint64{1}, I8, 0).pad(32, 1)
	if _, err := Parse("x", b.b); err != nil {
		t.Error(err)
	}
}

// smallFile returns a valid file whose last tensor ends exactly at the end
// of the file, so that every proper prefix is invalid.
func smallFile(t testing.TB) []byte {
	w := NewWriter()
	mustAdd(t, w, "general.architecture", "llama")
	mustAdd(t, w, "tokens", []string{"<s>", "hi"})
	mustAdd(t, w, "nested", []any{[]uint8{1}, []bool{true}})
	mustAdd(t, w, "eps", float32(1e-5))
	src := make([]float32, 64)
	for i := range src {
		src[i] = float32(i) - 30
	}
	q := make([]byte, 2*34)
	QuantizeQ8_0(q, src)
	mustAddTensor(t, w, "q", []int{2, 32}, Q8_0, q)
	f32 := make([]byte, 32)
	for i := range f32 {
		f32[i] = byte(i * 7)
	}
	mustAddTensor(t, w, "f", []int{8}, F32, f32)
	return encode(t, w)
}

func TestTruncated(t *testing.T) {
	data := smallFile(t)
	if len(data)%32 != 0 {
		t.Fatal("small file is not aligned")
	}
	mustParse(t, data)
	seen := map[string]bool{}
	for n := range len(data) {
		f, err := Parse("cut.gguf", data[:n])
		if err == nil {
			t.Fatalf("Parse of the first %d of %d bytes succeeded: %+v", n, len(data), f.Tensors)
		}
		if !strings.HasPrefix(err.Error(), "gguf: cut.gguf: ") {
			t.Fatalf("error %q does not name the file", err)
		}
		seen[err.Error()] = true
	}
	if len(seen) < 20 {
		t.Errorf("only %d distinct errors for %d truncations", len(seen), len(data))
	}
}

func TestCorruptHeaders(t *testing.T) {
	kv := func(nKV uint64) *builder { return header(3, 0, nKV) }
	tensorHdr := func(nTensors uint64) *builder { return header(3, nTensors, 0) }
	deep := kv(1).kv("deep", ValueArray)
	for range MaxArrayDepth {
		deep.u32(uint32(ValueArray)).u64(1)
	}
	deep.u32(uint32(ValueUint8)).u64(0)
	bigKey := kv(1).str(strings.Repeat("k", MaxKeyLen+1)).u32(uint32(ValueUint8)).u8(0)
	seen := map[string]string{} // error text -> case, to check each case fails its own way
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "file is 0 bytes, too short for the 4-byte magic"},
		{"bad magic", []byte("GGML\x03\x00\x00\x00"), `magic is "GGML" (bytes 47 47 4d 4c), want "GGUF"`},
		{"ggjt", []byte("tjgg\x03\x00\x00\x00"), "GGJT file"},
		{"no version", []byte("GGUF\x03"), "inside the 4-byte version number"},
		{"version 0", header(0, 0, 0).b, "version is 0"},
		{"version 1", header(1, 0, 0).b, "GGUF version 1 is not supported"},
		{"version 4", header(4, 0, 0).b, "GGUF version 4 is newer than this reader understands"},
		{"big-endian", header(0x03000000, 0, 0).b, "which is version 3 byte-swapped: this is a big-endian GGUF file"},
		{"no tensor count", []byte("GGUF\x03\x00\x00\x00\x00"), "inside the 8-byte tensor count"},
		{"no kv count", (&builder{b: []byte("GGUF")}).u32(3).u64(0).u32(0).b, "inside the 8-byte key-value count"},
		{"huge tensor count", header(3, 1<<60, 0).b, "tensor count is 1152921504606846976, but each tensor info takes at least 32 bytes"},
		{"huge kv count", header(3, 0, math.MaxUint64).b, "key-value count is 18446744073709551615"},
		{"counts together", header(3, 1, 2).pad(1, 40).b, "2 key-value pairs and 1 tensor infos take at least 60 bytes, but only 40"},
		{"empty key", kv(1).str("").u32(0).u8(0).pad(1, 10).b, "has an empty key"},
		{"key too long", bigKey.b, "has a key of 65536 bytes; keys are at most 65535 bytes"},
		{"key past end", kv(1).u64(1000).raw([]byte("abcdefg")...).b, "the key is 1000 bytes long, but only 7 bytes are left"},
		{"duplicate key", kv(2).kv("a", ValueUint8).u8(1).kv("a", ValueInt8).u8(2).b, `key "a": appears twice (key-value pairs 0 and 1)`},
		{"bad value type", kv(1).kv("a", 13).u64(0).b, `key "a": value type is 13, which is not a GGUF value type`},
		{"short value", kv(1).kv("a", ValueUint64).u32(0).pad(1, 2).b, "inside the 8-byte UINT64 value"},
		{"string too long", kv(1).kv("s", ValueString).u64(1 << 40).b, "STRING value is 1099511627776 bytes long"},
		{"bool 2", kv(1).kv("b", ValueBool).u8(2).b, "BOOL value is stored as 2; want 0 (false) or 1 (true)"},
		{"bad element type", kv(1).kv("a", ValueArray).u32(42).u64(0).b, "the array has element type 42"},
		{"array too long", kv(1).kv("a", ValueArray).u32(uint32(ValueUint32)).u64(1 << 62).b, "the array claims 4611686018427387904 elements of type UINT32, at least 4 bytes each"},
		{"string array too long", kv(1).kv("a", ValueArray).u32(uint32(ValueString)).u64(5).u64(0).b, "claims 5 elements of type STRING"},
		{"string in array past end", kv(1).kv("a", ValueArray).u32(uint32(ValueString)).u64(2).str("x").u64(99).b, "string 1 of the array is 99 bytes long"},
		{"bool in array", kv(1).kv("a", ValueArray).u32(uint32(ValueBool)).u64(3).raw(1, 0, 7).b, "element 2 of the array is a BOOL stored as 7"},
		{"nested bad type", kv(1).kv("a", ValueArray).u32(uint32(ValueArray)).u64(2).u32(0).u64(0).u32(77).u64(0).b, "element 1 of the array has element type 77"},
		{"too deep", deep.b, "holds arrays nested more than 32 deep"},
		{"alignment type", kv(1).kv(AlignmentKey, ValueUint64).u64(32).b, `key "general.alignment": is UINT64 32, want a UINT32 power of two`},
		{"alignment 48", kv(1).kv(AlignmentKey, ValueUint32).u32(48).b, `key "general.alignment": is 48, want a power of two`},
		{"alignment 0", kv(1).kv(AlignmentKey, ValueUint32).u32(0).b, `key "general.alignment": is 0, want a power of two`},
		{"name past end", tensorHdr(1).u64(100).pad(1, 40).b, "tensor info 0 of 1 (at byte 24): the name is 100 bytes long, but only 40"},
		{"name too long", tensorHdr(1).tensor(strings.Repeat("x", 65), []uint64{1}, F32, 0).pad(32, 4).b, "name is 65 bytes; tensor names are at most 64 bytes"},
		{"no dims", tensorHdr(1).str("t").u32(0).u32(0).u64(0).pad(1, 20).b, `tensor "t": has 0 dimensions; want 1 to 4`},
		{"five dims", tensorHdr(1).tensor("t", []uint64{1, 1, 1, 1, 1}, F32, 0).b, `tensor "t": has 5 dimensions; want 1 to 4`},
		{"zero dim", tensorHdr(1).tensor("t", []uint64{4, 0}, F32, 0).b, "dimension ne[1] is 0; every dimension must be at least 1"},
		{"negative dim", tensorHdr(1).tensor("t", []uint64{1 << 63}, F32, 0).b, "dimension ne[0] is 9223372036854775808, more than 2^63-1"},
		{"too many elements", tensorHdr(1).tensor("t", []uint64{math.MaxInt32, math.MaxInt32, math.MaxInt32}, F32, 0).b, "has more than 2^63-1 elements (dimensions ne[0..2] = [2147483647 2147483647 2147483647] so far)"},
		{"too many bytes", tensorHdr(1).tensor("t", []uint64{math.MaxInt32, math.MaxInt32}, F64, 0).b, "takes more bytes than fit in an int"},
		{"unknown type", tensorHdr(1).tensor("t", []uint64{1}, 99, 0).b, "has type 99, which is not a ggml type (known types are 0 to 42)"},
		{"removed type", tensorHdr(1).tensor("t", []uint64{32}, Q4_0_4_4, 0).b, "has type 31 (Q4_0_4_4), whose support was removed from ggml"},
		{"block size", tensorHdr(1).tensor("t", []uint64{33, 2}, Q8_0, 0).b, "innermost dimension ne[0] = 33 is not a multiple of 32, the block size of Q8_0"},
		{"unaligned offset", tensorHdr(1).tensor("t", []uint64{1}, F32, 4).b, "data offset 4 is not a multiple of the alignment 32"},
		{"short type", tensorHdr(1).str("t").u32(2).u64(1).u64(1).raw(0, 0, 0).b, "inside the 4-byte tensor type"},
		{"duplicate tensor", tensorHdr(2).tensor("t", []uint64{1}, F32, 0).tensor("t", []uint64{1}, F32, 32).pad(32, 64).b, `tensor "t": appears twice (tensor infos 0 and 1)`},
		{"no data section", tensorHdr(1).tensor("t", []uint64{1}, F32, 0).b, "the tensor data section should start at byte 64 (the tensor infos end at byte 57, padded to the 32-byte alignment), but the file is only 57 bytes"},
		{"tensor past end", tensorHdr(1).tensor("t", []uint64{8}, F32, 0).pad(32, 31).b, "its 32 bytes at offset 0 of the data section (which starts at byte 64) run past the end of the 95-byte file"},
		{"offset past end", tensorHdr(1).tensor("t", []uint64{1}, F32, 1<<63).pad(32, 4).b, "its 4 bytes at offset 9223372036854775808"},
		{"overlap", tensorHdr(2).tensor("a", []uint64{16}, F32, 0).tensor("b", []uint64{1}, F32, 32).pad(32, 64).b, `tensor "b": bytes [32, 36) of the data section overlap those of tensor "a" at [0, 64)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("bad.gguf", tc.data)
			if err == nil {
				t.Fatalf("Parse succeeded; want an error mentioning %q", tc.want)
			}
			if other, dup := seen[err.Error()]; dup {
				t.Errorf("same error as case %q: %v", other, err)
			}
			seen[err.Error()] = tc.name
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\ndoes not mention %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "gguf: bad.gguf: ") {
				t.Errorf("error %q does not name the file", err)
			}
			var e *Error
			if !errors.As(err, &e) || e.File != "bad.gguf" {
				t.Errorf("error %#v is not an *Error for the file", err)
			}
		})
	}
}

func TestGetters(t *testing.T) {
	w := NewWriter()
	for _, kv := range []KV{
		{"s", "llama"}, {"u8", uint8(200)}, {"u16", uint16(7)}, {"u32", uint32(1 << 31)}, {"u64", uint64(math.MaxUint64)},
		{"i8", int8(5)}, {"i16", int16(6)}, {"i32", int32(7)}, {"i64", int64(1 << 40)},
		{"neg", int32(-3)}, {"f32", float32(0.5)}, {"f64", 1e300}, {"b", true},
		{"ss", []string{"x", "y"}}, {"us", []uint32{1}}, {"long", strings.Repeat("z", 100)},
	} {
		mustAdd(t, w, kv.Key, kv.Value)
	}
	f := mustParse(t, encode(t, w))
	if s, err := f.String("s"); s != "llama" || err != nil {
		t.Errorf("String = %q, %v", s, err)
	}
	for key, want := range map[string]uint64{"u8": 200, "u16": 7, "u32": 1 << 31, "u64": math.MaxUint64, "i8": 5, "i16": 6, "i32": 7, "i64": 1 << 40} {
		if v, err := f.Uint(key); v != want || err != nil {
			t.Errorf("Uint(%q) = %d, %v; want %d", key, v, err, want)
		}
	}
	if v, err := f.Float("f32"); v != 0.5 || err != nil {
		t.Errorf("Float(f32) = %v, %v", v, err)
	}
	if v, err := f.Float("f64"); v != 1e300 || err != nil {
		t.Errorf("Float(f64) = %v, %v", v, err)
	}
	ss, err := f.Strings("ss")
	if err != nil || !slices.Equal(ss, []string{"x", "y"}) {
		t.Errorf("Strings = %q, %v", ss, err)
	}
	ss[0] = "changed"
	if again, _ := f.Strings("ss"); again[0] != "x" {
		t.Error("Strings does not return a copy")
	}
	for _, tc := range []struct {
		get  func() error
		want string
	}{
		{func() error { _, err := f.String("missing"); return err }, `gguf: test.gguf: key "missing": not present in the file (it has 16 metadata keys)`},
		{func() error { _, err := f.String("u32"); return err }, `gguf: test.gguf: key "u32": is UINT32 2147483648, want STRING`},
		{func() error { _, err := f.String("ss"); return err }, `key "ss": is ARRAY[STRING] of 2 elements, want STRING`},
		{func() error { _, err := f.Uint("neg"); return err }, `key "neg": is INT32 -3, want a non-negative integer`},
		{func() error { _, err := f.Uint("s"); return err }, `key "s": is STRING "llama", want an integer (UINT8 to INT64)`},
		{func() error { _, err := f.Uint("b"); return err }, `key "b": is BOOL true, want an integer`},
		{func() error { _, err := f.Uint("nope"); return err }, `key "nope": not present`},
		{func() error { _, err := f.Float("u8"); return err }, `key "u8": is UINT8 200, want FLOAT32 or FLOAT64`},
		{func() error { _, err := f.Float("nope"); return err }, `key "nope": not present`},
		{func() error { _, err := f.Strings("us"); return err }, `key "us": is ARRAY[UINT32] of 1 elements, want ARRAY[STRING]`},
		{func() error { _, err := f.Strings("long"); return err }, `is STRING "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"... (100 bytes), want ARRAY[STRING]`},
		{func() error { _, err := f.Strings("nope"); return err }, `key "nope": not present`},
		{func() error { _, err := f.TensorBytes("nope"); return err }, `tensor "nope": no such tensor in the file (it has 0 tensors)`},
		{func() error { _, err := f.Float32s("nope"); return err }, `tensor "nope": no such tensor`},
	} {
		err := tc.get()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want it to contain %q", err, tc.want)
		}
	}
	if _, ok := f.Get("nope"); ok {
		t.Error("Get(nope) found a value")
	}
	if _, ok := f.Tensor("nope"); ok {
		t.Error("Tensor(nope) found a tensor")
	}
	// The exported fields are a copy: changing them changes nothing else.
	f.KV[0].Value = "changed"
	if s, _ := f.String("s"); s != "llama" {
		t.Error("changing File.KV changed String")
	}
}

func TestWriterErrors(t *testing.T) {
	type add struct {
		key string
		v   any
	}
	for _, tc := range []struct {
		v    any
		want string
	}{
		{5, "value is a Go int, which has no fixed size in GGUF; convert it to int32, uint32, int64 or uint64"},
		{uint(5), "value is a Go uint"},
		{[]int{1}, "value is a Go []int, which has no fixed element size"},
		{struct{}{}, "value is a Go struct {}, which has no GGUF type"},
		{[]any{uint8(1)}, "element 0 of the []any is UINT8; every element of an []any must be an array"},
		{[]any{[]any{[]int{}}}, "element 0 of the []any is Go type []int"},
		{nil, "value is a Go <nil>"},
		{map[string]string{}, "value is a Go map[string]string"},
	} {
		err := NewWriter().Add("key.x", tc.v)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), `gguf: key "key.x": `) {
			t.Errorf("Add(%#v) = %v, want %q", tc.v, err, tc.want)
		}
	}
	deep := any([]uint8{})
	for range MaxArrayDepth {
		deep = []any{deep}
	}
	if err := NewWriter().Add("deep", deep); err == nil || !strings.Contains(err.Error(), "nested more than 32 deep") {
		t.Errorf("Add(too deep) = %v", err)
	}
	w := NewWriter()
	mustAdd(t, w, "a", "x")
	for _, tc := range []struct {
		key  string
		v    any
		want string
	}{
		{"a", "y", `key "a": added twice`},
		{"", "y", "keys must be non-empty"},
		{strings.Repeat("k", MaxKeyLen+1), "y", "key is 65536 bytes; keys are at most 65535 bytes"},
		{AlignmentKey, uint64(32), "is UINT64 32, want a UINT32 power of two"},
		{AlignmentKey, uint32(24), "is 24, want a power of two"},
		{AlignmentKey, uint32(0), "is 0, want a power of two"},
	} {
		if err := w.Add(tc.key, tc.v); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Add(%.20q, %v) = %v, want %q", tc.key, tc.v, err, tc.want)
		}
	}
	mustAddTensor(t, w, "t", []int{1}, F32, make([]byte, 4))
	for _, tc := range []struct {
		name  string
		shape []int
		typ   Type
		size  int
		want  string
	}{
		{"t", []int{1}, F32, 4, `tensor "t": added twice`},
		{strings.Repeat("n", 64), []int{1}, F32, 4, "name is 64 bytes; ggml loads tensor names of at most 63 bytes"},
		{"u", nil, F32, 4, "shape [] has 0 dimensions; want 1 to 4"},
		{"u", []int{1, 1, 1, 1, 1}, F32, 4, "has 5 dimensions"},
		{"u", []int{2, 0}, F32, 0, "shape[1] is 0; every dimension must be at least 1"},
		{"u", []int{-1}, F32, 4, "shape[0] is -1"},
		{"u", []int{math.MaxInt, math.MaxInt, math.MaxInt}, F32, 0, "has more than 2^63-1 elements"},
		{"u", []int{math.MaxInt32, math.MaxInt32}, F64, 0, "takes more than 2^63-1 bytes"},
		{"u", []int{32, 3}, Q8_0, 0, "innermost dimension 3 (the last of shape [32 3]) is not a multiple of 32, the block size of Q8_0"},
		{"u", []int{4}, 99, 16, "has type 99, which is not a ggml type"},
		{"u", []int{32}, Q4_2, 16, "has type 4 (Q4_2), whose support was removed"},
		{"u", []int{2, 32}, Q8_0, 34, "data is 34 bytes, but Q8_0 shape [2 32] needs 68"},
		{"u", []int{3}, BF16, 4, "data is 4 bytes, but BF16 shape [3] needs 6"},
	} {
		err := w.AddTensor(tc.name, tc.shape, tc.typ, make([]byte, tc.size))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("AddTensor(%.10q, %v, %s) = %v, want %q", tc.name, tc.shape, tc.typ, err, tc.want)
		}
	}
	// Nothing rejected was added.
	if got := w.Keys(); !slices.Equal(got, []string{"a"}) {
		t.Errorf("Keys() = %q", got)
	}
	if got := w.TensorNames(); !slices.Equal(got, []string{"t"}) {
		t.Errorf("TensorNames() = %q", got)
	}
	if w.Alignment() != DefaultAlignment {
		t.Errorf("Alignment() = %d", w.Alignment())
	}
	mustParse(t, encode(t, w))
}

// TestAddCopiesValues checks that Add encodes values at once.
func TestAddCopiesValues(t *testing.T) {
	w := NewWriter()
	v := []uint32{1, 2}
	mustAdd(t, w, "v", v)
	v[0] = 99
	f := mustParse(t, encode(t, w))
	if got, _ := f.Get("v"); !slices.Equal(got.([]uint32), []uint32{1, 2}) {
		t.Errorf("v = %v", got)
	}
}

func TestConcurrentReadAndClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.gguf")
	vals := make([]float32, 1<<14)
	raw := make([]byte, 0, 4*len(vals))
	for i := range vals {
		vals[i] = float32(i)
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(vals[i]))
	}
	w := NewWriter()
	mustAddTensor(t, w, "x", []int{len(vals)}, F32, raw)
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			for range 20 {
				v, err := f.Float32s("x")
				if err != nil {
					if !strings.Contains(err.Error(), "file is closed") {
						errs <- err
						return
					}
					continue
				}
				if !slices.Equal(v, vals) {
					errs <- errors.New("wrong values")
					return
				}
			}
			errs <- nil
		}()
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestParseNilFileOnError checks that a failed Parse returns a nil *File and
// a non-nil *Error (not a typed nil).
func TestParseNilFileOnError(t *testing.T) {
	f, err := Parse("x", []byte("GGUF"))
	if f != nil || err == nil {
		t.Fatalf("Parse = %v, %v", f, err)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%T is not *Error", err)
	}
}
