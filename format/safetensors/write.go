package safetensors

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/tensor"
)

// Tensor is a tensor to be written: its name, dtype, shape ([] or nil for a
// scalar) and raw little-endian, row-major bytes, whose length must be the
// element count times DType.Size().
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte
}

// shapeElements checks shape against the number of values given to a From
// function and returns the element count.
func shapeElements(name string, shape []int, values int) (int, error) {
	n, ok := numElements(shape)
	if !ok {
		for i, d := range shape {
			if d < 0 {
				return 0, tensorErr("", name, "shape[%d] is %d; dimensions must be non-negative", i, d)
			}
		}
		return 0, tensorErr("", name, "shape %v has more elements than fit in a 64-bit integer", shape)
	}
	if n != int64(values) {
		return 0, tensorErr("", name, "shape %v has %d elements, but %d values were given", shape, n, values)
	}
	return int(n), nil
}

// FromFloat32 encodes data, of the given shape, as a tensor of dtype dt: F32,
// F64 (exactly), or F16 or BF16 (rounding to nearest, ties to even). Other
// dtypes are an error.
func FromFloat32(name string, shape []int, data []float32, dt DType) (Tensor, error) {
	n, err := shapeElements(name, shape, len(data))
	if err != nil {
		return Tensor{}, err
	}
	t := Tensor{Name: name, DType: dt, Shape: slices.Clone(shape)}
	le := binary.LittleEndian
	switch dt {
	case F32:
		t.Data = make([]byte, 4*n)
		for i, v := range data {
			le.PutUint32(t.Data[4*i:], math.Float32bits(v))
		}
	case F64:
		t.Data = make([]byte, 8*n)
		for i, v := range data {
			le.PutUint64(t.Data[8*i:], math.Float64bits(float64(v)))
		}
	case F16:
		t.Data = make([]byte, 2*n)
		for i, v := range data {
			le.PutUint16(t.Data[2*i:], tensor.F16FromFloat32(v))
		}
	case BF16:
		t.Data = make([]byte, 2*n)
		for i, v := range data {
			le.PutUint16(t.Data[2*i:], tensor.BF16FromFloat32(v))
		}
	default:
		return Tensor{}, tensorErr("", name, "FromFloat32 cannot encode dtype %q (want F32, F16, BF16 or F64)", dt)
	}
	return t, nil
}

// FromFloat64 encodes data, of the given shape, as a tensor of dtype dt: F64
// (exactly) or F32 (rounding to nearest). Other dtypes are an error.
func FromFloat64(name string, shape []int, data []float64, dt DType) (Tensor, error) {
	n, err := shapeElements(name, shape, len(data))
	if err != nil {
		return Tensor{}, err
	}
	t := Tensor{Name: name, DType: dt, Shape: slices.Clone(shape)}
	le := binary.LittleEndian
	switch dt {
	case F64:
		t.Data = make([]byte, 8*n)
		for i, v := range data {
			le.PutUint64(t.Data[8*i:], math.Float64bits(v))
		}
	case F32:
		t.Data = make([]byte, 4*n)
		for i, v := range data {
			le.PutUint32(t.Data[4*i:], math.Float32bits(float32(v)))
		}
	default:
		return Tensor{}, tensorErr("", name, "FromFloat64 cannot encode dtype %q (want F64 or F32)", dt)
	}
	return t, nil
}

// FromInt64 encodes data, of the given shape, as a tensor of the integer
// dtype dt: I64, I32, I16, I8, U64, U32, U16, U8 or BOOL. A value outside the
// range of dt (for BOOL, other than 0 or 1) is an error, as is any other
// dtype.
func FromInt64(name string, shape []int, data []int64, dt DType) (Tensor, error) {
	n, err := shapeElements(name, shape, len(data))
	if err != nil {
		return Tensor{}, err
	}
	var lo, hi int64
	switch dt {
	case I64:
		lo, hi = math.MinInt64, math.MaxInt64
	case U64:
		lo, hi = 0, math.MaxInt64
	case I32:
		lo, hi = math.MinInt32, math.MaxInt32
	case U32:
		lo, hi = 0, math.MaxUint32
	case I16:
		lo, hi = math.MinInt16, math.MaxInt16
	case U16:
		lo, hi = 0, math.MaxUint16
	case I8:
		lo, hi = math.MinInt8, math.MaxInt8
	case U8:
		lo, hi = 0, math.MaxUint8
	case BOOL:
		lo, hi = 0, 1
	default:
		return Tensor{}, tensorErr("", name, "FromInt64 cannot encode dtype %q (want I64, I32, I16, I8, U64, U32, U16, U8 or BOOL)", dt)
	}
	size := dt.Size()
	t := Tensor{Name: name, DType: dt, Shape: slices.Clone(shape), Data: make([]byte, size*n)}
	le := binary.LittleEndian
	for i, v := range data {
		if v < lo || v > hi {
			return Tensor{}, tensorErr("", name, "value %d at index %d is outside the range of %s [%d, %d]", v, i, dt, lo, hi)
		}
		b := t.Data[size*i:]
		switch size {
		case 8:
			le.PutUint64(b, uint64(v))
		case 4:
			le.PutUint32(b, uint32(v))
		case 2:
			le.PutUint16(b, uint16(v))
		case 1:
			b[0] = byte(v)
		}
	}
	return t, nil
}

