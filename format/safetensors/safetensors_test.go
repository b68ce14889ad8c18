package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/loomml/loom/tensor"
)

// rawFile assembles a file from a header string and a data buffer, with the
// header length prefix computed from the header as given (no padding added).
func rawFile(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

// mustEncode returns the bytes Encode writes for tensors and metadata.
func mustEncode(t testing.TB, tensors []Tensor, md map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Encode(&buf, tensors, md); err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return buf.Bytes()
}

// randomData returns n elements of dtype dt as random bytes (BOOL bytes are 0
// or 1).
func randomData(r *rand.Rand, dt DType, n int) []byte {
	b := make([]byte, n*dt.Size())
	for i := range b {
		b[i] = byte(r.Uint32())
		if dt == BOOL {
			b[i] &= 1
		}
	}
	return b
}

// checkFile checks that f holds exactly tensors (in that order) and md.
func checkFile(t *testing.T, f *File, tensors []Tensor, md map[string]string) {
	t.Helper()
	var names []string
	for _, tt := range tensors {
		names = append(names, tt.Name)
	}
	if got := f.Names(); !slices.Equal(got, names) {
		t.Errorf("Names() = %q, want %q", got, names)
	}
	if len(md) == 0 {
		md = map[string]string{}
	}
	if !reflect.DeepEqual(f.Metadata, md) {
		t.Errorf("Metadata = %v, want %v", f.Metadata, md)
	}
	infos := f.Infos()
	if len(infos) != len(tensors) {
		t.Fatalf("Infos() has %d entries, want %d", len(infos), len(tensors))
	}
	var off int64
	for i, tt := range tensors {
		in, ok := f.Info(tt.Name)
		if !ok {
			t.Fatalf("Info(%q) not found", tt.Name)
		}
		shape := tt.Shape
		if shape == nil {
			shape = []int{}
		}
		want := Info{Name: tt.Name, DType: tt.DType, Shape: shape, Begin: off, End: off + int64(len(tt.Data))}
		off = want.End
		if !reflect.DeepEqual(in, want) || !reflect.DeepEqual(infos[i], want) {
			t.Errorf("Info(%q) = %+v, Infos()[%d] = %+v, want %+v", tt.Name, in, i, infos[i], want)
		}
		got, err := f.Bytes(tt.Name)
		if err != nil {
			t.Fatalf("Bytes(%q): %v", tt.Name, err)
		}
		if !bytes.Equal(got, tt.Data) {
			t.Errorf("Bytes(%q) = %x, want %x", tt.Name, got, tt.Data)
		}
		view, err := f.View(tt.Name)
		if err != nil || !bytes.Equal(view, tt.Data) {
			t.Errorf("View(%q) = %x, %v; want %x", tt.Name, view, err, tt.Data)
		}
	}
}

func TestDTypeSize(t *testing.T) {
	want := map[DType]int{
		BOOL: 1, U8: 1, I8: 1, F8_E4M3: 1, F8_E5M2: 1,
		I16: 2, U16: 2, F16: 2, BF16: 2,
		I32: 4, U32: 4, F32: 4,
		I64: 8, U64: 8, F64: 8,
	}
	if len(DTypes) != len(want) {
		t.Errorf("DTypes has %d entries, want %d", len(DTypes), len(want))
	}
	for _, d := range DTypes {
		if d.Size() != want[d] || !d.Valid() {
			t.Errorf("%s.Size() = %d, Valid() = %v; want %d, true", d, d.Size(), d.Valid(), want[d])
		}
	}
	for _, d := range []DType{"", "f32", "F128", "C64", "F4"} {
		if d.Size() != 0 || d.Valid() {
			t.Errorf("DType(%q).Size() = %d, Valid() = %v; want 0, false", d, d.Size(), d.Valid())
		}
	}
}

// TestRoundTripAllDTypes writes tensors of every dtype and several shapes
// (scalar, vector, matrix, zero-size) with Write and Encode and reads them
// back with Open and Parse.
func TestRoundTripAllDTypes(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	shapes := [][]int{{}, nil, {5}, {2, 3}, {0, 3}, {3, 0}, {1, 1, 1, 2}, {0}}
	for _, dt := range DTypes {
		t.Run(string(dt), func(t *testing.T) {
			var tensors []Tensor
			for i, s := range shapes {
				n, _ := numElements(s)
				tensors = append(tensors, Tensor{
					Name: string(dt) + "." + string(rune('a'+i)), DType: dt, Shape: s,
					Data: randomData(r, dt, int(n)),
				})
			}
			md := map[string]string{"format": "pt", "dtype": string(dt)}

			path := filepath.Join(t.TempDir(), "rt.safetensors")
			if err := Write(path, tensors, md); err != nil {
				t.Fatal(err)
			}
			f, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			checkFile(t, f, tensors, md)
			if f.Path != path {
				t.Errorf("Path = %q, want %q", f.Path, path)
			}
			onDisk, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}

			enc := mustEncode(t, tensors, md)
			if !bytes.Equal(enc, onDisk) {
				t.Errorf("Encode output differs from the file written by Write")
			}
			g, err := Parse("mem", enc)
			if err != nil {
				t.Fatal(err)
			}
			checkFile(t, g, tensors, md)
			if g.DataOffset()%8 != 0 {
				t.Errorf("DataOffset() = %d, not a multiple of 8", g.DataOffset())
			}
		})
	}
}

// TestEmptyAndMetadataOnly covers files without tensors.
func TestEmptyAndMetadataOnly(t *testing.T) {
	for _, md := range []map[string]string{nil, {}, {"a": "b"}, {"": "", "uni\u00e9\u4e16": "q\"u\\o\nte\x01"}} {
		data := mustEncode(t, nil, md)
		f, err := Parse("empty", data)
		if err != nil {
			t.Fatal(err)
		}
		checkFile(t, f, nil, md)
	}
}

