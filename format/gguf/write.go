package gguf

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/loomml/loom/internal/fsutil"
)

// maxWriterTensorName is the longest tensor name the Writer accepts: ggml
// keeps names in a 64-byte buffer with a terminating NUL.
const maxWriterTensorName = MaxTensorNameLen - 1

// Writer builds a GGUF file (version 3, little-endian) from metadata and
// tensors added one by one, and writes it with WriteTo or WriteFile. The
// metadata and tensors are written in the order they were added. Every
// check is made when a key or tensor is added, so writing fails only if
// the destination does. A Writer is not safe for concurrent use.
type Writer struct {
	kvs       []writerKV
	keys      map[string]bool
	tensors   []writerTensor
	names     map[string]bool
	alignment uint64
}

// writerKV is a metadata pair with its value already encoded (value type
// followed by the value), so that later changes to a slice the caller
// passed to Add do not change the file.
type writerKV struct {
	key string
	enc []byte
}

// writerTensor is a tensor to be written.
type writerTensor struct {
	name string
	ne   []uint64 // dimensions in file order, innermost first
	typ  Type
	data []byte
}

// NewWriter returns an empty Writer.
func NewWriter() *Writer {
	return &Writer{keys: map[string]bool{}, names: map[string]bool{}, alignment: DefaultAlignment}
}

// Add adds a metadata key-value pair. The value must have one of the Go
// types listed for KV: a sized integer, float32, float64, bool, string, a
// slice of one of those, or an []any of such slices for an array of
// arrays. A plain int (or uint, or []int) is rejected, so that the integer
// width in the file is always the caller's choice. The key must be
// non-empty, at most 65535 bytes and not already added. "general.alignment"
// must be a UINT32 power of two; it sets the alignment of the tensor data
// (32 without it). The value is encoded at once, so slices may be reused
// after Add returns.
func (w *Writer) Add(key string, value any) error {
	if msg := checkKey(key); msg != "" {
		return keyErr("", key, "%s", msg)
	}
	if w.keys[key] {
		return keyErr("", key, "added twice; keys must be unique")
	}
	enc, msg := appendValue(nil, value, true, 1)
	if msg != "" {
		return keyErr("", key, "%s", msg)
	}
	if key == AlignmentKey {
		a, ok := value.(uint32)
		if !ok {
			return keyErr("", key, "is %s, want a UINT32 power of two", describeValueOf(value))
		}
		if a == 0 || a&(a-1) != 0 {
			return keyErr("", key, "is %d, want a power of two", a)
		}
		if uint64(a) > math.MaxInt {
			return keyErr("", key, "is %d, too large for this platform", a)
		}
		w.alignment = uint64(a)
	}
	w.keys[key] = true
	w.kvs = append(w.kvs, writerKV{key: key, enc: enc})
	return nil
}

// checkKey returns what is wrong with a metadata key, or "".
func checkKey(key string) string {
	switch {
	case key == "":
		return "keys must be non-empty"
	case len(key) > MaxKeyLen:
		return fmt.Sprintf("key is %d bytes; keys are at most %d bytes", len(key), MaxKeyLen)
	}
	return ""
}

