package gguf

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"sync"

	"github.com/loomml/loom/dtype"
	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/internal/kernels"
	"github.com/loomml/loom/quant"
)

// KV is one metadata key-value pair. When read, Value has one of the Go
// types uint8, int8, uint16, int16, uint32, int32, float32, bool, string,
// uint64, int64 or float64, or for an array the slice of that type
// ([]uint8 ... []float64); an array of arrays is an []any whose elements
// are such slices (or further []any). The Writer accepts the same types.
type KV struct {
	Key   string
	Value any
}

// TensorInfo describes one tensor of a file.
type TensorInfo struct {
	Name string
	// Shape lists the dimensions outermost first, in row-major (PyTorch)
	// order: the reverse of the file, which stores ggml's ne[0] (the
	// innermost, fastest-varying dimension) first. A 2-D weight of shape
	// [rows, cols] is stored with ne = [cols, rows].
	Shape []int
	Type  Type
	// Offset is where the tensor's bytes start, relative to the start of
	// the tensor data section (File.DataOffset); it is a multiple of the
	// file's alignment.
	Offset uint64
	// Size is the number of bytes of the tensor.
	Size int
}

// NumElements returns the number of elements of the tensor, the product of
// its shape.
func (in TensorInfo) NumElements() int {
	n := 1
	for _, d := range in.Shape {
		n *= d
	}
	return n
}

// clone returns a copy of in that shares no memory with it.
func (in TensorInfo) clone() TensorInfo {
	in.Shape = slices.Clone(in.Shape)
	return in
}

// File is a parsed, validated GGUF file. Its exported fields describe the
// file as read; changing them does not change what the methods return. The
// methods are safe for concurrent use, and Close waits for reads of tensor
// data under way to finish.
type File struct {
	// Version is the format version of the file, 2 or 3.
	Version uint32
	// KV holds the metadata in file order.
	KV []KV
	// Tensors describes the tensors in the order of the file's tensor
	// infos.
	Tensors []TensorInfo
	// Alignment is the value of general.alignment, or 32 without it.
	Alignment int
	// DataOffset is the offset in the file of the tensor data section, to
	// which TensorInfo.Offset is relative. For a file with tensors it is
	// the end of the tensor infos rounded up to Alignment; for a file
	// without tensors it is the end of the tensor infos (as in ggml).
	DataOffset int64

	name        string
	kvs         []KV // the metadata, as read
	kvIndex     map[string]int
	infos       []TensorInfo // the tensors, as read
	tensorIndex map[string]int

	mu       sync.RWMutex
	closed   bool
	retained bool         // Retain was called: Close leaves the mapping
	data     []byte       // the whole file
	release  func() error // unmaps the file; nil if there is nothing to release
}

// Open opens the GGUF file at path and validates it completely (see the
// package documentation) before returning. On Unix systems the file is
// memory-mapped read-only, so only the metadata and tensor infos are read
// up front; elsewhere, or if mapping fails, the file is read into memory.
// Close releases the mapping. If the file is truncated or rewritten in
// place while it is mapped, reading tensors may crash the program;
// Writer.WriteFile replaces files by renaming, which is safe.
func Open(path string) (*File, error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	defer fd.Close()
	st, err := fd.Stat()
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	if st.IsDir() {
		return nil, fileErr(path, "is a directory, not a GGUF file")
	}
	size := st.Size()
	if size > math.MaxInt {
		return nil, fileErr(path, "file is %d bytes, too large to address on this platform", size)
	}
	if st.Mode().IsRegular() && size >= headerBytes {
		if data, release, err := fsutil.MmapPrivate(fd, int(size)); err == nil {
			f, perr := parse(path, data)
			if perr != nil {
				release()
				return nil, perr
			}
			f.release = release
			return f, nil
		}
	}
	data, err := io.ReadAll(fd)
	if err != nil {
		return nil, fmt.Errorf("gguf: reading %s: %w", path, err)
	}
	f, perr := parse(path, data)
	if perr != nil {
		return nil, perr
	}
	return f, nil
}

// Name returns the path given to Open or the name given to Parse.
func (f *File) Name() string { return f.name }