// TestGolden compares Encode output with files built byte by byte by hand,
// in the layout the reference implementation writes, and parses them back.
func TestGolden(t *testing.T) {
	le32 := func(f float32) []byte { return binary.LittleEndian.AppendUint32(nil, math.Float32bits(f)) }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tests := []struct {
		name    string
		tensors []Tensor
		md      map[string]string
		want    []byte
	}{
		{
			name: "empty",
			want: []byte{8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '},
		},
		{
			name: "metadata only",
			md:   map[string]string{"framework": "pt"},
			want: cat([]byte{40, 0, 0, 0, 0, 0, 0, 0},
				[]byte(`{"__metadata__":{"framework":"pt"}}`), // 35 bytes
				[]byte("     ")),
		},
		{
			// 64-byte header: no padding.
			name: "one F32 tensor",
			tensors: []Tensor{{Name: "attn.0", DType: F32, Shape: []int{1, 2, 3},
				Data: cat(le32(0), le32(1), le32(2), le32(3), le32(4), le32(5))}},
			want: cat([]byte{64, 0, 0, 0, 0, 0, 0, 0},
				[]byte(`{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}`),
				[]byte{0, 0, 0, 0, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0, 0, 0x40, 0x40, 0, 0, 0x80, 0x40, 0, 0, 0xa0, 0x40}),
		},
		{
			// 85-byte header padded with 3 spaces to 88.
			name:    "metadata and tensor",
			tensors: []Tensor{{Name: "w", DType: F32, Shape: []int{2}, Data: []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0}}},
			md:      map[string]string{"format": "pt"},
			want: cat([]byte{88, 0, 0, 0, 0, 0, 0, 0},
				[]byte(`{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`),
				[]byte("   "),
				[]byte{0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0}),
		},
		{
			// 169-byte header padded with 7 spaces to 176; a scalar, a
			// zero-size tensor and a name that needs escaping.
			name: "scalar, zero-size and escaped name",
			tensors: []Tensor{
				{Name: `a"b`, DType: BF16, Shape: []int{}, Data: []byte{0x80, 0x3f}},
				{Name: "empty", DType: I32, Shape: []int{0, 3}, Data: nil},
				{Name: "u8", DType: U8, Shape: []int{3}, Data: []byte{1, 2, 255}},
			},
			want: cat([]byte{176, 0, 0, 0, 0, 0, 0, 0},
				[]byte(`{"a\"b":{"dtype":"BF16","shape":[],"data_offsets":[0,2]},"empty":{"dtype":"I32","shape":[0,3],"data_offsets":[2,2]},"u8":{"dtype":"U8","shape":[3],"data_offsets":[2,5]}}`),
				[]byte("       "),
				[]byte{0x80, 0x3f, 1, 2, 255}),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := mustEncode(t, tc.tensors, tc.md)
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("Encode =\n%q\nwant\n%q", got, tc.want)
			}
			f, err := Parse("golden.safetensors", tc.want)
			if err != nil {
				t.Fatal(err)
			}
			checkFile(t, f, tc.tensors, tc.md)
		})
	}

	// Decoded values of the hand-built files.
	f, err := Parse("golden.safetensors", tests[3].want)
	if err != nil {
		t.Fatal(err)
	}
	if v, shape, err := f.Float32("w"); err != nil || !slices.Equal(v, []float32{1, -2}) || !slices.Equal(shape, []int{2}) {
		t.Errorf(`Float32("w") = %v, %v, %v; want [1 -2], [2]`, v, shape, err)
	}
	f, err = Parse("golden.safetensors", tests[4].want)
	if err != nil {
		t.Fatal(err)
	}
	if v, shape, err := f.Float32(`a"b`); err != nil || !slices.Equal(v, []float32{1}) || shape == nil || len(shape) != 0 {
		t.Errorf("Float32 of scalar = %v, %#v, %v; want [1], []int{}", v, shape, err)
	}
	if v, shape, err := f.Int64("empty"); err != nil || len(v) != 0 || !slices.Equal(shape, []int{0, 3}) {
		t.Errorf(`Int64("empty") = %v, %v, %v; want [], [0 3]`, v, shape, err)
	}
	if v, _, err := f.Int64("u8"); err != nil || !slices.Equal(v, []int64{1, 2, 255}) {
		t.Errorf(`Int64("u8") = %v, %v; want [1 2 255]`, v, err)
	}
}

