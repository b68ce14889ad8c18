package gguf

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
)

// Layout constants of the format.
const (
	// Magic is the four bytes that start every GGUF file.
	Magic = "GGUF"
	// Version is the format version the Writer writes. Parse and Open read
	// versions 2 and 3, which differ only in that version 3 files may be
	// big-endian (which this package does not read).
	Version uint32 = 3
	// DefaultAlignment is the alignment of the tensor data when the file
	// has no "general.alignment" key.
	DefaultAlignment = 32
	// AlignmentKey is the metadata key that sets the alignment; its value
	// must be a UINT32 power of two.
	AlignmentKey = "general.alignment"
	// MaxDims is the largest number of dimensions a tensor may have.
	MaxDims = 4
	// MaxKeyLen is the longest metadata key, in bytes, the specification
	// allows.
	MaxKeyLen = 65535
	// MaxTensorNameLen is the longest tensor name, in bytes, the
	// specification allows. ggml itself loads names of at most 63 bytes,
	// and the Writer enforces that.
	MaxTensorNameLen = 64
	// MaxArrayDepth is how deeply arrays may nest in a metadata value (an
	// array of arrays has depth 2). The specification sets no limit; this
	// one keeps the reader's recursion bounded.
	MaxArrayDepth = 32
)

// Smallest encodings, used to bound counts by the bytes that remain before
// anything is allocated for them.
const (
	headerBytes        = 4 + 4 + 8 + 8     // magic, version, tensor count, kv count
	minKVBytes         = 8 + 1 + 4 + 1     // key length, a 1-byte key, value type, a 1-byte value
	minTensorInfoBytes = 8 + 4 + 8 + 4 + 8 // name length (empty name), n_dims, one dim, type, offset
)

// parser reads a GGUF file held in memory, front to back.
type parser struct {
	file string
	b    []byte
	pos  int
}

// left returns the number of bytes after the current position.
func (p *parser) left() int { return len(p.b) - p.pos }

func (p *parser) u32() (uint32, bool) {
	if p.left() < 4 {
		return 0, false
	}
	v := binary.LittleEndian.Uint32(p.b[p.pos:])
	p.pos += 4
	return v, true
}

func (p *parser) u64() (uint64, bool) {
	if p.left() < 8 {
		return 0, false
	}
	v := binary.LittleEndian.Uint64(p.b[p.pos:])
	p.pos += 8
	return v, true
}

// ends describes the end of the file for truncation errors.
func (p *parser) ends(what string) string {
	return fmt.Sprintf("the file ends at byte %d, inside %s; it is truncated", len(p.b), what)
}

// Outcomes of parser.str.
const (
	strOK      = iota
	strNoLen   // the file ends inside the 8-byte length
	strTooLong // the length is more than the bytes that remain
)

// str reads a GGUF string: a uint64 byte count and that many bytes. On
// failure n is the length read, if any.
func (p *parser) str() (s string, n uint64, outcome int) {
	n, ok := p.u64()
	if !ok {
		return "", 0, strNoLen
	}
	if n > uint64(p.left()) {
		return "", n, strTooLong
	}
	s = string(p.b[p.pos : p.pos+int(n)])
	p.pos += int(n)
	return s, n, strOK
}