// appendValue appends the encoding of v to b: its value type first when
// tagged (a key's value), then the value. depth is the array nesting depth
// of v if it is an array. It returns what is wrong with v instead when v
// cannot be encoded.
func appendValue(b []byte, v any, tagged bool, depth int) ([]byte, string) {
	t, elem, ok := ValueTypeOf(v)
	if !ok {
		switch v.(type) {
		case int, uint, uintptr:
			return nil, fmt.Sprintf("value is a Go %T, which has no fixed size in GGUF; convert it to int32, uint32, int64 or uint64 so the width in the file is explicit", v)
		case []int, []uint:
			return nil, fmt.Sprintf("value is a Go %T, which has no fixed element size in GGUF; use []int32, []uint32, []int64 or []uint64", v)
		}
		return nil, fmt.Sprintf("value is a Go %T, which has no GGUF type (want a sized integer, float32, float64, bool, string, a slice of one of those, or []any of slices)", v)
	}
	le := binary.LittleEndian
	if tagged {
		b = le.AppendUint32(b, uint32(t))
	}
	if t != ValueArray {
		return appendScalar(b, v), ""
	}
	if elem == ValueArray && depth >= MaxArrayDepth {
		return nil, fmt.Sprintf("arrays are nested more than %d deep, more than readers accept", MaxArrayDepth)
	}
	b = le.AppendUint32(b, uint32(elem))
	b = le.AppendUint64(b, uint64(arrayLen(v)))
	switch x := v.(type) {
	case []uint8:
		b = append(b, x...)
	case []int8:
		for _, e := range x {
			b = append(b, byte(e))
		}
	case []uint16:
		for _, e := range x {
			b = le.AppendUint16(b, e)
		}
	case []int16:
		for _, e := range x {
			b = le.AppendUint16(b, uint16(e))
		}
	case []uint32:
		for _, e := range x {
			b = le.AppendUint32(b, e)
		}
	case []int32:
		for _, e := range x {
			b = le.AppendUint32(b, uint32(e))
		}
	case []float32:
		for _, e := range x {
			b = le.AppendUint32(b, math.Float32bits(e))
		}
	case []bool:
		for _, e := range x {
			b = append(b, boolByte(e))
		}
	case []string:
		for _, e := range x {
			b = appendString(b, e)
		}
	case []uint64:
		for _, e := range x {
			b = le.AppendUint64(b, e)
		}
	case []int64:
		for _, e := range x {
			b = le.AppendUint64(b, uint64(e))
		}
	case []float64:
		for _, e := range x {
			b = le.AppendUint64(b, math.Float64bits(e))
		}
	case []any:
		for i, e := range x {
			if et, _, ok := ValueTypeOf(e); !ok || et != ValueArray {
				return nil, fmt.Sprintf("element %d of the []any is %s; every element of an []any must be an array (a typed slice or []any), since a GGUF array holds values of one type (use a typed slice such as []uint32 for scalars)",
					i, describeValue(e))
			}
			var msg string
			b, msg = appendValue(b, e, false, depth+1)
			if msg != "" {
				return nil, msg
			}
		}
	}
	return b, ""
}