// TestParseAcceptsReferenceVariants checks inputs that the reference
// implementation accepts although our writer never produces them.
func TestParseAcceptsReferenceVariants(t *testing.T) {
	tests := []struct {
		name   string
		header string
		data   []byte
		names  []string
	}{
		{"whitespace and padding", "{ \"a\" : {\"dtype\":\"U8\", \"shape\": [ 2 ],\n\t\"data_offsets\":[0,2]} }  \n  ", []byte{1, 2}, []string{"a"}},
		{"field order and unknown fields", `{"a":{"data_offsets":[0,1],"extra":{"x":[1,2,{"y":null}]},"shape":[1],"dtype":"I8"}}`, []byte{1}, []string{"a"}},
		{"null metadata", `{"__metadata__":null}`, nil, nil},
		{"metadata last", `{"b":{"dtype":"U8","shape":[],"data_offsets":[1,2]},"a":{"dtype":"U8","shape":[],"data_offsets":[0,1]},"__metadata__":{"k":"v"}}`, []byte{1, 2}, []string{"a", "b"}},
		{"escaped names", `{"\u0061\n":{"dtype":"U8","shape":[],"data_offsets":[0,1]}}`, []byte{1}, []string{"a\n"}},
		{"negative zero", `{"a":{"dtype":"U8","shape":[-0],"data_offsets":[0,0]}}`, nil, []string{"a"}},
		{"empty name", `{"":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, []byte{1}, []string{""}},
		{"zero-size tensors share offsets", `{"z2":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"z1":{"dtype":"F64","shape":[2,0],"data_offsets":[4,4]},"z0":{"dtype":"F64","shape":[0],"data_offsets":[0,0]}}`, []byte{0, 0, 0, 0}, []string{"z0", "a", "z2", "z1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse("ok.safetensors", rawFile(tc.header, tc.data))
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Names(); !slices.Equal(got, tc.names) {
				t.Errorf("Names() = %q, want %q", got, tc.names)
			}
		})
	}
}

// TestValidationErrors checks that every malformed file is rejected with an
// *Error that names the file and the specific problem.
func TestValidationErrors(t *testing.T) {
	const file = "bad.safetensors"
	f32 := func(name, shape, offsets string) string {
		return `"` + name + `":{"dtype":"F32","shape":` + shape + `,"data_offsets":` + offsets + `}`
	}
	hdr := func(entries ...string) string { return "{" + strings.Join(entries, ",") + "}" }
	withN := func(n uint64, rest string) []byte {
		return append(binary.LittleEndian.AppendUint64(nil, n), rest...)
	}
	zeros := func(n int) []byte { return make([]byte, n) }
	tests := []struct {
		name string
		data []byte
		want []string // substrings of the error, besides the file name
	}{
		{"empty file", nil, []string{"file is 0 bytes, too short for the 8-byte"}},
		{"short file", []byte{2, 0, 0, 0, 0}, []string{"file is 5 bytes, too short"}},
		{"header too large", withN(MaxHeaderSize+1, "{}"), []string{"header length is 100000001 bytes, over the 100000000-byte limit"}},
		{"header length overflows", withN(math.MaxUint64, "{}"), []string{"over the 100000000-byte limit"}},
		{"header past end", withN(10, "{}      "), []string{"header length is 10 bytes, but only 8 bytes follow the 8-byte length prefix"}},
		{"empty header", withN(0, ""), []string{"header is empty"}},
		{"invalid UTF-8", rawFile("{\"a\xff\":1}", nil), []string{"header is not valid UTF-8: invalid byte 0xff at byte 3"}},
		{"not starting with brace", rawFile(" {}", nil), []string{"header must be a JSON object starting with '{', but it starts with ' '"}},
		{"array header", rawFile("[]", nil), []string{"starting with '{', but it starts with '['"}},
		{"invalid JSON", rawFile(`{"a":}`, nil), []string{"header is not valid JSON", "invalid character '}'", "at byte 5 of the header"}},
		{"unterminated JSON", rawFile(`{"a":{"dtype":"F32"`, nil), []string{"header is not valid JSON: unexpected end of JSON input (at byte 19 of the header)"}},
		{"unterminated string", rawFile(`{"a`, nil), []string{"header is not valid JSON: unexpected end of JSON input (at byte 3 of the header)"}},
		{"trailing garbage", rawFile(`{} x`, nil), []string{`header has 'x' after the closing '}' of its JSON object (at byte 3 of the header)`}},
		{"second object", rawFile(`{} {}`, nil), []string{`header has '{' after the closing '}'`}},
		{"trailing NUL padding", rawFile("{}\x00\x00", nil), []string{`header has '\x00' after the closing '}'`}},
		{"deep nesting", rawFile(`{"a":{"x":`+strings.Repeat("[", 20000)+strings.Repeat("]", 20000)+`}}`, nil), []string{"header is not valid JSON", "exceeded max depth"}},
		{"duplicate tensor", rawFile(hdr(f32("w", "[1]", "[0,4]"), f32("w", "[1]", "[4,8]")), zeros(8)), []string{`tensor "w": duplicate tensor name`}},
		{"duplicate tensor via escape", rawFile(hdr(f32("w", "[1]", "[0,4]"), f32(`\u0077`, "[1]", "[4,8]")), zeros(8)), []string{`tensor "w": duplicate tensor name`}},
		{"duplicate metadata", rawFile(`{"__metadata__":{},"__metadata__":{}}`, nil), []string{`two "__metadata__" entries`}},
		{"duplicate metadata key", rawFile(`{"__metadata__":{"k":"a","k":"b"}}`, nil), []string{`has the key "k" twice`}},
		{"unknown dtype", rawFile(`{"w":{"dtype":"F31","shape":[1],"data_offsets":[0,4]}}`, zeros(4)), []string{`tensor "w": unknown dtype "F31" (want one of BOOL, U8`}},
		{"dtype not a string", rawFile(`{"w":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}`, zeros(4)), []string{`tensor "w": dtype is the number 4, want a string`}},
		{"negative dim", rawFile(hdr(f32("w", "[2,-2]", "[0,16]")), zeros(16)), []string{`tensor "w": shape[1] is -2; dimensions must be non-negative`}},
		{"fractional dim", rawFile(hdr(f32("w", "[1.5]", "[0,4]")), zeros(4)), []string{`tensor "w": shape[0] is 1.5, want an integer`}},
		{"exponent dim", rawFile(hdr(f32("w", "[1e0]", "[0,4]")), zeros(4)), []string{`tensor "w": shape[0] is 1e0, want an integer`}},
		{"string dim", rawFile(hdr(f32("w", `["1"]`, "[0,4]")), zeros(4)), []string{`tensor "w": shape[0] is the string "1", want an integer`}},
		{"huge dim", rawFile(hdr(f32("w", "[99999999999999999999]", "[0,4]")), zeros(4)), []string{`tensor "w": shape[0] is 99999999999999999999, larger than the largest 64-bit integer`}},
		{"shape not array", rawFile(hdr(f32("w", "4", "[0,4]")), zeros(4)), []string{`tensor "w": shape is the number 4, want an array of integers`}},
		{"missing shape and offsets", rawFile(`{"w":{"dtype":"F32"}}`, nil), []string{`tensor "w": entry is missing "shape" and "data_offsets"`}},
		{"missing dtype", rawFile(`{"w":{"shape":[],"data_offsets":[0,4]}}`, zeros(4)), []string{`tensor "w": entry is missing "dtype"`}},
		{"duplicate field", rawFile(`{"w":{"dtype":"F32","dtype":"F32","shape":[],"data_offsets":[0,4]}}`, zeros(4)), []string{`tensor "w": field "dtype" appears twice`}},
		{"entry not an object", rawFile(`{"w":[1,2]}`, nil), []string{`tensor "w": entry is an array, want an object with "dtype", "shape" and "data_offsets"`}},
		{"entry is null", rawFile(`{"w":null}`, nil), []string{`tensor "w": entry is null`}},
		{"element count overflow", rawFile(hdr(f32("w", "[2147483647,2147483647,2147483647]", "[0,0]")), nil), []string{`tensor "w": shape [2147483647 2147483647 2147483647] of dtype F32 has more elements or bytes than fit in a 64-bit integer`}},
		{"byte count overflow", rawFile(hdr(f32("w", "[2147483647,2147483647,2]", "[0,0]")), nil), []string{`tensor "w": shape [2147483647 2147483647 2] of dtype F32 has more elements or bytes than fit`}},
		{"overflow before zero dim", rawFile(hdr(f32("w", "[2147483647,2147483647,2147483647,0]", "[0,0]")), nil), []string{`tensor "w": shape [2147483647 2147483647 2147483647 0] of dtype F32 has more elements or bytes than fit`}},
		{"begin after end", rawFile(hdr(f32("w", "[1]", "[8,4]")), zeros(8)), []string{`tensor "w": data_offsets [8, 4] begin after they end`}},
		{"size mismatch", rawFile(hdr(f32("w", "[2,2]", "[0,12]")), zeros(12)), []string{`tensor "w": data_offsets [0, 12] hold 12 bytes, but dtype F32 shape [2 2] needs 16`}},
		{"offsets out of buffer", rawFile(hdr(f32("w", "[2,2]", "[0,16]")), zeros(12)), []string{`tensor "w": data_offsets [0, 16] reach past the end of the 12-byte data buffer`}},
		{"one offset", rawFile(hdr(f32("w", "[]", "[4]")), zeros(4)), []string{`tensor "w": data_offsets has 1 elements, want 2`}},
		{"three offsets", rawFile(hdr(f32("w", "[]", "[0,4,4]")), zeros(4)), []string{`tensor "w": data_offsets has more than 2 elements`}},
		{"negative offset", rawFile(hdr(f32("w", "[]", "[-4,0]")), zeros(4)), []string{`tensor "w": data_offsets[0] is -4; offsets must be non-negative`}},
		{"overlap", rawFile(hdr(f32("a", "[4]", "[0,16]"), f32("b", "[4]", "[8,24]")), zeros(24)), []string{`tensor "b": data_offsets [8, 24] overlap tensor "a" at [0, 16]`}},
		{"same offsets", rawFile(hdr(f32("a", "[1]", "[0,4]"), f32("b", "[1]", "[0,4]")), zeros(4)), []string{`tensor "b": data_offsets [0, 4] overlap tensor "a" at [0, 4]`}},
		{"zero-size inside another", rawFile(hdr(f32("a", "[2]", "[0,8]"), f32("z", "[0]", "[4,4]")), zeros(8)), []string{`tensor "z": data_offsets [4, 4] overlap tensor "a"`}},
		{"gap", rawFile(hdr(f32("a", "[1]", "[0,4]"), f32("b", "[1]", "[8,12]")), zeros(12)), []string{`tensor "b": data_offsets [8, 12] leave a gap: bytes [4, 8) after tensor "a" at [0, 4] belong to no tensor`}},
		{"leading gap", rawFile(hdr(f32("a", "[1]", "[4,8]")), zeros(8)), []string{`tensor "a": data_offsets [4, 8] leave a gap: bytes [0, 4) at the start of the data buffer`}},
		{"trailing bytes", rawFile(hdr(f32("a", "[1]", "[0,4]")), zeros(7)), []string{`data buffer is 7 bytes, but the tensors end at byte 4: the last 3 bytes belong to no tensor`}},
		{"data without tensors", rawFile(`{}`, zeros(1)), []string{`data buffer is 1 bytes, but the tensors end at byte 0`}},
		{"metadata value number", rawFile(`{"__metadata__":{"n":1}}`, nil), []string{`"__metadata__" value for key "n" is the number 1, want a string`}},
		{"metadata value object", rawFile(`{"__metadata__":{"n":{"x":"y"}}}`, nil), []string{`"__metadata__" value for key "n" is an object, want a string`}},
		{"metadata not object", rawFile(`{"__metadata__":["a"]}`, nil), []string{`"__metadata__" is an array, want an object mapping strings to strings`}},
		{"metadata string", rawFile(`{"__metadata__":"pt"}`, nil), []string{`"__metadata__" is the string "pt", want an object`}},
		{"tensor named __metadata__", rawFile(`{"__metadata__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, zeros(4)), []string{`"__metadata__" looks like a tensor entry`, "reserved"}},
	}
	seen := map[string]string{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse(file, tc.data)
			if err == nil {
				t.Fatalf("Parse succeeded with tensors %q, want an error", f.Names())
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "safetensors: "+file+": ") {
				t.Errorf("error %q does not start with %q", msg, "safetensors: "+file+": ")
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			if e, ok := errors.AsType[*Error](err); !ok || e.File != file {
				t.Errorf("error %#v is not an *Error for %q", err, file)
			}
			if other, dup := seen[msg]; dup {
				t.Errorf("cases %q and %q give the same error %q", other, tc.name, msg)
			}
			seen[msg] = tc.name

			// Open must report the same error for the same bytes on disk.
			path := filepath.Join(t.TempDir(), file)
			if err := os.WriteFile(path, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, oerr := Open(path)
			if oerr == nil || oerr.Error() != strings.Replace(msg, file, path, 1) {
				t.Errorf("Open error = %v, want %q", oerr, strings.Replace(msg, file, path, 1))
			}
		})
	}
}

// smallFile returns a small valid file with metadata and several dtypes.
func smallFile(t testing.TB) []byte {
	t1, err := FromFloat32("w", []int{2, 2}, []float32{1, 2, 3, 4}, BF16)
	if err != nil {
		t.Fatal(err)
	}
	t2, err := FromInt64("ids", []int{3}, []int64{-1, 0, 7}, I64)
	if err != nil {
		t.Fatal(err)
	}
	t3 := Tensor{Name: "z", DType: F32, Shape: []int{0}}
	t4, err := FromFloat32("s", nil, []float32{0.5}, F32)
	if err != nil {
		t.Fatal(err)
	}
	return mustEncode(t, []Tensor{t1, t2, t3, t4}, map[string]string{"format": "pt"})
}

// TestTruncated cuts a valid file at every length and checks that Parse and
// Open reject each prefix with an error naming the file.
func TestTruncated(t *testing.T) {
	data := smallFile(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "cut.safetensors")
	for n := range len(data) {
		_, err := Parse("cut.safetensors", data[:n])
		if err == nil {
			t.Fatalf("Parse of the first %d of %d bytes succeeded", n, len(data))
		}
		if !strings.Contains(err.Error(), "cut.safetensors") {
			t.Fatalf("error %q does not name the file", err)
		}
		if err := os.WriteFile(path, data[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(path); err == nil || !strings.Contains(err.Error(), path) {
			t.Fatalf("Open of the first %d of %d bytes: error %v", n, len(data), err)
		}
	}
	if _, err := Parse("cut.safetensors", data); err != nil {
		t.Fatal(err)
	}
}

func TestFloatConversions(t *testing.T) {
	vals := []float32{0, float32(math.Copysign(0, -1)), 1, -2.5, 65504, 1e-7, 3.14159265, float32(math.Inf(1)), float32(math.Inf(-1)), 1 + 1.0/256, 1 + 3.0/512, 70000}
	for _, dt := range []DType{F32, F64, F16, BF16} {
		tt, err := FromFloat32("x", []int{len(vals)}, vals, dt)
		if err != nil {
			t.Fatal(err)
		}
		f, err := Parse("conv", mustEncode(t, []Tensor{tt}, nil))
		if err != nil {
			t.Fatal(err)
		}
		got, shape, err := f.Float32("x")
		if err != nil || !slices.Equal(shape, []int{len(vals)}) {
			t.Fatalf("%s: Float32: %v, shape %v", dt, err, shape)
		}
		got64, _, err := f.Float64("x")
		if err != nil {
			t.Fatalf("%s: Float64: %v", dt, err)
		}
		for i, v := range vals {
			want := v
			switch dt {
			case F16:
				want = tensor.Float32FromF16(tensor.F16FromFloat32(v))
			case BF16:
				want = tensor.Float32FromBF16(tensor.BF16FromFloat32(v))
			}
			if math.Float32bits(got[i]) != math.Float32bits(want) || math.Float64bits(got64[i]) != math.Float64bits(float64(want)) {
				t.Errorf("%s: element %d = %v / %v, want %v", dt, i, got[i], got64[i], want)
			}
		}
	}
	// Round to nearest even when narrowing: 1+2^-8 is halfway between two
	// bfloat16 values and rounds to 1; 1+3*2^-9 rounds up.
	tt, _ := FromFloat32("x", []int{3}, []float32{1 + 1.0/256, 1 + 3.0/512, 70000}, BF16)
	if want := []byte{0x80, 0x3f, 0x81, 0x3f, 0x89, 0x47}; !bytes.Equal(tt.Data, want) {
		t.Errorf("BF16 bytes = %x, want %x", tt.Data, want)
	}
	tt, _ = FromFloat32("x", []int{3}, []float32{1 + 1.0/2048, 65520, 1}, F16)
	if want := []byte{0x00, 0x3c, 0x00, 0x7c, 0x00, 0x3c}; !bytes.Equal(tt.Data, want) {
		t.Errorf("F16 bytes = %x, want %x", tt.Data, want)
	}

	// NaN survives every float dtype.
	for _, dt := range []DType{F32, F64, F16, BF16} {
		tt, _ := FromFloat32("n", nil, []float32{float32(math.NaN())}, dt)
		f, err := Parse("nan", mustEncode(t, []Tensor{tt}, nil))
		if err != nil {
			t.Fatal(err)
		}
		if v, _, _ := f.Float32("n"); !math.IsNaN(float64(v[0])) {
			t.Errorf("%s: NaN read back as %v", dt, v[0])
		}
	}

	// Float64 from F64 is exact, and FromFloat64 to F32 rounds.
	d := []float64{math.Pi, -1e300, math.SmallestNonzeroFloat64, 0}
	t64, err := FromFloat64("d", []int{2, 2}, d, F64)
	if err != nil {
		t.Fatal(err)
	}
	t32, err := FromFloat64("s", []int{4}, d, F32)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse("f64", mustEncode(t, []Tensor{t64, t32}, nil))
	if err != nil {
		t.Fatal(err)
	}
	if got, shape, err := f.Float64("d"); err != nil || !slices.Equal(got, d) || !slices.Equal(shape, []int{2, 2}) {
		t.Errorf("Float64(d) = %v, %v, %v; want %v", got, shape, err, d)
	}
	got, _, err := f.Float64("s")
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range d {
		if got[i] != float64(float32(v)) {
			t.Errorf("F32 element %d = %v, want %v", i, got[i], float64(float32(v)))
		}
	}
	if got, _, _ := f.Float32("d"); got[0] != float32(math.Pi) {
		t.Errorf("Float32 of F64 pi = %v", got[0])
	}
}

func TestFloat8(t *testing.T) {
	nan := float32(math.NaN())
	tests := []struct {
		dt   DType
		in   []byte
		want []float32
	}{
		{F8_E4M3, []byte{0x00, 0x80, 0x38, 0xb8, 0x7e, 0x01, 0x08, 0x07, 0x7f, 0xff, 0x3c}, []float32{0, float32(math.Copysign(0, -1)), 1, -1, 448, 1.0 / 512, 1.0 / 64, 7.0 / 512, nan, nan, 1.5}},
		{F8_E5M2, []byte{0x00, 0x3c, 0xbc, 0x7b, 0x7c, 0xfc, 0x01, 0x7d, 0x3e}, []float32{0, 1, -1, 57344, float32(math.Inf(1)), float32(math.Inf(-1)), 1.0 / 65536, nan, 1.5}},
	}
	for _, tc := range tests {
		f, err := Parse("f8", mustEncode(t, []Tensor{{Name: "x", DType: tc.dt, Shape: []int{len(tc.in)}, Data: tc.in}}, nil))
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := f.Float32("x")
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range tc.want {
			if math.IsNaN(float64(w)) != math.IsNaN(float64(got[i])) || (!math.IsNaN(float64(w)) && math.Float32bits(got[i]) != math.Float32bits(w)) {
				t.Errorf("%s byte %#02x = %v, want %v", tc.dt, tc.in[i], got[i], w)
			}
		}
	}
}

func TestIntConversions(t *testing.T) {
	tests := []struct {
		dt   DType
		vals []int64
		bad  []int64 // values FromInt64 must reject
	}{
		{I64, []int64{math.MinInt64, -1, 0, 1, math.MaxInt64}, nil},
		{U64, []int64{0, 1, math.MaxInt64}, []int64{-1, math.MinInt64}},
		{I32, []int64{math.MinInt32, -1, 0, math.MaxInt32}, []int64{math.MinInt32 - 1, math.MaxInt32 + 1}},
		{U32, []int64{0, 1, math.MaxUint32}, []int64{-1, math.MaxUint32 + 1}},
		{I16, []int64{math.MinInt16, -1, 0, math.MaxInt16}, []int64{math.MinInt16 - 1, math.MaxInt16 + 1}},
		{U16, []int64{0, 1, math.MaxUint16}, []int64{-1, math.MaxUint16 + 1}},
		{I8, []int64{math.MinInt8, -1, 0, math.MaxInt8}, []int64{math.MinInt8 - 1, math.MaxInt8 + 1}},
		{U8, []int64{0, 1, math.MaxUint8}, []int64{-1, math.MaxUint8 + 1}},
		{BOOL, []int64{0, 1, 1, 0}, []int64{-1, 2}},
	}
	for _, tc := range tests {
		tt, err := FromInt64("x", []int{len(tc.vals)}, tc.vals, tc.dt)
		if err != nil {
			t.Fatalf("%s: %v", tc.dt, err)
		}
		f, err := Parse("ints", mustEncode(t, []Tensor{tt}, nil))
		if err != nil {
			t.Fatal(err)
		}
		got, shape, err := f.Int64("x")
		if err != nil || !slices.Equal(got, tc.vals) || !slices.Equal(shape, []int{len(tc.vals)}) {
			t.Errorf("%s: Int64 = %v, %v, %v; want %v", tc.dt, got, shape, err, tc.vals)
		}
		// Out-of-range values are rejected by FromInt64.
		for _, bad := range tc.bad {
			_, err := FromInt64("x", []int{1}, []int64{bad}, tc.dt)
			if err == nil || !strings.Contains(err.Error(), "outside the range of "+string(tc.dt)) || !strings.Contains(err.Error(), `tensor "x"`) {
				t.Errorf("%s: FromInt64(%d) error = %v", tc.dt, bad, err)
			}
		}
	}

	// BOOL bytes other than 0 read as 1; U64 values above MaxInt64 are an error.
	data := rawFile(`{"b":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]},"u":{"dtype":"U64","shape":[2],"data_offsets":[3,19]}}`,
		[]byte{0, 1, 2, 5, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f, err := Parse("ints.safetensors", data)
	if err != nil {
		t.Fatal(err)
	}
	if got, _, err := f.Int64("b"); err != nil || !slices.Equal(got, []int64{0, 1, 1}) {
		t.Errorf("Int64(b) = %v, %v", got, err)
	}
	if _, _, err := f.Int64("u"); err == nil || !strings.Contains(err.Error(), `ints.safetensors: tensor "u": U64 element 1 is 18446744073709551615, which does not fit in an int64`) {
		t.Errorf("Int64(u) error = %v", err)
	}
}

func TestConversionErrors(t *testing.T) {
	var tensors []Tensor
	for _, dt := range DTypes {
		tensors = append(tensors, Tensor{Name: string(dt), DType: dt, Shape: []int{1}, Data: make([]byte, dt.Size())})
	}
	f, err := Parse("conv.safetensors", mustEncode(t, tensors, nil))
	if err != nil {
		t.Fatal(err)
	}
	float32OK := map[DType]bool{F32: true, F16: true, BF16: true, F64: true, F8_E4M3: true, F8_E5M2: true}
	float64OK := map[DType]bool{F32: true, F16: true, BF16: true, F64: true}
	int64OK := map[DType]bool{I64: true, I32: true, I16: true, I8: true, U64: true, U32: true, U16: true, U8: true, BOOL: true}
	for _, dt := range DTypes {
		name := string(dt)
		check := func(method string, ok bool, err error) {
			t.Helper()
			if ok != (err == nil) {
				t.Errorf("%s(%s): error %v, want ok=%v", method, dt, err, ok)
			}
			if err != nil && !strings.Contains(err.Error(), `conv.safetensors: tensor "`+name+`": dtype `+name+" cannot be read as") {
				t.Errorf("%s(%s): error %q does not name the file, tensor and dtype", method, dt, err)
			}
		}
		_, _, err := f.Float32(name)
		check("Float32", float32OK[dt], err)
		_, _, err = f.Float64(name)
		check("Float64", float64OK[dt], err)
		_, _, err = f.Int64(name)
		check("Int64", int64OK[dt], err)
	}
	if _, err := f.Bytes("nope"); err == nil || !strings.Contains(err.Error(), `conv.safetensors: tensor "nope": no such tensor`) {
		t.Errorf("Bytes(nope) error = %v", err)
	}
	if _, ok := f.Info("nope"); ok {
		t.Error(`Info("nope") found a tensor`)
	}

	// The From functions reject wrong dtypes and shapes.
	fromErrs := []struct {
		err  error
		want string
	}{
		{second(FromFloat32("a", []int{2}, []float32{1}, F32)), `tensor "a": shape [2] has 2 elements, but 1 values were given`},
		{second(FromFloat32("a", []int{1}, []float32{1}, I32)), `FromFloat32 cannot encode dtype "I32"`},
		{second(FromFloat32("a", []int{-1}, []float32{1}, F32)), `shape[0] is -1`},
		{second(FromFloat64("a", []int{1}, []float64{1}, F16)), `FromFloat64 cannot encode dtype "F16"`},
		{second(FromFloat64("a", []int{3}, []float64{1}, F64)), `shape [3] has 3 elements, but 1 values were given`},
		{second(FromInt64("a", []int{1}, []int64{1}, F32)), `FromInt64 cannot encode dtype "F32"`},
		{second(FromInt64("a", []int{math.MaxInt, math.MaxInt, math.MaxInt}, nil, I8)), `more elements than fit`},
		{second(FromInt64("a", []int{2}, []int64{1, 2}, BOOL)), `value 2 at index 1 is outside the range of BOOL [0, 1]`},
	}
	for _, tc := range fromErrs {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("error %v, want it to contain %q", tc.err, tc.want)
		}
	}
}

func second[T any](_ T, err error) error { return err }

// TestEncodeErrors checks the writer's validation; with Write the errors
// name the file.
func TestEncodeErrors(t *testing.T) {
	ok := Tensor{Name: "ok", DType: F32, Shape: []int{1}, Data: make([]byte, 4)}
	tests := []struct {
		name    string
		tensors []Tensor
		md      map[string]string
		want    string
	}{
		{"duplicate", []Tensor{ok, ok}, nil, `tensor "ok": duplicate tensor name (tensors 0 and 1)`},
		{"reserved", []Tensor{{Name: "__metadata__", DType: U8, Shape: []int{}, Data: []byte{1}}}, nil, `tensor "__metadata__": the name is reserved for the metadata map`},
		{"short data", []Tensor{{Name: "w", DType: F32, Shape: []int{2, 2}, Data: make([]byte, 12)}}, nil, `tensor "w": data is 12 bytes, but dtype F32 shape [2 2] needs 16`},
		{"long data", []Tensor{{Name: "w", DType: U8, Shape: []int{}, Data: make([]byte, 2)}}, nil, `tensor "w": data is 2 bytes, but dtype U8 shape [] needs 1`},
		{"unknown dtype", []Tensor{{Name: "w", DType: "float", Shape: []int{}, Data: make([]byte, 4)}}, nil, `tensor "w": unknown dtype "float"`},
		{"negative dim", []Tensor{{Name: "w", DType: F32, Shape: []int{-1}}}, nil, `tensor "w": shape[0] is -1`},
		{"overflow", []Tensor{{Name: "w", DType: F64, Shape: []int{math.MaxInt, math.MaxInt, math.MaxInt}}}, nil, `of dtype F64 has more elements or bytes than fit`},
		{"byte overflow", []Tensor{{Name: "w", DType: F64, Shape: []int{1 << 30, 1 << 30, 1 << 2}}}, nil, `tensor "w": shape [1073741824 1073741824 4] of dtype F64 has more elements or bytes than fit`},
		{"bad UTF-8 name", []Tensor{{Name: "w\xff", DType: U8, Shape: []int{}, Data: []byte{1}}}, nil, `name is not valid UTF-8`},
		{"bad UTF-8 metadata", nil, map[string]string{"k": "\xff"}, `metadata value "\xff" of key "k" is not valid UTF-8`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Encode(&buf, tc.tensors, tc.md)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Encode error = %v, want it to contain %q", err, tc.want)
			}
			if buf.Len() != 0 {
				t.Errorf("Encode wrote %d bytes before failing", buf.Len())
			}
			dir := t.TempDir()
			path := filepath.Join(dir, "out.safetensors")
			err = Write(path, tc.tensors, tc.md)
			if err == nil || !strings.Contains(err.Error(), "safetensors: "+path+": ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Write error = %v, want it to name %s and contain %q", err, path, tc.want)
			}
			assertDirEntries(t, dir)
		})
	}
}

// assertDirEntries fails unless dir holds exactly the named entries.
func assertDirEntries(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if !slices.Equal(got, names) {
		t.Errorf("directory holds %q, want %q", got, names)
	}
}

// failWriter fails after accepting limit bytes.
type failWriter struct{ limit int }

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) > w.limit {
		n := w.limit
		w.limit = 0
		return n, errors.New("disk full")
	}
	w.limit -= len(p)
	return len(p), nil
}

func TestEncodeWriteError(t *testing.T) {
	data := smallFile(t)
	f, err := Parse("x", data)
	if err != nil {
		t.Fatal(err)
	}
	var tensors []Tensor
	for _, in := range f.Infos() {
		b, _ := f.Bytes(in.Name)
		tensors = append(tensors, Tensor{in.Name, in.DType, in.Shape, b})
	}
	for _, limit := range []int{0, 8, int(f.DataOffset()) + 3} {
		err := Encode(&failWriter{limit: limit}, tensors, f.Metadata)
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("limit %d: error = %v, want disk full", limit, err)
		}
	}
}

func TestWriteAtomic(t *testing.T) {
	tt := []Tensor{{Name: "a", DType: U8, Shape: []int{3}, Data: []byte{1, 2, 3}}}

	t.Run("missing directory", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "nope", "x.safetensors")
		err := Write(path, tt, nil)
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Fatalf("Write error = %v, want one naming %s", err, path)
		}
		assertDirEntries(t, dir)
	})

	t.Run("failed fill leaves nothing", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "x.safetensors")
		err := writeAtomic(path, func(w io.Writer) error {
			if _, err := w.Write(make([]byte, 3<<20)); err != nil { // more than the buffer
				return err
			}
			return errors.New("boom")
		})
		if err == nil || err.Error() != "boom" {
			t.Fatalf("error = %v, want boom", err)
		}
		assertDirEntries(t, dir)
	})

	t.Run("failed write keeps the old file", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "x.safetensors")
		if err := Write(path, tt, map[string]string{"v": "1"}); err != nil {
			t.Fatal(err)
		}
		old, _ := os.ReadFile(path)
		err := writeAtomic(path, func(w io.Writer) error {
			w.Write([]byte("partial"))
			return errors.New("boom")
		})
		if err == nil {
			t.Fatal("writeAtomic succeeded")
		}
		assertDirEntries(t, dir, "x.safetensors")
		if now, _ := os.ReadFile(path); !bytes.Equal(now, old) {
			t.Error("the existing file was modified")
		}
		// A validation error never touches it either.
		if err := Write(path, []Tensor{tt[0], tt[0]}, nil); err == nil {
			t.Fatal("Write with duplicate names succeeded")
		}
		assertDirEntries(t, dir, "x.safetensors")
		if now, _ := os.ReadFile(path); !bytes.Equal(now, old) {
			t.Error("the existing file was modified")
		}
	})

	t.Run("rename onto a directory", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "x.safetensors")
		if err := os.Mkdir(path, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(path, "keep"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := Write(path, tt, nil); err == nil {
			t.Fatal("Write onto a non-empty directory succeeded")
		}
		assertDirEntries(t, dir, "x.safetensors")
		assertDirEntries(t, path, "keep")
		if _, err := Open(path); err == nil || !strings.Contains(err.Error(), "is a directory") {
			t.Errorf("Open of a directory: %v", err)
		}
	})

	t.Run("replace keeps permissions", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "x.safetensors")
		if err := Write(path, tt, nil); err != nil {
			t.Fatal(err)
		}
		if runtime.GOOS != "windows" {
			if st, _ := os.Stat(path); st.Mode().Perm() != 0o644 {
				t.Errorf("new file mode %v, want 0644", st.Mode().Perm())
			}
			if err := os.Chmod(path, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		tt2 := []Tensor{{Name: "b", DType: I16, Shape: []int{}, Data: []byte{1, 2}}}
		if err := Write(path, tt2, nil); err != nil {
			t.Fatal(err)
		}
		assertDirEntries(t, dir, "x.safetensors")
		if runtime.GOOS != "windows" {
			if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
				t.Errorf("replaced file mode %v, want 0600", st.Mode().Perm())
			}
		}
		f, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		checkFile(t, f, tt2, nil)
	})

	t.Run("relative path", func(t *testing.T) {
		dir := t.TempDir()
		t.Chdir(dir)
		if err := Write("rel.safetensors", tt, nil); err != nil {
			t.Fatal(err)
		}
		assertDirEntries(t, dir, "rel.safetensors")
	})
}

func TestOpenErrorsAndClose(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.safetensors")
	if _, err := Open(missing); err == nil || !strings.Contains(err.Error(), missing) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open(missing) = %v", err)
	}

	path := filepath.Join(dir, "ok.safetensors")
	if err := os.WriteFile(path, smallFile(t), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	view, err := f.View("w")
	if err != nil || len(view) != 8 {
		t.Fatalf("View = %x, %v", view, err)
	}
	b, err := f.Bytes("w")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	b[0]++ // a copy survives Close and is writable
	for _, call := range []func() error{
		func() error { _, err := f.Bytes("w"); return err },
		func() error { _, err := f.View("w"); return err },
		func() error { _, _, err := f.Float32("w"); return err },
		func() error { _, _, err := f.Float64("w"); return err },
		func() error { _, _, err := f.Int64("ids"); return err },
	} {
		if err := call(); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "file is closed") {
			t.Errorf("after Close: error %v", err)
		}
	}
	// The header is still available after Close.
	if _, ok := f.Info("w"); !ok || len(f.Names()) != 4 {
		t.Error("Info/Names after Close lost the header")
	}
}

// TestNamesInOffsetOrder checks that Names follows the data layout, not the
// header order.
func TestNamesInOffsetOrder(t *testing.T) {
	data := rawFile(`{"c":{"dtype":"U8","shape":[1],"data_offsets":[2,3]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, []byte{10, 11, 12})
	f, err := Parse("order", data)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Names(); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("Names() = %q, want [a b c]", got)
	}
	if v, _, _ := f.Int64("c"); !slices.Equal(v, []int64{12}) {
		t.Errorf("Int64(c) = %v, want [12]", v)
	}
}

// fuzzSeeds returns the inputs FuzzParse starts from: valid files of every
// dtype and shape kind, and malformed headers of every kind.
func fuzzSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	seeds = append(seeds, smallFile(t))
	var all []Tensor
	for i, dt := range DTypes {
		all = append(all, Tensor{Name: string(dt), DType: dt, Shape: []int{2, i % 3}, Data: make([]byte, 2*(i%3)*dt.Size())})
	}
	seeds = append(seeds, mustEncode(t, all, map[string]string{"format": "pt", "a\nb": "\u4e16"}))
	seeds = append(seeds, mustEncode(t, nil, nil))
	for _, h := range []string{
		`{"__metadata__":{"k":"v"},"a":{"dtype":"F16","shape":[],"data_offsets":[0,2]}}`,
		`{"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`,
		`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`,
		`{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}`,
		`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`,
		`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`,
		`{"a":{"dtype":"X","shape":[1],"data_offsets":[0,4]},"__metadata__":{"n":1}}`,
		`{"__metadata__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`,
		`{"a":{"shape":[4294967296,4294967296],"dtype":"U64","data_offsets":[0,0],"x":[]}}`,
		`{"a":{"dtype":"I8","shape":[1],"data_offsets":[0,1]}} `,
		`{"a":[}`,
		` {}`,
	} {
		seeds = append(seeds, rawFile(h, make([]byte, 8)))
	}
	seeds = append(seeds, []byte{}, []byte{1, 2, 3}, binary.LittleEndian.AppendUint64(nil, math.MaxUint64))
	return seeds
}

// FuzzParse checks that Parse never panics and that whatever it accepts
// survives re-encoding: Encode of the parsed tensors parses to the same
// infos, metadata and bytes, and is a fixed point of Parse+Encode.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "fuzz.safetensors"
		file, err := Parse(name, data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "safetensors: "+name+": ") {
				t.Fatalf("error %q does not name the file", err)
			}
			if _, ok := errors.AsType[*Error](err); !ok {
				t.Fatalf("error %#v is not an *Error", err)
			}
			return
		}
		infos := file.Infos()
		var tensors []Tensor
		for _, in := range infos {
			b, err := file.Bytes(in.Name)
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(b)) != in.End-in.Begin || int64(in.NumElements()*in.DType.Size()) != in.End-in.Begin {
				t.Fatalf("tensor %q: %d bytes for %+v", in.Name, len(b), in)
			}
			// The conversions must not panic; they may refuse the dtype.
			if v, _, err := file.Float32(in.Name); err == nil && len(v) != in.NumElements() {
				t.Fatalf("Float32(%q) has %d elements, want %d", in.Name, len(v), in.NumElements())
			}
			file.Float64(in.Name)
			file.Int64(in.Name)
			tensors = append(tensors, Tensor{Name: in.Name, DType: in.DType, Shape: in.Shape, Data: b})
		}
		var buf bytes.Buffer
		if err := Encode(&buf, tensors, file.Metadata); err != nil {
			t.Fatalf("re-encoding a parsed file: %v", err)
		}
		again, err := Parse(name, buf.Bytes())
		if err != nil {
			t.Fatalf("parsing the re-encoded file: %v\n%q", err, buf.Bytes())
		}
		if got := again.Infos(); !reflect.DeepEqual(got, infos) {
			t.Fatalf("infos changed by re-encoding:\n%+v\nwant\n%+v", got, infos)
		}
		if !reflect.DeepEqual(again.Metadata, file.Metadata) {
			t.Fatalf("metadata changed by re-encoding: %v, want %v", again.Metadata, file.Metadata)
		}
		for _, tt := range tensors {
			if b, _ := again.Bytes(tt.Name); !bytes.Equal(b, tt.Data) {
				t.Fatalf("tensor %q bytes changed by re-encoding", tt.Name)
			}
		}
		var buf2 bytes.Buffer
		if err := Encode(&buf2, tensors, again.Metadata); err != nil || !bytes.Equal(buf2.Bytes(), buf.Bytes()) {
			t.Fatalf("encoding is not canonical: %v", err)
		}
	})
}

// TestFuzzCorpusNames checks the hand-written files of the committed fuzz
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
	if count < 8 {
		t.Errorf("only %d named corpus files", count)
	}
}

// TestConcurrentReadAndClose reads tensors from several goroutines while the
// file is closed: every read either succeeds with the right values or
// reports that the file is closed (run with -race).
func TestConcurrentReadAndClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.safetensors")
	vals := make([]float32, 1<<16)
	for i := range vals {
		vals[i] = float32(i)
	}
	tt, err := FromFloat32("x", []int{len(vals)}, vals, F32)
	if err != nil {
		t.Fatal(err)
	}
	if err := Write(path, []Tensor{tt}, nil); err != nil {
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
				v, _, err := f.Float32("x")
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
