package safetensors

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxHeaderSize is the largest header, in bytes, that Parse and Open accept
// (the limit of the reference implementation).
const MaxHeaderSize = 100_000_000

// metadataKey is the reserved header key of the metadata map.
const metadataKey = "__metadata__"

// Info describes one tensor of a file.
type Info struct {
	Name  string
	DType DType
	Shape []int // [] for a scalar
	// Begin and End delimit the tensor's bytes in the data buffer, which
	// starts at File.DataOffset in the file: End-Begin is the element count
	// times DType.Size().
	Begin, End int64
}

// NumElements returns the number of elements of the tensor: the product of
// its shape, 1 for a scalar.
func (in Info) NumElements() int {
	n := 1
	for _, d := range in.Shape {
		n *= d
	}
	return n
}

// clone returns a copy of in that shares no memory with it.
func (in Info) clone() Info {
	in.Shape = slices.Clone(in.Shape)
	if in.Shape == nil {
		in.Shape = []int{}
	}
	return in
}

// Parse parses and validates a complete safetensors file held in data. name
// identifies the file in error messages and becomes File.Path. The returned
// File refers to data, which must not be modified while the File is in use;
// its Close method does nothing but mark it closed.
func Parse(name string, data []byte) (*File, error) {
	return parse(name, data)
}