// Close releases the memory mapping, if any. Afterwards TensorBytes and
// Float32s return an error and slices returned by TensorBytes must no
// longer be used; the metadata stays readable. Close is idempotent.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	f.data = nil
	if f.release != nil && !f.retained {
		err := f.release()
		f.release = nil
		if err != nil {
			return fileErr(f.name, "unmapping: %v", err)
		}
	}
	return nil
}

// Retain makes the bytes TensorBytes returns outlive Close: the mapping is
// then never released (until the process exits), so a loader can use them
// as a model's weights without copying, as llama.cpp maps its files. The
// mapping is copy-on-write: writing to the bytes changes the process's
// copy, never the file. It reports whether the file is mapped (false: the
// file was read into memory, whose slices are garbage-collected as usual).
func (f *File) Retain() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.retained = true
	return f.release != nil
}

// Get returns the value of the metadata key and whether the file has it.
// Slices are returned as stored, not copied: do not modify them.
func (f *File) Get(key string) (any, bool) {
	i, ok := f.kvIndex[key]
	if !ok {
		return nil, false
	}
	return f.kvs[i].Value, true
}

// lookup returns the value of key or an error saying it is missing.
func (f *File) lookup(key string) (any, error) {
	v, ok := f.Get(key)
	if !ok {
		return nil, keyErr(f.name, key, "not present in the file (it has %d metadata keys)", len(f.kvs))
	}
	return v, nil
}

// String returns the value of key, which must be a STRING.
func (f *File) String(key string) (string, error) {
	v, err := f.lookup(key)
	if err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", keyErr(f.name, key, "is %s, want STRING", describeValueOf(v))
	}
	return s, nil
}

// Uint returns the value of key, which must be an integer: any of the
// unsigned types, or a signed type holding a non-negative value. The
// specification recommends reading counts this way, since writers use both
// UINT32 and UINT64 for them.
func (f *File) Uint(key string) (uint64, error) {
	v, err := f.lookup(key)
	if err != nil {
		return 0, err
	}
	var s int64
	switch x := v.(type) {
	case uint8:
		return uint64(x), nil
	case uint16:
		return uint64(x), nil
	case uint32:
		return uint64(x), nil
	case uint64:
		return x, nil
	case int8:
		s = int64(x)
	case int16:
		s = int64(x)
	case int32:
		s = int64(x)
	case int64:
		s = x
	default:
		return 0, keyErr(f.name, key, "is %s, want an integer (UINT8 to INT64)", describeValueOf(v))
	}
	if s < 0 {
		return 0, keyErr(f.name, key, "is %s, want a non-negative integer", describeValueOf(v))
	}
	return uint64(s), nil
}

// Float returns the value of key, which must be a FLOAT32 or FLOAT64.
func (f *File) Float(key string) (float64, error) {
	v, err := f.lookup(key)
	if err != nil {
		return 0, err
	}
	switch x := v.(type) {
	case float32:
		return float64(x), nil
	case float64:
		return x, nil
	}
	return 0, keyErr(f.name, key, "is %s, want FLOAT32 or FLOAT64", describeValueOf(v))
}

// Strings returns a copy of the value of key, which must be an array of
// strings.
func (f *File) Strings(key string) ([]string, error) {
	v, err := f.lookup(key)
	if err != nil {
		return nil, err
	}
	s, ok := v.([]string)
	if !ok {
		return nil, keyErr(f.name, key, "is %s, want ARRAY[STRING]", describeValueOf(v))
	}
	return slices.Clone(s), nil
}

