// Package dtype is loom's one table of element types: every type a tensor,
// a safetensors file or a GGUF file can hold a weight in, with its name,
// its block layout, its numbers in ggml (GGUF tensor types) and llama.cpp
// (general.file_type), its spelling in safetensors and PyTorch, and the
// kernel format loom computes on it with. Package tensor's DType is this
// DType; the GGUF and safetensors packages and the converters read this
// table rather than keeping their own, so a new weight type is one row
// here (and its kernels).
//
//	dt, _ := dtype.Parse("q8_0")
//	dt.Packed()            // true: stored in blocks, widened inside products
//	dt.RowBytes(4096)      // 4352 bytes: 128 blocks of 34
//	dtype.FromGGML(8)      // Q8_0, true
package dtype

import (
	"fmt"
	"math"
	"strings"

	"github.com/loomml/loom/internal/kernels"
)

// DType is an element type.
type DType uint8

// The types loom computes with come first: Float32 and Float64 (tensor
// storage), then the packed weight types products read directly. The others
// are ggml's types loom can name, size and skip in GGUF files but not
// compute on yet.
const (
	Invalid DType = iota
	// Float32 is the working precision of every model.
	Float32
	// Float64 is used by gradient checks and analyses that need it.
	Float64
	// BFloat16 stores each element as the top half of its float32.
	BFloat16
	// Float16 is IEEE 754 half precision.
	Float16
	// Q8_0 is ggml's 8-bit block format: blocks of 32 elements of a row,
	// each an f16 scale d and 32 int8 q (value d·q), 34 bytes per block.
	Q8_0
	Q4_0
	Q4_1
	Q5_0
	Q5_1
	Q8_1
	Q2_K
	Q3_K
	Q4_K
	Q5_K
	Q6_K
	Q8_K
	IQ2_XXS
	IQ2_XS
	IQ3_XXS
	IQ1_S
	IQ4_NL
	IQ3_S
	IQ2_S
	IQ4_XS
	I8
	I16
	I32
	I64
	IQ1_M
	TQ1_0
	TQ2_0
	MXFP4
	NVFP4
	Q1_0
	Q2_0
	count
)

// Info is one row of the table.
type Info struct {
	Name string // loom's name: "f32", "bf16", "q8_0"
	// GGML is the ggml_type number (GGUF tensor type), -1 for none.
	GGML int
	// GGMLName is ggml's name without the GGML_TYPE_ prefix ("Q8_0").
	GGMLName string
	// Block elements take BlockBytes bytes (1 and the element size for
	// plain types).
	Block, BlockBytes int
	// FileType is llama.cpp's general.file_type (llama_ftype) of a model
	// whose matrices are mostly of this type (the _M variant for
	// k-quants), -1 for none.
	FileType int
	// Safetensors and Torch spell the type in safetensors headers and in
	// config.json's torch_dtype ("" where they cannot hold it).
	Safetensors, Torch string
	// Kernel is the kernels format products read packed rows in (0: none;
	// Float32 and Float64 are plain storage).
	Kernel kernels.Format
	// Aliases are other names Parse accepts.
	Aliases []string
}