// Parse parses and validates a complete GGUF file held in data. name
// identifies the file in error messages and is returned by File.Name. The
// returned File refers to data, which must not be modified while the File
// is in use; its Close method only marks it closed.
func Parse(name string, data []byte) (*File, error) {
	f, err := parse(name, data)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// parse parses data and returns a File over it, or an *Error.
func parse(name string, data []byte) (*File, *Error) {
	p := &parser{file: name, b: data}
	if len(data) < 4 {
		return nil, fileErr(name, "file is %d bytes, too short for the 4-byte magic %q that starts every GGUF file", len(data), Magic)
	}
	if m := string(data[:4]); m != Magic {
		hint := ""
		switch m {
		case "lmgg":
			hint = "; this looks like an unversioned GGML file, an older format that GGUF replaced"
		case "fmgg":
			hint = "; this looks like a GGMF file, an older format that GGUF replaced"
		case "tjgg":
			hint = "; this looks like a GGJT file, an older format that GGUF replaced"
		}
		return nil, fileErr(name, "magic is %q (bytes % x), want %q (bytes 47 47 55 46); not a GGUF file%s", m, data[:4], Magic, hint)
	}
	p.pos = 4
	version, ok := p.u32()
	if !ok {
		return nil, fileErr(name, "%s", p.ends("the 4-byte version number after the magic"))
	}
	switch {
	case version == 1:
		return nil, fileErr(name, "GGUF version 1 is not supported: it stores counts and lengths as 32-bit integers and was replaced by version 2 in 2023; want version 2 or 3 (reconvert the model with current tools)")
	case version == 0:
		return nil, fileErr(name, "version is 0, which is not a GGUF version; want 2 or 3")
	case version&0xffff == 0:
		return nil, fileErr(name, "version reads as %d (0x%08x) in little-endian byte order, which is version %d byte-swapped: this is a big-endian GGUF file, and only little-endian files are supported",
			version, version, bits.ReverseBytes32(version))
	case version > Version:
		return nil, fileErr(name, "GGUF version %d is newer than this reader understands; want version 2 or 3", version)
	}
	nTensors, ok := p.u64()
	if !ok {
		return nil, fileErr(name, "%s", p.ends("the 8-byte tensor count of the header"))
	}
	nKV, ok := p.u64()
	if !ok {
		return nil, fileErr(name, "%s", p.ends("the 8-byte key-value count of the header"))
	}
	left := uint64(p.left())
	if nTensors > left/minTensorInfoBytes {
		return nil, fileErr(name, "tensor count is %d, but each tensor info takes at least %d bytes and only %d bytes follow the %d-byte header; corrupt or truncated file",
			nTensors, minTensorInfoBytes, left, headerBytes)
	}
	if nKV > left/minKVBytes {
		return nil, fileErr(name, "key-value count is %d, but each key-value pair takes at least %d bytes and only %d bytes follow the %d-byte header; corrupt or truncated file",
			nKV, minKVBytes, left, headerBytes)
	}
	if need := nTensors*minTensorInfoBytes + nKV*minKVBytes; need > left {
		return nil, fileErr(name, "%d key-value pairs and %d tensor infos take at least %d bytes, but only %d bytes follow the %d-byte header; corrupt or truncated file",
			nKV, nTensors, need, left, headerBytes)
	}

	f := &File{
		Version:     version,
		Alignment:   DefaultAlignment,
		name:        name,
		data:        data,
		kvs:         make([]KV, 0, nKV),
		kvIndex:     make(map[string]int),
		infos:       make([]TensorInfo, 0, nTensors),
		tensorIndex: make(map[string]int),
	}
	for i := range int(nKV) {
		kv, err := p.keyValue(i, int(nKV))
		if err != nil {
			return nil, err
		}
		if j, dup := f.kvIndex[kv.Key]; dup {
			return nil, keyErr(name, kv.Key, "appears twice (key-value pairs %d and %d); keys must be unique", j, i)
		}
		f.kvIndex[kv.Key] = i
		f.kvs = append(f.kvs, kv)
	}
	if i, ok := f.kvIndex[AlignmentKey]; ok {
		v := f.kvs[i].Value
		a, isU32 := v.(uint32)
		switch {
		case !isU32:
			return nil, keyErr(name, AlignmentKey, "is %s, want a UINT32 power of two", describeValueOf(v))
		case a == 0 || a&(a-1) != 0:
			return nil, keyErr(name, AlignmentKey, "is %d, want a power of two", a)
		case uint64(a) > math.MaxInt:
			return nil, keyErr(name, AlignmentKey, "is %d, too large for this platform", a)
		}
		f.Alignment = int(a)
	}
	align := uint64(f.Alignment)

	for i := range int(nTensors) {
		in, err := p.tensorInfo(i, int(nTensors), align)
		if err != nil {
			return nil, err
		}
		if j, dup := f.tensorIndex[in.Name]; dup {
			return nil, tensorErr(name, in.Name, "appears twice (tensor infos %d and %d); tensor names must be unique", j, i)
		}
		f.tensorIndex[in.Name] = i
		f.infos = append(f.infos, in)
	}

	// The data section starts at the end of the tensor infos, padded to
	// the alignment. Like ggml, a file without tensors needs no padding.
	end := uint64(p.pos)
	start := end
	if nTensors > 0 {
		start = alignUp(end, align)
		if start > uint64(len(data)) {
			return nil, fileErr(name, "the tensor data section should start at byte %d (the tensor infos end at byte %d, padded to the %d-byte alignment), but the file is only %d bytes; it is truncated",
				start, end, align, len(data))
		}
	}
	f.DataOffset = int64(start)
	dataLen := uint64(len(data)) - start
	for _, in := range f.infos {
		if in.Offset > dataLen || uint64(in.Size) > dataLen-in.Offset {
			return nil, tensorErr(name, in.Name, "its %d bytes at offset %d of the data section (which starts at byte %d) run past the end of the %d-byte file; the file is truncated or the offset is wrong",
				in.Size, in.Offset, start, len(data))
		}
	}
	if err := checkOverlap(name, f.infos); err != nil {
		return nil, err
	}
	f.KV = slices.Clone(f.kvs)
	f.Tensors = make([]TensorInfo, len(f.infos))
	for i, in := range f.infos {
		f.Tensors[i] = in.clone()
	}
	return f, nil
}

// alignUp rounds off up to a multiple of align, a power of two. off is at
// most the length of a slice, so the sum cannot overflow.
func alignUp(off, align uint64) uint64 {
	return (off + align - 1) &^ (align - 1)
}

// checkOverlap reports the first pair of tensors, in offset order, whose
// bytes overlap.
func checkOverlap(file string, infos []TensorInfo) *Error {
	order := make([]int, len(infos))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		return cmp.Or(cmp.Compare(infos[a].Offset, infos[b].Offset), cmp.Compare(a, b))
	})
	for k := 1; k < len(order); k++ {
		prev, cur := infos[order[k-1]], infos[order[k]]
		if prevEnd := prev.Offset + uint64(prev.Size); cur.Offset < prevEnd {
			return tensorErr(file, cur.Name, "bytes [%d, %d) of the data section overlap those of tensor %q at [%d, %d); tensors must not share bytes",
				cur.Offset, cur.Offset+uint64(cur.Size), prev.Name, prev.Offset, prevEnd)
		}
	}
	return nil
}

