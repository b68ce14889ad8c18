package safetensors

import (
	"encoding/binary"
	"math"
	"slices"
	"sync"

	"github.com/loomml/loom/dtype"
	"github.com/loomml/loom/tensor"
)

// File is a parsed, validated safetensors file. Its methods are safe for
// concurrent use; Close waits for conversions under way to finish.
type File struct {
	// Path is the path given to Open, or the name given to Parse.
	Path string
	// Metadata is the "__metadata__" map of the header; it is empty, not nil,
	// when the file has none.
	Metadata map[string]string

	mu         sync.RWMutex
	closed     bool
	infos      []Info // sorted by data offset
	index      map[string]int
	buf        []byte // the data buffer
	dataOffset int64
	release    func() error // unmaps the file; nil if there is nothing to release
	retained   bool         // Retain was called: Close leaves the mapping
}

// Names returns the tensor names in the order of their data offsets, which is
// the order in which they are stored in the file.
func (f *File) Names() []string {
	names := make([]string, len(f.infos))
	for i, in := range f.infos {
		names[i] = in.Name
	}
	return names
}

// Infos returns the descriptions of all tensors, in the order of Names.
func (f *File) Infos() []Info {
	out := make([]Info, len(f.infos))
	for i, in := range f.infos {
		out[i] = in.clone()
	}
	return out
}

// Info returns the description of the named tensor and whether it exists.
func (f *File) Info(name string) (Info, bool) {
	i, ok := f.index[name]
	if !ok {
		return Info{}, false
	}
	return f.infos[i].clone(), true
}

// DataOffset returns the offset in the file at which the data buffer starts:
// 8 plus the header length. Info.Begin and Info.End are relative to it.
func (f *File) DataOffset() int64 { return f.dataOffset }

// Close releases the memory mapping, if any. Afterwards the methods that
// read tensor data return an error, and slices returned by View must no
// longer be used. Close is idempotent.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	f.buf = nil
	if f.release != nil && !f.retained {
		err := f.release()
		f.release = nil
		if err != nil {
			return fileErr(f.Path, "unmapping: %v", err)
		}
	}
	return nil
}

// Retain makes the bytes View returns outlive Close: the mapping is then
// never released (until the process exits), so a loader can use them as a
// model's weights without copying. The mapping is copy-on-write: writing
// to the bytes changes the process's copy, never the file. It reports
// whether the file is mapped (false: it was read into memory, whose slices
// are garbage-collected as usual).
func (f *File) Retain() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.retained = true
	return f.release != nil
}

// lookup returns the info and bytes of the named tensor. The caller holds
// f.mu for reading.
func (f *File) lookup(name string) (Info, []byte, error) {
	if f.closed {
		return Info{}, nil, tensorErr(f.Path, name, "file is closed")
	}
	i, ok := f.index[name]
	if !ok {
		return Info{}, nil, tensorErr(f.Path, name, "no such tensor in the file (it has %d tensors)", len(f.infos))
	}
	in := f.infos[i]
	return in, f.buf[in.Begin:in.End:in.End], nil
}

// View returns the raw little-endian bytes of the named tensor without
// copying them. For a file from Open on Unix they are the memory mapping
// (copy-on-write: writing to them never changes the file), which must not
// be used after Close unless Retain was called. For a file from Parse they
// alias the buffer given to Parse.
// Use Bytes for a copy.
func (f *File) View(name string) ([]byte, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	_, b, err := f.lookup(name)
	return b, err
}

// Bytes returns a copy of the raw little-endian, row-major bytes of the named
// tensor.
func (f *File) Bytes(name string) ([]byte, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	_, b, err := f.lookup(name)
	if err != nil {
		return nil, err
	}
	return slices.Clone(b)[:len(b):len(b)], nil
}

// Float32 decodes the named tensor into float32 values and returns them with
// its shape. F32, F16, BF16, F8_E4M3 and F8_E5M2 convert exactly; F64 rounds
// to the nearest float32. Other dtypes are an error.
func (f *File) Float32(name string) ([]float32, []int, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	in, b, err := f.lookup(name)
	if err != nil {
		return nil, nil, err
	}
	n := int(in.End-in.Begin) / in.DType.Size()
	out := make([]float32, n)
	switch in.DType {
	case F32:
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case F16:
		for i := range out {
			out[i] = tensor.Float32FromF16(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case BF16:
		for i := range out {
			out[i] = tensor.Float32FromBF16(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case F64:
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])))
		}
	case F8_E5M2:
		for i := range out {
			out[i] = tensor.Float32FromF16(uint16(b[i]) << 8)
		}
	case F8_E4M3:
		for i := range out {
			out[i] = float32FromE4M3(b[i])
		}
	default:
		return nil, nil, tensorErr(f.Path, name, "dtype %s cannot be read as float32 (want F32, F16, BF16, F64, F8_E4M3 or F8_E5M2)", in.DType)
	}
	return out, slices.Clone(in.Shape), nil
}