// Tensor returns the description of the named tensor and whether the file
// has it.
func (f *File) Tensor(name string) (TensorInfo, bool) {
	i, ok := f.tensorIndex[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.infos[i].clone(), true
}

// bytesLocked returns the info and bytes of the named tensor. The caller
// holds f.mu for reading.
func (f *File) bytesLocked(name string) (TensorInfo, []byte, error) {
	if f.closed {
		return TensorInfo{}, nil, tensorErr(f.name, name, "file is closed")
	}
	i, ok := f.tensorIndex[name]
	if !ok {
		return TensorInfo{}, nil, tensorErr(f.name, name, "no such tensor in the file (it has %d tensors)", len(f.infos))
	}
	in := f.infos[i]
	start := int(f.DataOffset) + int(in.Offset)
	end := start + in.Size
	return in, f.data[start:end:end], nil
}

// TensorBytes returns the raw bytes of the named tensor, without copying
// them. For a file from Open on Unix they are the memory mapping
// (copy-on-write: writing to them never changes the file), which must not
// be used after Close unless Retain was called. For a file from Parse they
// alias the slice given to Parse.
func (f *File) TensorBytes(name string) ([]byte, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	_, b, err := f.bytesLocked(name)
	return b, err
}

// Float32s returns a copy of the named tensor's elements as float32 values,
// in row-major order. F32, F16 and BF16 convert exactly; Q8_0 and ggml's
// other block types that package quant reads (Q4_0 … Q6_K) are
// dequantized as ggml does. Other types are an error.
func (f *File) Float32s(name string) ([]float32, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	in, b, err := f.bytesLocked(name)
	if err != nil {
		return nil, err
	}
	n := in.NumElements()
	out := make([]float32, n)
	switch d, _ := in.Type.DType(); {
	case d == dtype.Float32:
		le := binary.LittleEndian
		for i := range out {
			out[i] = math.Float32frombits(le.Uint32(b[4*i:]))
		}
	case d.Packed():
		kernels.Widen(d.Info().Kernel, out, b)
	case quant.Supported(d):
		if err := quant.Dequantize(d, b, out); err != nil {
			return nil, tensorErr(f.name, name, "%v", err)
		}
	default:
		return nil, tensorErr(f.name, name, "type %s cannot be converted to float32 (want F32, F16, BF16, or one of ggml's blocks Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K)", in.Type)
	}
	return out, nil
}

// describeValueOf describes a metadata value for error messages: its GGUF
// type and, for a scalar, the value ("UINT32 7", "STRING \"llama\"",
// "ARRAY[STRING] of 3 elements").
func describeValueOf(v any) string {
	t, _, ok := ValueTypeOf(v)
	if !ok {
		return describeValue(v)
	}
	switch x := v.(type) {
	case string:
		const max = 40
		if len(x) > max {
			return fmt.Sprintf("STRING %q... (%d bytes)", x[:max], len(x))
		}
		return "STRING " + strconv.Quote(x)
	case []any:
		return fmt.Sprintf("ARRAY[ARRAY] of %d elements", len(x))
	}
	if t == ValueArray {
		return fmt.Sprintf("%s of %d elements", describeValue(v), arrayLen(v))
	}
	return fmt.Sprintf("%s %v", t, v)
}

// arrayLen returns the length of an array value.
func arrayLen(v any) int {
	switch x := v.(type) {
	case []uint8:
		return len(x)
	case []int8:
		return len(x)
	case []uint16:
		return len(x)
	case []int16:
		return len(x)
	case []uint32:
		return len(x)
	case []int32:
		return len(x)
	case []float32:
		return len(x)
	case []bool:
		return len(x)
	case []string:
		return len(x)
	case []uint64:
		return len(x)
	case []int64:
		return len(x)
	case []float64:
		return len(x)
	case []any:
		return len(x)
	}
	return 0
}

// IsGGUF reports whether the file at path starts with the GGUF magic (it
// does not validate the rest; Open does).
func IsGGUF(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var m [len(Magic)]byte
	_, err = io.ReadFull(f, m[:])
	return err == nil && string(m[:]) == Magic
}

// NonFinite scans the named tensor for NaNs and infinities, as stored:
// every element of a float type, the scales of a block type. checked is
// false for a type whose scales dtype does not know (nothing was looked
// at).
func (f *File) NonFinite(name string) (nf dtype.NonFinite, checked bool, err error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	in, b, err := f.bytesLocked(name)
	if err != nil {
		return dtype.NonFinite{First: -1}, false, err
	}
	d, _ := in.Type.DType()
	nf, checked = d.FindNonFinite(b)
	return nf, checked, nil
}
