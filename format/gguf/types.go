package gguf

import (
	"fmt"
	"math"

	"github.com/loomml/loom/dtype"
)

// Type is a tensor element type, a ggml_type, numbered as in ggml.h.
// Quantized types store their elements in blocks: BlockSize elements take
// TypeSize bytes.
type Type uint32

// The ggml tensor types. The numbers are those of enum ggml_type in ggml.h;
// the gaps (4, 5, 31-33, 36-38) are types whose support has been removed
// from ggml and which GGUF files can no longer hold.
const (
	F32     Type = 0
	F16     Type = 1
	Q4_0    Type = 2
	Q4_1    Type = 3
	Q4_2    Type = 4 // removed from ggml; not accepted in files
	Q4_3    Type = 5 // removed from ggml; not accepted in files
	Q5_0    Type = 6
	Q5_1    Type = 7
	Q8_0    Type = 8
	Q8_1    Type = 9
	Q2_K    Type = 10
	Q3_K    Type = 11
	Q4_K    Type = 12
	Q5_K    Type = 13
	Q6_K    Type = 14
	Q8_K    Type = 15
	IQ2_XXS Type = 16
	IQ2_XS  Type = 17
	IQ3_XXS Type = 18
	IQ1_S   Type = 19
	IQ4_NL  Type = 20
	IQ3_S   Type = 21
	IQ2_S   Type = 22
	IQ4_XS  Type = 23
	I8      Type = 24
	I16     Type = 25
	I32     Type = 26
	I64     Type = 27
	F64     Type = 28
	IQ1_M   Type = 29
	BF16    Type = 30
	// Q4_0_4_4, Q4_0_4_8 and Q4_0_8_8 were removed from GGUF files.
	Q4_0_4_4 Type = 31
	Q4_0_4_8 Type = 32
	Q4_0_8_8 Type = 33
	TQ1_0    Type = 34
	TQ2_0    Type = 35
	// IQ4_NL_4_4, IQ4_NL_4_8 and IQ4_NL_8_8 were removed from GGUF files.
	IQ4_NL_4_4 Type = 36
	IQ4_NL_4_8 Type = 37
	IQ4_NL_8_8 Type = 38
	MXFP4      Type = 39
	NVFP4      Type = 40
	Q1_0       Type = 41
	Q2_0       Type = 42
)

// typeCount is one past the largest ggml_type number this package knows
// (GGML_TYPE_COUNT).
const typeCount = 43

// removedNames names the type numbers whose support was removed from ggml;
// GGUF files can no longer hold them. Every other type's name and block
// layout come from package dtype's table.
var removedNames = map[Type]string{Q4_2: "Q4_2", Q4_3: "Q4_3", Q4_0_4_4: "Q4_0_4_4", Q4_0_4_8: "Q4_0_4_8",
	Q4_0_8_8: "Q4_0_8_8", IQ4_NL_4_4: "IQ4_NL_4_4", IQ4_NL_4_8: "IQ4_NL_4_8", IQ4_NL_8_8: "IQ4_NL_8_8"}

// DType returns the row of loom's type table for t (false for a number
// that ggml does not define or has removed).
func (t Type) DType() (dtype.DType, bool) { return dtype.FromGGML(uint32(t)) }

// TypeOf returns the GGUF tensor type of d (false when GGUF cannot hold d).
func TypeOf(d dtype.DType) (Type, bool) {
	if g := d.Info().GGML; g >= 0 {
		return Type(g), true
	}
	return 0, false
}

// String returns the type's name as in ggml.h without the GGML_TYPE_ prefix
// ("F32", "Q8_0", "BF16"), or "Type(N)" for a number ggml does not define.
func (t Type) String() string {
	if d, ok := t.DType(); ok {
		return d.Info().GGMLName
	}
	if n, ok := removedNames[t]; ok {
		return n
	}
	return fmt.Sprintf("Type(%d)", uint32(t))
}

// BlockSize returns the number of elements in one block of t: 1 for the
// plain types (F32, F16, BF16, I8 ... F64), 32 for Q8_0, 256 for the K
// quants, and so on. It returns 0 for a type that is unknown or whose
// support was removed from ggml.
func (t Type) BlockSize() int {
	d, _ := t.DType()
	return d.Info().Block
}

// TypeSize returns the number of bytes of one block of t (4 for F32, 2 for
// F16 and BF16, 34 for Q8_0, ...), or 0 if t is unknown or removed.
func (t Type) TypeSize() int {
	d, _ := t.DType()
	return d.Info().BlockBytes
}

// Known reports whether t is a type that GGUF files can hold: one that ggml
// defines and still supports.
func (t Type) Known() bool { return t.BlockSize() != 0 }

// removed reports whether t is a number ggml once used for a type whose
// support has since been removed.
func (t Type) removed() bool { _, ok := removedNames[t]; return ok }

// describe returns the type for error messages: its name, and its number
// when that helps ("type 99", "type 4 (Q4_2, removed from ggml)").
func (t Type) describe() string {
	switch {
	case t.removed():
		return fmt.Sprintf("type %d (%s), whose support was removed from ggml", uint32(t), t)
	case t >= typeCount:
		return fmt.Sprintf("type %d, which is not a ggml type (known types are 0 to %d)", uint32(t), typeCount-1)
	}
	return t.String()
}