// keyValue reads key-value pair i of n.
func (p *parser) keyValue(i, n int) (KV, *Error) {
	start := p.pos
	key, klen, outcome := p.str()
	switch {
	case outcome == strNoLen:
		return KV{}, fileErr(p.file, "key-value pair %d of %d: %s", i, n, p.ends("the 8-byte length of its key"))
	case klen == 0:
		return KV{}, fileErr(p.file, "key-value pair %d of %d (at byte %d) has an empty key; keys must be non-empty", i, n, start)
	case klen > MaxKeyLen:
		return KV{}, fileErr(p.file, "key-value pair %d of %d (at byte %d) has a key of %d bytes; keys are at most %d bytes", i, n, start, klen, MaxKeyLen)
	case outcome == strTooLong:
		return KV{}, fileErr(p.file, "key-value pair %d of %d (at byte %d): the key is %d bytes long, but only %d bytes are left in the file; it is truncated",
			i, n, start, klen, len(p.b)-start-8)
	}
	vt, ok := p.u32()
	if !ok {
		return KV{}, keyErr(p.file, key, "%s", p.ends("the 4-byte value type"))
	}
	v, err := p.value(key, ValueType(vt))
	if err != nil {
		return KV{}, err
	}
	return KV{Key: key, Value: v}, nil
}

// value reads a value of type vt of the given key.
func (p *parser) value(key string, vt ValueType) (any, *Error) {
	switch {
	case vt == ValueArray:
		return p.array(key, 1, "the array")
	case vt == ValueString:
		s, n, outcome := p.str()
		switch outcome {
		case strNoLen:
			return nil, keyErr(p.file, key, "%s", p.ends("the 8-byte length of the STRING value"))
		case strTooLong:
			return nil, keyErr(p.file, key, "STRING value is %d bytes long, but only %d bytes are left in the file; it is truncated or corrupt", n, p.left())
		}
		return s, nil
	case !vt.Valid():
		return nil, keyErr(p.file, key, "value type is %d, which is not a GGUF value type (want 0 to %d)", uint32(vt), valueTypeCount-1)
	}
	size := vt.size()
	if p.left() < size {
		return nil, keyErr(p.file, key, "%s", p.ends(fmt.Sprintf("the %d-byte %s value", size, vt)))
	}
	b := p.b[p.pos:]
	p.pos += size
	le := binary.LittleEndian
	switch vt {
	case ValueUint8:
		return b[0], nil
	case ValueInt8:
		return int8(b[0]), nil
	case ValueUint16:
		return le.Uint16(b), nil
	case ValueInt16:
		return int16(le.Uint16(b)), nil
	case ValueUint32:
		return le.Uint32(b), nil
	case ValueInt32:
		return int32(le.Uint32(b)), nil
	case ValueFloat32:
		return math.Float32frombits(le.Uint32(b)), nil
	case ValueUint64:
		return le.Uint64(b), nil
	case ValueInt64:
		return int64(le.Uint64(b)), nil
	case ValueFloat64:
		return math.Float64frombits(le.Uint64(b)), nil
	}
	// ValueBool
	if b[0] > 1 {
		return nil, keyErr(p.file, key, "BOOL value is stored as %d; want 0 (false) or 1 (true)", b[0])
	}
	return b[0] == 1, nil
}