var table = [count]Info{
	Float32:  {Name: "f32", GGML: 0, GGMLName: "F32", Block: 1, BlockBytes: 4, FileType: 0, Safetensors: "F32", Torch: "float32", Aliases: []string{"float32"}},
	Float64:  {Name: "f64", GGML: 28, GGMLName: "F64", Block: 1, BlockBytes: 8, FileType: -1, Safetensors: "F64", Torch: "float64", Aliases: []string{"float64"}},
	BFloat16: {Name: "bf16", GGML: 30, GGMLName: "BF16", Block: 1, BlockBytes: 2, FileType: 32, Safetensors: "BF16", Torch: "bfloat16", Kernel: kernels.BF16, Aliases: []string{"bfloat16"}},
	Float16:  {Name: "f16", GGML: 1, GGMLName: "F16", Block: 1, BlockBytes: 2, FileType: 1, Safetensors: "F16", Torch: "float16", Kernel: kernels.F16, Aliases: []string{"float16"}},
	Q8_0:     {Name: "q8_0", GGML: 8, GGMLName: "Q8_0", Block: 32, BlockBytes: 34, FileType: 7, Kernel: kernels.Q8_0},
	Q4_0:     {Name: "q4_0", GGML: 2, GGMLName: "Q4_0", Block: 32, BlockBytes: 18, FileType: 2, Kernel: kernels.Q4_0},
	Q4_1:     {Name: "q4_1", GGML: 3, GGMLName: "Q4_1", Block: 32, BlockBytes: 20, FileType: 3, Kernel: kernels.Q4_1},
	Q5_0:     {Name: "q5_0", GGML: 6, GGMLName: "Q5_0", Block: 32, BlockBytes: 22, FileType: 8, Kernel: kernels.Q5_0},
	Q5_1:     {Name: "q5_1", GGML: 7, GGMLName: "Q5_1", Block: 32, BlockBytes: 24, FileType: 9, Kernel: kernels.Q5_1},
	Q8_1:     {Name: "q8_1", GGML: 9, GGMLName: "Q8_1", Block: 32, BlockBytes: 36, FileType: -1},
	Q2_K:     {Name: "q2_k", GGML: 10, GGMLName: "Q2_K", Block: 256, BlockBytes: 84, FileType: 10},
	Q3_K:     {Name: "q3_k", GGML: 11, GGMLName: "Q3_K", Block: 256, BlockBytes: 110, FileType: 12},
	Q4_K:     {Name: "q4_k", GGML: 12, GGMLName: "Q4_K", Block: 256, BlockBytes: 144, FileType: 15, Kernel: kernels.Q4_K},
	Q5_K:     {Name: "q5_k", GGML: 13, GGMLName: "Q5_K", Block: 256, BlockBytes: 176, FileType: 17, Kernel: kernels.Q5_K},
	Q6_K:     {Name: "q6_k", GGML: 14, GGMLName: "Q6_K", Block: 256, BlockBytes: 210, FileType: 18, Kernel: kernels.Q6_K},
	Q8_K:     {Name: "q8_k", GGML: 15, GGMLName: "Q8_K", Block: 256, BlockBytes: 292, FileType: -1},
	IQ2_XXS:  {Name: "iq2_xxs", GGML: 16, GGMLName: "IQ2_XXS", Block: 256, BlockBytes: 66, FileType: 19},
	IQ2_XS:   {Name: "iq2_xs", GGML: 17, GGMLName: "IQ2_XS", Block: 256, BlockBytes: 74, FileType: 20},
	IQ3_XXS:  {Name: "iq3_xxs", GGML: 18, GGMLName: "IQ3_XXS", Block: 256, BlockBytes: 98, FileType: 23},
	IQ1_S:    {Name: "iq1_s", GGML: 19, GGMLName: "IQ1_S", Block: 256, BlockBytes: 50, FileType: 24},
	IQ4_NL:   {Name: "iq4_nl", GGML: 20, GGMLName: "IQ4_NL", Block: 32, BlockBytes: 18, FileType: 25},
	IQ3_S:    {Name: "iq3_s", GGML: 21, GGMLName: "IQ3_S", Block: 256, BlockBytes: 110, FileType: 26},
	IQ2_S:    {Name: "iq2_s", GGML: 22, GGMLName: "IQ2_S", Block: 256, BlockBytes: 82, FileType: 28},
	IQ4_XS:   {Name: "iq4_xs", GGML: 23, GGMLName: "IQ4_XS", Block: 256, BlockBytes: 136, FileType: 30},
	I8:       {Name: "i8", GGML: 24, GGMLName: "I8", Block: 1, BlockBytes: 1, FileType: -1, Safetensors: "I8", Torch: "int8"},
	I16:      {Name: "i16", GGML: 25, GGMLName: "I16", Block: 1, BlockBytes: 2, FileType: -1, Safetensors: "I16", Torch: "int16"},
	I32:      {Name: "i32", GGML: 26, GGMLName: "I32", Block: 1, BlockBytes: 4, FileType: -1, Safetensors: "I32", Torch: "int32"},
	I64:      {Name: "i64", GGML: 27, GGMLName: "I64", Block: 1, BlockBytes: 8, FileType: -1, Safetensors: "I64", Torch: "int64"},
	IQ1_M:    {Name: "iq1_m", GGML: 29, GGMLName: "IQ1_M", Block: 256, BlockBytes: 56, FileType: 31},
	TQ1_0:    {Name: "tq1_0", GGML: 34, GGMLName: "TQ1_0", Block: 256, BlockBytes: 54, FileType: 36},
	TQ2_0:    {Name: "tq2_0", GGML: 35, GGMLName: "TQ2_0", Block: 256, BlockBytes: 66, FileType: 37},
	MXFP4:    {Name: "mxfp4", GGML: 39, GGMLName: "MXFP4", Block: 32, BlockBytes: 17, FileType: 38},
	NVFP4:    {Name: "nvfp4", GGML: 40, GGMLName: "NVFP4", Block: 64, BlockBytes: 36, FileType: 39},
	Q1_0:     {Name: "q1_0", GGML: 41, GGMLName: "Q1_0", Block: 128, BlockBytes: 18, FileType: 40},
	Q2_0:     {Name: "q2_0", GGML: 42, GGMLName: "Q2_0", Block: 64, BlockBytes: 18, FileType: 41},
}