// RowBytes returns the number of bytes that n elements of type t take. It
// fails if t is unknown or removed, if n is negative or not a multiple of
// t's block size, or if the size overflows an int.
func (t Type) RowBytes(n int) (int, error) {
	bs, ts := t.BlockSize(), t.TypeSize()
	if bs == 0 {
		return 0, fmt.Errorf("gguf: %s has no known block layout", t.describe())
	}
	if n < 0 {
		return 0, fmt.Errorf("gguf: %d elements of %s: the count must be non-negative", n, t)
	}
	if n%bs != 0 {
		return 0, fmt.Errorf("gguf: %d elements of %s: not a multiple of its block size %d", n, t, bs)
	}
	blocks := n / bs
	if blocks > math.MaxInt/ts {
		return 0, fmt.Errorf("gguf: %d elements of %s take more bytes than fit in an int", n, t)
	}
	return blocks * ts, nil
}

// ValueType is the type of a metadata value, a gguf_metadata_value_type.
type ValueType uint32

// The metadata value types, numbered as in the GGUF specification.
const (
	ValueUint8   ValueType = 0
	ValueInt8    ValueType = 1
	ValueUint16  ValueType = 2
	ValueInt16   ValueType = 3
	ValueUint32  ValueType = 4
	ValueInt32   ValueType = 5
	ValueFloat32 ValueType = 6
	ValueBool    ValueType = 7
	ValueString  ValueType = 8
	ValueArray   ValueType = 9
	ValueUint64  ValueType = 10
	ValueInt64   ValueType = 11
	ValueFloat64 ValueType = 12
)

// valueTypeCount is one past the largest value type.
const valueTypeCount = 13

var valueTypeNames = [valueTypeCount]string{
	"UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32", "FLOAT32",
	"BOOL", "STRING", "ARRAY", "UINT64", "INT64", "FLOAT64",
}

// String returns the value type's name as in the specification without the
// GGUF_METADATA_VALUE_TYPE_ prefix ("UINT32", "STRING"), or "ValueType(N)".
func (v ValueType) String() string {
	if v < valueTypeCount {
		return valueTypeNames[v]
	}
	return fmt.Sprintf("ValueType(%d)", uint32(v))
}

// Valid reports whether v is one of the 13 value types of the
// specification.
func (v ValueType) Valid() bool { return v < valueTypeCount }

// size returns the encoded size of one value of v, or 0 for STRING and
// ARRAY, whose size varies.
func (v ValueType) size() int {
	switch v {
	case ValueUint8, ValueInt8, ValueBool:
		return 1
	case ValueUint16, ValueInt16:
		return 2
	case ValueUint32, ValueInt32, ValueFloat32:
		return 4
	case ValueUint64, ValueInt64, ValueFloat64:
		return 8
	}
	return 0
}

// minSize returns the fewest bytes one value of v can take: its size, 8 for
// a string (the length) and 12 for an array (element type and length).
func (v ValueType) minSize() int {
	switch v {
	case ValueString:
		return 8
	case ValueArray:
		return 12
	}
	return v.size()
}

// ValueTypeOf returns the GGUF value type of a Go value as Parse returns it and
// Writer.Add accepts it, and for an array the type of its elements: uint32
// gives (ValueUint32, 0), []string gives (ValueArray, ValueString), and a
// nested array ([]any) gives (ValueArray, ValueArray). ok is false for any
// other Go type.
func ValueTypeOf(v any) (typ, elem ValueType, ok bool) {
	switch v.(type) {
	case uint8:
		return ValueUint8, 0, true
	case int8:
		return ValueInt8, 0, true
	case uint16:
		return ValueUint16, 0, true
	case int16:
		return ValueInt16, 0, true
	case uint32:
		return ValueUint32, 0, true
	case int32:
		return ValueInt32, 0, true
	case float32:
		return ValueFloat32, 0, true
	case bool:
		return ValueBool, 0, true
	case string:
		return ValueString, 0, true
	case uint64:
		return ValueUint64, 0, true
	case int64:
		return ValueInt64, 0, true
	case float64:
		return ValueFloat64, 0, true
	case []uint8:
		return ValueArray, ValueUint8, true
	case []int8:
		return ValueArray, ValueInt8, true
	case []uint16:
		return ValueArray, ValueUint16, true
	case []int16:
		return ValueArray, ValueInt16, true
	case []uint32:
		return ValueArray, ValueUint32, true
	case []int32:
		return ValueArray, ValueInt32, true
	case []float32:
		return ValueArray, ValueFloat32, true
	case []bool:
		return ValueArray, ValueBool, true
	case []string:
		return ValueArray, ValueString, true
	case []uint64:
		return ValueArray, ValueUint64, true
	case []int64:
		return ValueArray, ValueInt64, true
	case []float64:
		return ValueArray, ValueFloat64, true
	case []any:
		return ValueArray, ValueArray, true
	}
	return 0, 0, false
}

// describeValue names the GGUF type of a Go value for error messages:
// "UINT32", "ARRAY[STRING]", or the Go type when it has no GGUF type.
func describeValue(v any) string {
	t, e, ok := ValueTypeOf(v)
	switch {
	case !ok:
		return fmt.Sprintf("Go type %T", v)
	case t == ValueArray:
		return "ARRAY[" + e.String() + "]"
	}
	return t.String()
}