// fixed decodes n values of size bytes each, which the caller has checked
// are all in the file.
func fixed[T any](p *parser, n, size int, get func([]byte) T) []T {
	out := make([]T, n)
	b := p.b[p.pos : p.pos+n*size]
	for i := range out {
		out[i] = get(b[i*size:])
	}
	p.pos += n * size
	return out
}

// array reads an array value (its element type, length and elements) at
// nesting depth depth. where names it in errors ("the array", "element 3 of
// the array").
func (p *parser) array(key string, depth int, where string) (any, *Error) {
	et, ok := p.u32()
	if !ok {
		return nil, keyErr(p.file, key, "%s", p.ends("the 4-byte element type of "+where))
	}
	n64, ok := p.u64()
	if !ok {
		return nil, keyErr(p.file, key, "%s", p.ends("the 8-byte length of "+where))
	}
	elem := ValueType(et)
	switch {
	case !elem.Valid():
		return nil, keyErr(p.file, key, "%s has element type %d, which is not a GGUF value type (want 0 to %d)", where, et, valueTypeCount-1)
	case elem == ValueArray && depth >= MaxArrayDepth:
		return nil, keyErr(p.file, key, "%s holds arrays nested more than %d deep; this reader accepts at most %d levels", where, MaxArrayDepth, MaxArrayDepth)
	}
	minSize := elem.minSize()
	if n64 > uint64(p.left()/minSize) {
		return nil, keyErr(p.file, key, "%s claims %d elements of type %s, at least %d bytes each, but only %d bytes are left in the file; it is truncated or corrupt",
			where, n64, elem, minSize, p.left())
	}
	n := int(n64)
	le := binary.LittleEndian
	switch elem {
	case ValueUint8:
		return fixed(p, n, 1, func(b []byte) uint8 { return b[0] }), nil
	case ValueInt8:
		return fixed(p, n, 1, func(b []byte) int8 { return int8(b[0]) }), nil
	case ValueUint16:
		return fixed(p, n, 2, le.Uint16), nil
	case ValueInt16:
		return fixed(p, n, 2, func(b []byte) int16 { return int16(le.Uint16(b)) }), nil
	case ValueUint32:
		return fixed(p, n, 4, le.Uint32), nil
	case ValueInt32:
		return fixed(p, n, 4, func(b []byte) int32 { return int32(le.Uint32(b)) }), nil
	case ValueFloat32:
		return fixed(p, n, 4, func(b []byte) float32 { return math.Float32frombits(le.Uint32(b)) }), nil
	case ValueUint64:
		return fixed(p, n, 8, le.Uint64), nil
	case ValueInt64:
		return fixed(p, n, 8, func(b []byte) int64 { return int64(le.Uint64(b)) }), nil
	case ValueFloat64:
		return fixed(p, n, 8, func(b []byte) float64 { return math.Float64frombits(le.Uint64(b)) }), nil
	case ValueBool:
		for i, c := range p.b[p.pos : p.pos+n] {
			if c > 1 {
				return nil, keyErr(p.file, key, "element %d of %s is a BOOL stored as %d; want 0 (false) or 1 (true)", i, where, c)
			}
		}
		return fixed(p, n, 1, func(b []byte) bool { return b[0] == 1 }), nil
	case ValueString:
		out := make([]string, n)
		for i := range out {
			s, l, outcome := p.str()
			switch outcome {
			case strNoLen:
				return nil, keyErr(p.file, key, "%s", p.ends(fmt.Sprintf("the length of string %d of %s", i, where)))
			case strTooLong:
				return nil, keyErr(p.file, key, "string %d of %s is %d bytes long, but only %d bytes are left in the file; it is truncated or corrupt", i, where, l, p.left())
			}
			out[i] = s
		}
		return out, nil
	}
	// ValueArray
	out := make([]any, n)
	for i := range out {
		v, err := p.array(key, depth+1, "element "+strconv.Itoa(i)+" of "+where)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// tensorInfo reads tensor info i of n and checks it on its own; the
// data offsets are checked against the file and each other afterwards.
func (p *parser) tensorInfo(i, n int, align uint64) (TensorInfo, *Error) {
	start := p.pos
	name, nlen, outcome := p.str()
	switch outcome {
	case strNoLen:
		return TensorInfo{}, fileErr(p.file, "tensor info %d of %d: %s", i, n, p.ends("the 8-byte length of its name"))
	case strTooLong:
		return TensorInfo{}, fileErr(p.file, "tensor info %d of %d (at byte %d): the name is %d bytes long, but only %d bytes are left in the file; it is truncated or corrupt",
			i, n, start, nlen, len(p.b)-start-8)
	}
	if len(name) > MaxTensorNameLen {
		return TensorInfo{}, tensorErr(p.file, name, "name is %d bytes; tensor names are at most %d bytes", len(name), MaxTensorNameLen)
	}
	in := TensorInfo{Name: name}
	nd, ok := p.u32()
	if !ok {
		return in, tensorErr(p.file, name, "%s", p.ends("the 4-byte dimension count"))
	}
	if nd == 0 || nd > MaxDims {
		return in, tensorErr(p.file, name, "has %d dimensions; want 1 to %d", nd, MaxDims)
	}
	if p.left() < 8*int(nd) {
		return in, tensorErr(p.file, name, "%s", p.ends(fmt.Sprintf("its %d 8-byte dimensions", nd)))
	}
	// GGUF lists the dimensions innermost (fastest-varying) first, as
	// ggml's ne[0], ne[1], ...; Shape lists them outermost first.
	in.Shape = make([]int, nd)
	elems := uint64(1)
	for j := range int(nd) {
		d, _ := p.u64()
		switch {
		case d == 0:
			return in, tensorErr(p.file, name, "dimension ne[%d] is 0; every dimension must be at least 1", j)
		case d > math.MaxInt64:
			return in, tensorErr(p.file, name, "dimension ne[%d] is %d, more than 2^63-1", j, d)
		case d > math.MaxInt:
			return in, tensorErr(p.file, name, "dimension ne[%d] is %d, too large for this platform", j, d)
		case elems > math.MaxInt64/d:
			return in, tensorErr(p.file, name, "has more than 2^63-1 elements (dimensions ne[0..%d] = %v so far)", j, reversed(in.Shape[int(nd)-j:], d))
		}
		elems *= d
		in.Shape[int(nd)-1-j] = int(d)
	}
	t, ok := p.u32()
	if !ok {
		return in, tensorErr(p.file, name, "%s", p.ends("the 4-byte tensor type"))
	}
	in.Type = Type(t)
	if !in.Type.Known() {
		return in, tensorErr(p.file, name, "has %s", in.Type.describe())
	}
	bs, ts := uint64(in.Type.BlockSize()), uint64(in.Type.TypeSize())
	if ne0 := uint64(in.Shape[nd-1]); ne0%bs != 0 {
		return in, tensorErr(p.file, name, "innermost dimension ne[0] = %d is not a multiple of %d, the block size of %s", ne0, bs, in.Type)
	}
	blocks := elems / bs
	if blocks > math.MaxInt64/ts || blocks*ts > math.MaxInt {
		return in, tensorErr(p.file, name, "shape %v of type %s takes more bytes than fit in an int", in.Shape, in.Type)
	}
	in.Size = int(blocks * ts)
	off, ok := p.u64()
	if !ok {
		return in, tensorErr(p.file, name, "%s", p.ends("the 8-byte data offset"))
	}
	if off%align != 0 {
		return in, tensorErr(p.file, name, "data offset %d is not a multiple of the alignment %d", off, align)
	}
	in.Offset = off
	return in, nil
}

// reversed returns the GGUF-order dimensions read so far, for messages:
// shapeTail holds ne[j-1] ... ne[0] (outermost first), last is ne[j].
func reversed(shapeTail []int, last uint64) []uint64 {
	out := make([]uint64, 0, len(shapeTail)+1)
	for k := len(shapeTail) - 1; k >= 0; k-- {
		out = append(out, uint64(shapeTail[k]))
	}
	return append(out, last)
}