// Info returns d's row of the table (the zero Info for an invalid d).
func (d DType) Info() Info {
	if d == Invalid || d >= count {
		return Info{GGML: -1, FileType: -1}
	}
	return table[d]
}

// Valid reports whether d is a type of the table.
func (d DType) Valid() bool { return d != Invalid && d < count }

func (d DType) String() string {
	switch {
	case d == Float32:
		return "float32" // tensor's historical spelling in messages
	case d == Float64:
		return "float64"
	case d == BFloat16:
		return "bfloat16"
	case d == Float16:
		return "float16"
	case d.Valid():
		return table[d].Name
	}
	return fmt.Sprintf("DType(%d)", uint8(d))
}

// Packed reports whether d is a low-precision storage type that products
// read directly (its rows widened to float32 inside the product).
func (d DType) Packed() bool { return d.Info().Kernel != 0 }

// Computable reports whether loom computes with tensors of d: Float32,
// Float64 and the packed types.
func (d DType) Computable() bool { return d == Float32 || d == Float64 || d.Packed() }

// Size returns the bytes of one element, for a blocked type the average
// rounded down (1 for Q8_0's 34/32): for estimates only; RowBytes is exact.
func (d DType) Size() int {
	in := d.Info()
	if in.Block == 0 {
		return 0
	}
	return in.BlockBytes / in.Block
}

// RowBytes returns the bytes of a row of k elements, or an error when k is
// not a whole number of d's blocks.
func (d DType) RowBytes(k int) (int, error) {
	in := d.Info()
	switch {
	case in.Block == 0:
		return 0, fmt.Errorf("dtype: %v has no block layout", d)
	case k < 0 || k%in.Block != 0:
		return 0, fmt.Errorf("dtype: %v rows need a multiple of %d elements, have %d", d, in.Block, k)
	case k/in.Block > math.MaxInt/in.BlockBytes:
		return 0, fmt.Errorf("dtype: %d elements of %v take more bytes than fit in an int", k, d)
	}
	return k / in.Block * in.BlockBytes, nil
}

// Bytes returns the bytes of a row-major tensor of shape held as d (its
// last dimension a whole number of blocks; otherwise an estimate).
func (d DType) Bytes(shape []int) int64 {
	if len(shape) == 0 {
		return int64(d.Info().BlockBytes)
	}
	rows := int64(1)
	for _, n := range shape[:len(shape)-1] {
		rows *= int64(n)
	}
	k := shape[len(shape)-1]
	if b, err := d.RowBytes(k); err == nil {
		return rows * int64(b)
	}
	return rows * int64(k) * int64(d.Size())
}

// ForRows returns the type a matrix of rows of k elements is held in when
// d is asked for: d when k is a whole number of its blocks, else Float16
// (as llama.cpp's converter falls back for q8_0).
func (d DType) ForRows(k int) DType {
	if _, err := d.RowBytes(k); err != nil {
		return Float16
	}
	return d
}

// Parse returns the type named s (loom's name, an alias, or ggml's name in
// any case: "f32", "float32", "bf16", "q8_0", "Q4_K").
func Parse(s string) (DType, error) {
	ls := strings.ToLower(s)
	for d := Float32; d < count; d++ {
		in := table[d]
		if in.Name == ls || strings.ToLower(in.GGMLName) == ls {
			return d, nil
		}
		for _, a := range in.Aliases {
			if a == ls {
				return d, nil
			}
		}
	}
	return Invalid, fmt.Errorf("unknown dtype %q", s)
}

// FromGGML returns the type of a ggml_type number (false for a number
// without one: unknown, or removed from ggml).
func FromGGML(t uint32) (DType, bool) {
	for d := Float32; d < count; d++ {
		if table[d].GGML == int(t) {
			return d, true
		}
	}
	return Invalid, false
}

// FromSafetensors returns the type of a safetensors dtype spelling (false
// for one loom has no row for, such as BOOL or F8_E4M3).
func FromSafetensors(s string) (DType, bool) {
	for d := Float32; d < count; d++ {
		if s != "" && table[d].Safetensors == s {
			return d, true
		}
	}
	return Invalid, false
}

// All returns every type of the table, in its order.
func All() []DType {
	out := make([]DType, 0, count-1)
	for d := Float32; d < count; d++ {
		out = append(out, d)
	}
	return out
}

// Names lists the names of ds (for messages).
func Names(ds ...DType) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = d.Info().Name
	}
	return strings.Join(s, ", ")
}