// appendScalar appends a non-array value, whose type the caller checked.
func appendScalar(b []byte, v any) []byte {
	le := binary.LittleEndian
	switch x := v.(type) {
	case uint8:
		return append(b, x)
	case int8:
		return append(b, byte(x))
	case uint16:
		return le.AppendUint16(b, x)
	case int16:
		return le.AppendUint16(b, uint16(x))
	case uint32:
		return le.AppendUint32(b, x)
	case int32:
		return le.AppendUint32(b, uint32(x))
	case float32:
		return le.AppendUint32(b, math.Float32bits(x))
	case bool:
		return append(b, boolByte(x))
	case string:
		return appendString(b, x)
	case uint64:
		return le.AppendUint64(b, x)
	case int64:
		return le.AppendUint64(b, uint64(x))
	case float64:
		return le.AppendUint64(b, math.Float64bits(x))
	}
	panic(fmt.Sprintf("gguf: appendScalar of %T", v))
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// appendString appends a GGUF string: its uint64 byte count, then the bytes.
func appendString(b []byte, s string) []byte {
	b = binary.LittleEndian.AppendUint64(b, uint64(len(s)))
	return append(b, s...)
}

// AddTensor adds a tensor: its name, its shape outermost first (row-major,
// as in PyTorch; the file stores it reversed), its type and its raw bytes.
// The name must be new and at most 63 bytes (ggml's limit); the shape must
// have 1 to 4 dimensions, each at least 1, with the innermost (last) a
// multiple of the type's block size; the type must be known; and data must
// be exactly as long as the type and shape require (see Type.RowBytes).
// data is not copied: it must not change until the file is written.
func (w *Writer) AddTensor(name string, shape []int, t Type, data []byte) error {
	if w.names[name] {
		return tensorErr("", name, "added twice; tensor names must be unique")
	}
	if len(name) > maxWriterTensorName {
		return tensorErr("", name, "name is %d bytes; ggml loads tensor names of at most %d bytes", len(name), maxWriterTensorName)
	}
	if len(shape) == 0 || len(shape) > MaxDims {
		return tensorErr("", name, "shape %v has %d dimensions; want 1 to %d", shape, len(shape), MaxDims)
	}
	if !t.Known() {
		return tensorErr("", name, "has %s", t.describe())
	}
	elems := uint64(1)
	for i, d := range shape {
		if d < 1 {
			return tensorErr("", name, "shape[%d] is %d; every dimension must be at least 1", i, d)
		}
		if elems > math.MaxInt64/uint64(d) {
			return tensorErr("", name, "shape %v has more than 2^63-1 elements", shape)
		}
		elems *= uint64(d)
	}
	bs, ts := uint64(t.BlockSize()), uint64(t.TypeSize())
	if inner := shape[len(shape)-1]; uint64(inner)%bs != 0 {
		return tensorErr("", name, "innermost dimension %d (the last of shape %v) is not a multiple of %d, the block size of %s", inner, shape, bs, t)
	}
	blocks := elems / bs
	if blocks > math.MaxInt64/ts {
		return tensorErr("", name, "shape %v of type %s takes more than 2^63-1 bytes", shape, t)
	}
	if want := blocks * ts; uint64(len(data)) != want {
		return tensorErr("", name, "data is %d bytes, but %s shape %v needs %d", len(data), t, shape, want)
	}
	ne := make([]uint64, len(shape))
	for i, d := range shape {
		ne[len(shape)-1-i] = uint64(d)
	}
	w.names[name] = true
	w.tensors = append(w.tensors, writerTensor{name: name, ne: ne, typ: t, data: data})
	return nil
}

// Alignment returns the alignment the tensor data will have: the value of
// general.alignment if it was added, else 32.
func (w *Writer) Alignment() int { return int(w.alignment) }

// header returns the file up to the start of the tensor data, less the
// padding to the alignment: the header, the metadata and the tensor infos.
func (w *Writer) header() []byte {
	size := headerBytes
	for _, kv := range w.kvs {
		size += 8 + len(kv.key) + len(kv.enc)
	}
	for _, t := range w.tensors {
		size += 8 + len(t.name) + 4 + 8*len(t.ne) + 4 + 8
	}
	le := binary.LittleEndian
	b := make([]byte, 0, size)
	b = append(b, Magic...)
	b = le.AppendUint32(b, Version)
	b = le.AppendUint64(b, uint64(len(w.tensors)))
	b = le.AppendUint64(b, uint64(len(w.kvs)))
	for _, kv := range w.kvs {
		b = appendString(b, kv.key)
		b = append(b, kv.enc...)
	}
	var off uint64
	for _, t := range w.tensors {
		b = appendString(b, t.name)
		b = le.AppendUint32(b, uint32(len(t.ne)))
		for _, d := range t.ne {
			b = le.AppendUint64(b, d)
		}
		b = le.AppendUint32(b, uint32(t.typ))
		b = le.AppendUint64(b, off)
		off = alignUp(off+uint64(len(t.data)), w.alignment)
	}
	return b
}

// zeros is written as padding.
var zeros [4096]byte

// countWriter counts the bytes written through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// pad writes n zero bytes.
func (c *countWriter) pad(n uint64) error {
	for n > 0 {
		k := min(n, uint64(len(zeros)))
		if _, err := c.Write(zeros[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// WriteTo writes the file to out: the header (magic, version 3, tensor
// count, key-value count), the metadata, the tensor infos, zero padding to
// the alignment, then each tensor's bytes followed by zero padding to the
// alignment (so every tensor starts at a multiple of it, as ggml and
// gguf-py write files). A file without tensors ends after the metadata,
// unpadded; ggml reads such files the same way. It returns the number of
// bytes written.
func (w *Writer) WriteTo(out io.Writer) (int64, error) {
	cw := &countWriter{w: out}
	err := w.write(cw)
	if err != nil {
		err = fmt.Errorf("gguf: writing: %w", err)
	}
	return cw.n, err
}

// write writes the file to cw, returning the destination's errors as they
// are.
func (w *Writer) write(cw *countWriter) error {
	hdr := w.header()
	if _, err := cw.Write(hdr); err != nil {
		return err
	}
	if len(w.tensors) == 0 {
		return nil // no data section, so nothing to align
	}
	n := uint64(len(hdr))
	if err := cw.pad(alignUp(n, w.alignment) - n); err != nil {
		return err
	}
	for _, t := range w.tensors {
		if _, err := cw.Write(t.data); err != nil {
			return err
		}
		n := uint64(len(t.data))
		if err := cw.pad(alignUp(n, w.alignment) - n); err != nil {
			return err
		}
	}
	return nil
}

// WriteFile writes the file to path as WriteTo does, replacing any existing
// file atomically: the bytes go to a temporary file in the same directory,
// which is synced and renamed over path only when everything succeeded. On
// any error the temporary file is removed and path is left as it was.
func (w *Writer) WriteFile(path string) error {
	err := fsutil.WriteAtomic(path, func(out io.Writer) error {
		if err := w.write(&countWriter{w: out}); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	return nil
}

// Keys returns the metadata keys added so far, in order.
func (w *Writer) Keys() []string {
	keys := make([]string, len(w.kvs))
	for i, kv := range w.kvs {
		keys[i] = kv.key
	}
	return keys
}

// TensorNames returns the names of the tensors added so far, in order.
func (w *Writer) TensorNames() []string {
	names := make([]string, len(w.tensors))
	for i, t := range w.tensors {
		names[i] = t.name
	}
	return names
}
