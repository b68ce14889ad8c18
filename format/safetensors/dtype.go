package safetensors

import "strings"

// DType is the element type of a tensor, spelled as in the file header.
type DType string

// The element types defined by the safetensors format.
const (
	BOOL    DType = "BOOL"    // boolean, one byte holding 0 or 1
	U8      DType = "U8"      // unsigned 8-bit integer
	I8      DType = "I8"      // signed 8-bit integer
	I16     DType = "I16"     // signed 16-bit integer
	U16     DType = "U16"     // unsigned 16-bit integer
	F16     DType = "F16"     // IEEE 754 binary16 ("half")
	BF16    DType = "BF16"    // bfloat16: the top 16 bits of a binary32
	I32     DType = "I32"     // signed 32-bit integer
	U32     DType = "U32"     // unsigned 32-bit integer
	F32     DType = "F32"     // IEEE 754 binary32
	F64     DType = "F64"     // IEEE 754 binary64
	I64     DType = "I64"     // signed 64-bit integer
	U64     DType = "U64"     // unsigned 64-bit integer
	F8_E4M3 DType = "F8_E4M3" // 8-bit float, 4 exponent and 3 mantissa bits, no infinities ("E4M3FN")
	F8_E5M2 DType = "F8_E5M2" // 8-bit float, 5 exponent and 2 mantissa bits (the top byte of an F16)
)

// DTypes lists every dtype this package knows, in increasing size.
var DTypes = []DType{BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64}

// Size returns the size of one element of d in bytes, or 0 if d is not a
// known dtype.
func (d DType) Size() int {
	switch d {
	case BOOL, U8, I8, F8_E4M3, F8_E5M2:
		return 1
	case I16, U16, F16, BF16:
		return 2
	case I32, U32, F32:
		return 4
	case F64, I64, U64:
		return 8
	}
	return 0
}

// Valid reports whether d is one of the dtypes defined by the format.
func (d DType) Valid() bool { return d.Size() != 0 }

// String returns the dtype as it is spelled in the header.
func (d DType) String() string { return string(d) }

// dtypeList is the list of known dtypes for error messages.
func dtypeList() string {
	s := make([]string, len(DTypes))
	for i, d := range DTypes {
		s[i] = string(d)
	}
	return strings.Join(s, ", ")
}