// float32FromE4M3 widens an F8_E4M3 ("E4M3FN") byte exactly: bias 7, no
// infinities, and S.1111.111 is NaN.
func float32FromE4M3(v byte) float32 {
	sign := uint32(v&0x80) << 24
	exp := uint32(v>>3) & 0xf
	mant := uint32(v & 7)
	if exp == 0xf && mant == 7 {
		return math.Float32frombits(sign | 0x7fc00000)
	}
	if exp == 0 {
		f := float32(mant) / 512 // mant * 2^-9
		if sign != 0 {
			f = -f
		}
		return f
	}
	return math.Float32frombits(sign | (exp-7+127)<<23 | mant<<20)
}

// Float64 decodes the named tensor into float64 values and returns them with
// its shape. F64, F32, F16 and BF16 convert exactly; other dtypes are an
// error.
func (f *File) Float64(name string) ([]float64, []int, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	in, b, err := f.lookup(name)
	if err != nil {
		return nil, nil, err
	}
	n := int(in.End-in.Begin) / in.DType.Size()
	out := make([]float64, n)
	switch in.DType {
	case F64:
		for i := range out {
			out[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
		}
	case F32:
		for i := range out {
			out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
		}
	case F16:
		for i := range out {
			out[i] = float64(tensor.Float32FromF16(binary.LittleEndian.Uint16(b[2*i:])))
		}
	case BF16:
		for i := range out {
			out[i] = float64(tensor.Float32FromBF16(binary.LittleEndian.Uint16(b[2*i:])))
		}
	default:
		return nil, nil, tensorErr(f.Path, name, "dtype %s cannot be read as float64 (want F64, F32, F16 or BF16)", in.DType)
	}
	return out, slices.Clone(in.Shape), nil
}

// Int64 decodes the named tensor into int64 values and returns them with its
// shape. I64, I32, I16, I8, U32, U16, U8 and BOOL convert exactly (a BOOL
// byte is 1 if nonzero, else 0); U64 converts when every value fits in an
// int64 and is an error otherwise. Floating-point dtypes are an error.
func (f *File) Int64(name string) ([]int64, []int, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	in, b, err := f.lookup(name)
	if err != nil {
		return nil, nil, err
	}
	n := int(in.End-in.Begin) / in.DType.Size()
	out := make([]int64, n)
	le := binary.LittleEndian
	switch in.DType {
	case I64:
		for i := range out {
			out[i] = int64(le.Uint64(b[8*i:]))
		}
	case U64:
		for i := range out {
			v := le.Uint64(b[8*i:])
			if v > math.MaxInt64 {
				return nil, nil, tensorErr(f.Path, name, "U64 element %d is %d, which does not fit in an int64", i, v)
			}
			out[i] = int64(v)
		}
	case I32:
		for i := range out {
			out[i] = int64(int32(le.Uint32(b[4*i:])))
		}
	case U32:
		for i := range out {
			out[i] = int64(le.Uint32(b[4*i:]))
		}
	case I16:
		for i := range out {
			out[i] = int64(int16(le.Uint16(b[2*i:])))
		}
	case U16:
		for i := range out {
			out[i] = int64(le.Uint16(b[2*i:]))
		}
	case I8:
		for i := range out {
			out[i] = int64(int8(b[i]))
		}
	case U8:
		for i := range out {
			out[i] = int64(b[i])
		}
	case BOOL:
		for i := range out {
			if b[i] != 0 {
				out[i] = 1
			}
		}
	default:
		return nil, nil, tensorErr(f.Path, name, "dtype %s cannot be read as int64 (want I64, I32, I16, I8, U64, U32, U16, U8 or BOOL)", in.DType)
	}
	return out, slices.Clone(in.Shape), nil
}

// NonFinite scans the named tensor for NaNs and infinities: every element
// of a float dtype (integer and boolean ones have none).
func (f *File) NonFinite(name string) (dtype.NonFinite, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	in, b, err := f.lookup(name)
	if err != nil {
		return dtype.NonFinite{First: -1}, err
	}
	switch in.DType {
	case F8_E4M3: // no infinities; S.1111.111 is NaN
		return scanBytes(b, func(v byte) (float64, bool) { return math.NaN(), v&0x7f == 0x7f }), nil
	case F8_E5M2: // the top byte of an F16
		return scanBytes(b, func(v byte) (float64, bool) {
			x := float64(tensor.Float32FromF16(uint16(v) << 8))
			return x, v&0x7c == 0x7c
		}), nil
	}
	nf := dtype.NonFinite{First: -1}
	if d, ok := dtype.FromSafetensors(string(in.DType)); ok {
		nf, _ = d.FindNonFinite(b)
	}
	return nf, nil
}

func scanBytes(b []byte, bad func(byte) (float64, bool)) dtype.NonFinite {
	nf := dtype.NonFinite{First: -1}
	for i, v := range b {
		if x, ok := bad(v); ok {
			if nf.Count == 0 {
				nf.First, nf.Value = i, x
			}
			nf.Count++
		}
	}
	return nf
}