// header checks tensors and metadata and returns the 8-byte length prefix
// followed by the header, padded with spaces to a multiple of 8 bytes. file
// names the destination in errors ("" for none).
func header(file string, tensors []Tensor, metadata map[string]string) ([]byte, error) {
	b := make([]byte, 8, 256)
	b = append(b, '{')
	if len(metadata) > 0 {
		keys := make([]string, 0, len(metadata))
		for k, v := range metadata {
			if !utf8.ValidString(k) {
				return nil, fileErr(file, "metadata key %q is not valid UTF-8", k)
			}
			if !utf8.ValidString(v) {
				return nil, fileErr(file, "metadata value %q of key %q is not valid UTF-8", v, k)
			}
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = appendString(b, metadataKey)
		b = append(b, ':', '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, metadata[k])
		}
		b = append(b, '}')
	}
	seen := make(map[string]int, len(tensors))
	var offset int64
	for i, t := range tensors {
		if t.Name == metadataKey {
			return nil, tensorErr(file, t.Name, "the name is reserved for the metadata map")
		}
		if !utf8.ValidString(t.Name) {
			return nil, tensorErr(file, t.Name, "name is not valid UTF-8")
		}
		if j, dup := seen[t.Name]; dup {
			return nil, tensorErr(file, t.Name, "duplicate tensor name (tensors %d and %d); names must be unique", j, i)
		}
		seen[t.Name] = i
		if !t.DType.Valid() {
			return nil, tensorErr(file, t.Name, "unknown dtype %q (want one of %s)", t.DType, dtypeList())
		}
		for k, d := range t.Shape {
			if d < 0 {
				return nil, tensorErr(file, t.Name, "shape[%d] is %d; dimensions must be non-negative", k, d)
			}
		}
		nbytes, ok := byteSize(t.DType, t.Shape)
		if !ok {
			return nil, tensorErr(file, t.Name, "shape %v of dtype %s has more elements or bytes than fit in a 64-bit integer", t.Shape, t.DType)
		}
		if int64(len(t.Data)) != nbytes {
			return nil, tensorErr(file, t.Name, "data is %d bytes, but dtype %s shape %v needs %d", len(t.Data), t.DType, t.Shape, nbytes)
		}
		if offset > math.MaxInt64-nbytes {
			return nil, tensorErr(file, t.Name, "the tensors hold more than 2^63-1 bytes in total")
		}
		if len(b) > 9 {
			b = append(b, ',')
		}
		b = appendString(b, t.Name)
		b = append(b, `:{"dtype":`...)
		b = appendString(b, string(t.DType))
		b = append(b, `,"shape":[`...)
		for k, d := range t.Shape {
			if k > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, int64(d), 10)
		}
		b = append(b, `],"data_offsets":[`...)
		b = strconv.AppendInt(b, offset, 10)
		b = append(b, ',')
		offset += nbytes
		b = strconv.AppendInt(b, offset, 10)
		b = append(b, ']', '}')
		if len(b) > 8+MaxHeaderSize {
			return nil, fileErr(file, "header would exceed the %d-byte limit (too many tensors or too much metadata)", MaxHeaderSize)
		}
	}
	b = append(b, '}')
	for (len(b)-8)%8 != 0 {
		b = append(b, ' ')
	}
	if len(b)-8 > MaxHeaderSize {
		return nil, fileErr(file, "header would exceed the %d-byte limit (too many tensors or too much metadata)", MaxHeaderSize)
	}
	binary.LittleEndian.PutUint64(b, uint64(len(b)-8))
	return b, nil
}

// appendString appends s as a JSON string, escaping only what JSON requires
// (quote, backslash and control characters), as serde_json does.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// Encode writes tensors and metadata in the safetensors format to w. The
// header lists "__metadata__" first (omitted if metadata is empty; its keys
// sorted), then the tensors in the order given, and is padded with spaces so
// that the data buffer starts at a multiple of 8 bytes; the tensors' bytes
// follow in the same order. Everything is validated before anything is
// written: names must be unique, valid UTF-8 and not "__metadata__", dtypes
// known, and each Data as long as its dtype and shape require.
func Encode(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	return encode("", w, tensors, metadata)
}

// encode is Encode with a file name for errors.
func encode(file string, w io.Writer, tensors []Tensor, metadata map[string]string) error {
	hdr, err := header(file, tensors, metadata)
	if err != nil {
		return err
	}
	return writeData(file, w, hdr, tensors)
}

// writeData writes the prepared header and the tensors' bytes to w.
func writeData(file string, w io.Writer, hdr []byte, tensors []Tensor) error {
	if _, err := w.Write(hdr); err != nil {
		return writeErr(file, err)
	}
	for _, t := range tensors {
		if _, err := w.Write(t.Data); err != nil {
			return writeErr(file, err)
		}
	}
	return nil
}

// writeErr wraps an I/O error of the writer.
func writeErr(file string, err error) error {
	if file == "" {
		return fmt.Errorf("safetensors: writing: %w", err)
	}
	return fmt.Errorf("safetensors: writing %s: %w", file, err)
}

// Write writes tensors and metadata to the file at path, as Encode does,
// replacing any existing file atomically: it validates everything first,
// writes a temporary file in the same directory, syncs it to disk and
// renames it to path. On any error the temporary file is removed, so path
// is either left untouched or replaced by the complete new file. A new file
// gets permissions 0644 (an existing file's permissions are kept).
func Write(path string, tensors []Tensor, metadata map[string]string) error {
	hdr, err := header(path, tensors, metadata)
	if err != nil {
		return err
	}
	return writeAtomic(path, func(w io.Writer) error {
		return writeData(path, w, hdr, tensors)
	})
}

// writeAtomic creates path with the bytes written by fill, through a
// temporary file that is renamed into place only when everything succeeded.
func writeAtomic(path string, fill func(io.Writer) error) error {
	failed := false
	err := fsutil.WriteAtomic(path, func(w io.Writer) error {
		err := fill(w)
		failed = err != nil
		return err
	})
	if err != nil && !failed {
		return fmt.Errorf("safetensors: %w", err)
	}
	return err
}