// parse parses data and returns a File over it, or an *Error.
func parse(name string, data []byte) (*File, error) {
	if len(data) < 8 {
		return nil, fileErr(name, "file is %d bytes, too short for the 8-byte little-endian header length that starts every safetensors file", len(data))
	}
	n := binary.LittleEndian.Uint64(data)
	if n > MaxHeaderSize {
		return nil, fileErr(name, "header length is %d bytes, over the %d-byte limit (is this a safetensors file?)", n, MaxHeaderSize)
	}
	if n > uint64(len(data)-8) {
		return nil, fileErr(name, "header length is %d bytes, but only %d bytes follow the 8-byte length prefix (file is %d bytes; truncated?)", n, len(data)-8, len(data))
	}
	hdr := data[8 : 8+n]
	buf := data[8+n:]
	if len(hdr) == 0 {
		return nil, fileErr(name, "header is empty; expected a JSON object starting with '{'")
	}
	if !utf8.Valid(hdr) {
		off := 0
		for off < len(hdr) {
			r, size := utf8.DecodeRune(hdr[off:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			off += size
		}
		return nil, fileErr(name, "header is not valid UTF-8: invalid byte 0x%02x at byte %d of the header", hdr[off], off)
	}
	if hdr[0] != '{' {
		r, _ := utf8.DecodeRune(hdr)
		return nil, fileErr(name, "header must be a JSON object starting with '{', but it starts with %q", r)
	}

	p := &headerParser{file: name, hdr: hdr, dec: json.NewDecoder(bytes.NewReader(hdr))}
	p.dec.UseNumber()
	f := &File{
		Path:       name,
		Metadata:   map[string]string{},
		index:      map[string]int{},
		buf:        buf,
		dataOffset: 8 + int64(n),
	}
	if err := p.parseHeader(f, int64(len(buf))); err != nil {
		return nil, err
	}
	if err := checkTiling(name, f.infos, int64(len(buf))); err != nil {
		return nil, err
	}
	for i, in := range f.infos {
		f.index[in.Name] = i
	}
	return f, nil
}

// checkTiling sorts infos by offset and checks that they cover [0, bufLen)
// exactly, without gaps or overlaps.
func checkTiling(file string, infos []Info, bufLen int64) error {
	slices.SortStableFunc(infos, func(a, b Info) int {
		return cmp.Or(cmp.Compare(a.Begin, b.Begin), cmp.Compare(a.End, b.End))
	})
	var pos int64
	for i, in := range infos {
		switch {
		case in.Begin < pos:
			prev := infos[i-1] // pos > 0, so there is a previous tensor
			return tensorErr(file, in.Name, "data_offsets [%d, %d] overlap tensor %q at [%d, %d]; tensors must tile the data buffer without overlaps or gaps",
				in.Begin, in.End, prev.Name, prev.Begin, prev.End)
		case in.Begin > pos:
			after := "at the start of the data buffer"
			if i > 0 {
				after = fmt.Sprintf("after tensor %q at [%d, %d]", infos[i-1].Name, infos[i-1].Begin, infos[i-1].End)
			}
			return tensorErr(file, in.Name, "data_offsets [%d, %d] leave a gap: bytes [%d, %d) %s belong to no tensor; tensors must tile the data buffer without overlaps or gaps",
				in.Begin, in.End, pos, in.Begin, after)
		}
		pos = in.End
	}
	if pos != bufLen {
		return fileErr(file, "data buffer is %d bytes, but the tensors end at byte %d: the last %d bytes belong to no tensor (tensors must cover the data buffer exactly)",
			bufLen, pos, bufLen-pos)
	}
	return nil
}

// headerParser walks the JSON header token by token, so that it sees every
// key (and can reject duplicates) and reports errors with their position.
type headerParser struct {
	file string
	hdr  []byte
	dec  *json.Decoder
}

// jsonErr turns an error of the JSON decoder into an *Error with the byte
// offset at which the header stops being valid JSON. The offsets in the
// decoder's own syntax errors are relative to the value being decoded, so
// the header is re-checked from its start to locate the error.
func (p *headerParser) jsonErr(err error) error {
	_, isSyntax := errors.AsType[*json.SyntaxError](err)
	if isSyntax || err == io.EOF || err == io.ErrUnexpectedEOF {
		if se, ok := errors.AsType[*json.SyntaxError](json.Unmarshal(p.hdr, new(json.RawMessage))); ok {
			// Offset counts the bytes read, including the offending one;
			// report the offending byte's 0-based position.
			at := se.Offset
			if at > 0 && at <= int64(len(p.hdr)) && !strings.Contains(se.Error(), "end of JSON input") {
				at--
			}
			return fileErr(p.file, "header is not valid JSON: %s (at byte %d of the header)", se.Error(), at)
		}
	}
	return fileErr(p.file, "header is not valid JSON: %v (near byte %d of the header)", err, p.dec.InputOffset())
}

// token returns the next JSON token.
func (p *headerParser) token() (json.Token, error) {
	t, err := p.dec.Token()
	if err != nil {
		return nil, p.jsonErr(err)
	}
	return t, nil
}

// key returns the next object key; the decoder guarantees keys are strings.
func (p *headerParser) key() (string, error) {
	t, err := p.token()
	if err != nil {
		return "", err
	}
	k, ok := t.(string)
	if !ok {
		return "", fileErr(p.file, "header is not valid JSON: object key is %s, want a string (at byte %d of the header)", describe(t), p.dec.InputOffset())
	}
	return k, nil
}

// end consumes the closing delimiter of the current object or array.
func (p *headerParser) end() error {
	t, err := p.token()
	if err != nil {
		return err
	}
	if _, ok := t.(json.Delim); !ok {
		return fileErr(p.file, "header is not valid JSON: unexpected %s at byte %d of the header", describe(t), p.dec.InputOffset())
	}
	return nil
}

// describe names the kind of JSON value that starts with token t.
func describe(t json.Token) string {
	switch v := t.(type) {
	case json.Delim:
		switch v {
		case '{':
			return "an object"
		case '[':
			return "an array"
		}
		return fmt.Sprintf("%q", string(v))
	case string:
		return fmt.Sprintf("the string %q", v)
	case json.Number:
		return "the number " + string(v)
	case float64:
		return "the number " + strconv.FormatFloat(v, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case nil:
		return "null"
	}
	return fmt.Sprintf("%v", t)
}

// parseHeader walks the whole header, filling f.infos (in header order) and
// f.Metadata.
func (p *headerParser) parseHeader(f *File, bufLen int64) error {
	if _, err := p.token(); err != nil { // '{', checked by the caller
		return err
	}
	seen := map[string]bool{}
	for p.dec.More() {
		name, err := p.key()
		if err != nil {
			return err
		}
		if seen[name] {
			if name == metadataKey {
				return fileErr(p.file, "header has two %q entries (the second key ends at byte %d of the header)", metadataKey, p.dec.InputOffset())
			}
			return tensorErr(p.file, name, "duplicate tensor name in header (its second key ends at byte %d of the header); names must be unique", p.dec.InputOffset())
		}
		seen[name] = true
		if name == metadataKey {
			if err := p.parseMetadata(f.Metadata); err != nil {
				return err
			}
			continue
		}
		in, err := p.parseTensor(name, bufLen)
		if err != nil {
			return err
		}
		f.infos = append(f.infos, in)
	}
	if err := p.end(); err != nil {
		return err
	}
	off := p.dec.InputOffset()
	if i := bytes.IndexFunc(p.hdr[off:], func(r rune) bool { return !isJSONSpace(r) }); i >= 0 {
		r, _ := utf8.DecodeRune(p.hdr[off+int64(i):])
		return fileErr(p.file, "header has %q after the closing '}' of its JSON object (at byte %d of the header); only trailing whitespace is allowed", r, off+int64(i))
	}
	return nil
}

// isJSONSpace reports whether r is whitespace in JSON.
func isJSONSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r'
}

// parseMetadata reads the value of "__metadata__", which must be an object of
// strings (or null, which the reference implementation also accepts).
func (p *headerParser) parseMetadata(md map[string]string) error {
	t, err := p.token()
	if err != nil {
		return err
	}
	if t == nil {
		return nil
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return fileErr(p.file, "%q is %s, want an object mapping strings to strings", metadataKey, describe(t))
	}
	for p.dec.More() {
		k, err := p.key()
		if err != nil {
			return err
		}
		if _, dup := md[k]; dup {
			return fileErr(p.file, "%q has the key %q twice; keys must be unique", metadataKey, k)
		}
		t, err := p.token()
		if err != nil {
			return err
		}
		v, ok := t.(string)
		if !ok {
			if k == "dtype" || k == "shape" || k == "data_offsets" {
				return fileErr(p.file, "%q looks like a tensor entry (its %q is %s), but that name is reserved for the string-to-string metadata map and cannot name a tensor", metadataKey, k, describe(t))
			}
			return fileErr(p.file, "%q value for key %q is %s, want a string (metadata maps strings to strings)", metadataKey, k, describe(t))
		}
		md[k] = v
	}
	return p.end()
}

// parseTensor reads one tensor entry and checks it on its own: dtype, shape,
// sizes and bounds. The tiling of all tensors is checked afterwards.
func (p *headerParser) parseTensor(name string, bufLen int64) (Info, error) {
	in := Info{Name: name}
	t, err := p.token()
	if err != nil {
		return in, err
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return in, tensorErr(p.file, name, "entry is %s, want an object with \"dtype\", \"shape\" and \"data_offsets\"", describe(t))
	}
	var haveDType, haveShape, haveOffsets bool
	var offsets []int64
	for p.dec.More() {
		field, err := p.key()
		if err != nil {
			return in, err
		}
		var dup bool
		switch field {
		case "dtype":
			dup, haveDType = haveDType, true
		case "shape":
			dup, haveShape = haveShape, true
		case "data_offsets":
			dup, haveOffsets = haveOffsets, true
		default:
			// Unknown fields are ignored, as by the reference implementation.
			var skip json.RawMessage
			if err := p.dec.Decode(&skip); err != nil {
				return in, p.jsonErr(err)
			}
			continue
		}
		if dup {
			return in, tensorErr(p.file, name, "field %q appears twice", field)
		}
		switch field {
		case "dtype":
			t, err := p.token()
			if err != nil {
				return in, err
			}
			s, ok := t.(string)
			if !ok {
				return in, tensorErr(p.file, name, "dtype is %s, want a string such as \"F32\"", describe(t))
			}
			in.DType = DType(s)
			if !in.DType.Valid() {
				return in, tensorErr(p.file, name, "unknown dtype %q (want one of %s)", s, dtypeList())
			}
		case "shape":
			dims, err := p.intArray(name, "shape", -1)
			if err != nil {
				return in, err
			}
			in.Shape = make([]int, len(dims))
			for i, d := range dims {
				if d < 0 {
					return in, tensorErr(p.file, name, "shape[%d] is %d; dimensions must be non-negative", i, d)
				}
				if d > math.MaxInt {
					return in, tensorErr(p.file, name, "shape[%d] is %d, too large for an int on this platform", i, d)
				}
				in.Shape[i] = int(d)
			}
		case "data_offsets":
			offsets, err = p.intArray(name, "data_offsets", 2)
			if err != nil {
				return in, err
			}
		}
	}
	if err := p.end(); err != nil {
		return in, err
	}

	var missing []string
	for _, m := range []struct {
		have bool
		name string
	}{{haveDType, `"dtype"`}, {haveShape, `"shape"`}, {haveOffsets, `"data_offsets"`}} {
		if !m.have {
			missing = append(missing, m.name)
		}
	}
	if len(missing) > 0 {
		list := missing[len(missing)-1]
		if len(missing) > 1 {
			list = strings.Join(missing[:len(missing)-1], ", ") + " and " + list
		}
		return in, tensorErr(p.file, name, "entry is missing %s (want {\"dtype\": ..., \"shape\": [...], \"data_offsets\": [begin, end]})", list)
	}
	if len(offsets) != 2 {
		return in, tensorErr(p.file, name, "data_offsets has %d elements, want 2: [begin, end]", len(offsets))
	}
	in.Begin, in.End = offsets[0], offsets[1]
	for i, o := range offsets {
		if o < 0 {
			return in, tensorErr(p.file, name, "data_offsets[%d] is %d; offsets must be non-negative", i, o)
		}
	}

	nbytes, ok := byteSize(in.DType, in.Shape)
	if !ok {
		return in, tensorErr(p.file, name, "shape %v of dtype %s has more elements or bytes than fit in a 64-bit integer", in.Shape, in.DType)
	}
	if in.Begin > in.End {
		return in, tensorErr(p.file, name, "data_offsets [%d, %d] begin after they end; want begin <= end", in.Begin, in.End)
	}
	if in.End-in.Begin != nbytes {
		return in, tensorErr(p.file, name, "data_offsets [%d, %d] hold %d bytes, but dtype %s shape %v needs %d", in.Begin, in.End, in.End-in.Begin, in.DType, in.Shape, nbytes)
	}
	if in.End > bufLen {
		return in, tensorErr(p.file, name, "data_offsets [%d, %d] reach past the end of the %d-byte data buffer (truncated file?)", in.Begin, in.End, bufLen)
	}
	if in.Shape == nil {
		in.Shape = []int{}
	}
	return in, nil
}

// intArray reads a JSON array of integers. If want >= 0, it rejects arrays
// longer than want as soon as it sees the extra element.
func (p *headerParser) intArray(name, field string, want int) ([]int64, error) {
	t, err := p.token()
	if err != nil {
		return nil, err
	}
	if d, ok := t.(json.Delim); !ok || d != '[' {
		return nil, tensorErr(p.file, name, "%s is %s, want an array of integers", field, describe(t))
	}
	var out []int64
	for p.dec.More() {
		if want >= 0 && len(out) == want {
			return nil, tensorErr(p.file, name, "%s has more than %d elements, want [begin, end]", field, want)
		}
		t, err := p.token()
		if err != nil {
			return nil, err
		}
		num, ok := t.(json.Number)
		if !ok {
			return nil, tensorErr(p.file, name, "%s[%d] is %s, want an integer", field, len(out), describe(t))
		}
		s := string(num)
		if strings.ContainsAny(s, ".eE") {
			return nil, tensorErr(p.file, name, "%s[%d] is %s, want an integer (no fraction or exponent)", field, len(out), s)
		}
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			if strings.HasPrefix(s, "-") {
				return nil, tensorErr(p.file, name, "%s[%d] is %s; it must be non-negative", field, len(out), s)
			}
			return nil, tensorErr(p.file, name, "%s[%d] is %s, larger than the largest 64-bit integer", field, len(out), s)
		}
		out = append(out, v)
	}
	if err := p.end(); err != nil {
		return nil, err
	}
	return out, nil
}

// numElements returns the product of shape, or false if it overflows an int64
// (checked left to right, as the reference implementation does) or any
// dimension is negative.
func numElements(shape []int) (int64, bool) {
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		if d != 0 && n > math.MaxInt64/int64(d) {
			return 0, false
		}
		n *= int64(d)
	}
	return n, true
}

// byteSize returns the number of bytes of a tensor of dtype dt and the given
// shape, or false if it overflows an int64.
func byteSize(dt DType, shape []int) (int64, bool) {
	n, ok := numElements(shape)
	if !ok {
		return 0, false
	}
	size := int64(dt.Size())
	if size != 0 && n > math.MaxInt64/size {
		return 0, false
	}
	return n * size, true
}
