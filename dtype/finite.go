package dtype

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"
)

// NonFinite is what FindNonFinite found in a buffer: how many NaNs and
// infinities, and the first of them.
type NonFinite struct {
	// Count is the number of non-finite values: elements of a float type,
	// block scales of a block type.
	Count int
	// First is the index of the first non-finite element, -1 when there is
	// none. For a block type it is the first element of the first block
	// whose scale is non-finite.
	First int
	// Value is the first non-finite value: NaN, +Inf or -Inf.
	Value float64
	// Scale reports that the values counted are block scales.
	Scale bool
}

// Corrupt is the error for a tensor (named by where: "FILE: tensor NAME")
// of type d as stored in which nf found NaNs or infinities, nil if it
// found none: "FILE: tensor NAME: element 1234 is NaN, one of 3
// non-finite values (the file is corrupt)".
func (nf NonFinite) Corrupt(where string, d DType) error {
	if nf.Count == 0 {
		return nil
	}
	what := fmt.Sprintf("element %d is %s", nf.First, Describe(nf.Value))
	if nf.Scale {
		what = fmt.Sprintf("the scale of the %s block of elements %d to %d is %s", d.Info().Name, nf.First, nf.First+d.Info().Block-1, Describe(nf.Value))
	}
	more := ""
	if nf.Count > 1 {
		more = fmt.Sprintf(", one of %d non-finite values", nf.Count)
	}
	return fmt.Errorf("%s: %s%s (the file is corrupt)", where, what, more)
}

// Describe names a non-finite value: "NaN", "+Inf" or "-Inf".
func Describe(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case v > 0:
		return "+Inf"
	}
	return "-Inf"
}

// scaleKind is how a block type stores a scale.
type scaleKind uint8

const (
	scaleF16  scaleKind = iota + 1 // IEEE half, little-endian
	scaleF32                       // IEEE single, little-endian
	scaleE8M0                      // a power of two, 0xFF is NaN (MXFP4)
)

// scales lists where block types keep their scales (byte offsets within a
// block), as ggml-common.h lays the blocks out. Block types missing here
// (IQ1_M, NVFP4, Q1_0, Q2_0) are not checked.
var scales = map[DType]struct {
	kind scaleKind
	at   []int
}{
	Q8_0: {scaleF16, []int{0}}, Q4_0: {scaleF16, []int{0}}, Q4_1: {scaleF16, []int{0, 2}},
	Q5_0: {scaleF16, []int{0}}, Q5_1: {scaleF16, []int{0, 2}}, Q8_1: {scaleF16, []int{0, 2}},
	Q2_K: {scaleF16, []int{80, 82}}, Q3_K: {scaleF16, []int{108}}, Q4_K: {scaleF16, []int{0, 2}},
	Q5_K: {scaleF16, []int{0, 2}}, Q6_K: {scaleF16, []int{208}}, Q8_K: {scaleF32, []int{0}},
	IQ2_XXS: {scaleF16, []int{0}}, IQ2_XS: {scaleF16, []int{0}}, IQ3_XXS: {scaleF16, []int{0}},
	IQ1_S: {scaleF16, []int{0}}, IQ4_NL: {scaleF16, []int{0}}, IQ3_S: {scaleF16, []int{0}},
	IQ2_S: {scaleF16, []int{0}}, IQ4_XS: {scaleF16, []int{0}}, TQ1_0: {scaleF16, []int{52}},
	TQ2_0: {scaleF16, []int{64}}, MXFP4: {scaleE8M0, []int{0}},
}

// Checked reports whether FindNonFinite can check d: the float types, the
// integer types (always finite) and the block types whose scales it knows.
func (d DType) Checked() bool {
	switch d {
	case Float32, Float64, BFloat16, Float16, I8, I16, I32, I64:
		return true
	}
	_, ok := scales[d]
	return ok
}

// FindNonFinite scans b, values of type d as stored (little-endian; ggml's
// block layouts), for NaNs and infinities: every element of a float type,
// the scales of a block type (its quants are integers). ok is false when d
// is not Checked (nothing was looked at). A buffer of finite values takes
// one fast pass; only one holding a non-finite value is looked at again to
// count them.
func (d DType) FindNonFinite(b []byte) (nf NonFinite, ok bool) {
	nf.First = -1
	switch d {
	case Float32:
		if anyExpOnes(b, 0x7f800000_7f800000, 0x00800000_00800000, 0x80000000_80000000) {
			nf = scanPlain(b, 4, func(i int) (float64, bool) {
				v := math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
				return float64(v), isNonFinite(float64(v))
			})
		}
		return nf, true
	case Float64:
		if anyExpOnes(b, 0x7ff00000_00000000, 0x00100000_00000000, 0x80000000_00000000) {
			nf = scanPlain(b, 8, func(i int) (float64, bool) {
				v := math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
				return v, isNonFinite(v)
			})
		}
		return nf, true
	case Float16:
		if anyExpOnes(b, 0x7c00_7c00_7c00_7c00, 0x0400_0400_0400_0400, 0x8000_8000_8000_8000) {
			nf = scanPlain(b, 2, func(i int) (float64, bool) { return f16(b[2*i:]) })
		}
		return nf, true
	case BFloat16:
		if anyExpOnes(b, 0x7f80_7f80_7f80_7f80, 0x0080_0080_0080_0080, 0x8000_8000_8000_8000) {
			nf = scanPlain(b, 2, func(i int) (float64, bool) {
				v := math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
				return float64(v), isNonFinite(float64(v))
			})
		}
		return nf, true
	case I8, I16, I32, I64:
		return nf, true
	}
	s, found := scales[d]
	if !found {
		return nf, false
	}
	in := d.Info()
	nf.Scale = true
	for blk, off := 0, 0; off+in.BlockBytes <= len(b); blk, off = blk+1, off+in.BlockBytes {
		for _, at := range s.at {
			var v float64
			var bad bool
			switch s.kind {
			case scaleF16:
				v, bad = f16(b[off+at:])
			case scaleF32:
				v = float64(math.Float32frombits(binary.LittleEndian.Uint32(b[off+at:])))
				bad = isNonFinite(v)
			case scaleE8M0:
				v, bad = math.NaN(), b[off+at] == 0xff
			}
			if bad {
				if nf.Count == 0 {
					nf.First, nf.Value = blk*in.Block, v
				}
				nf.Count++
			}
		}
	}
	return nf, true
}

// FindNonFiniteF32 is Float32.FindNonFinite of the bytes of v.
func FindNonFiniteF32(v []float32) NonFinite {
	if len(v) == 0 {
		return NonFinite{First: -1}
	}
	nf, _ := Float32.FindNonFinite(unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v)))
	return nf
}

func isNonFinite(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }

// f16 returns the half at b[0:2] if it is non-finite.
func f16(b []byte) (float64, bool) {
	h := binary.LittleEndian.Uint16(b)
	if h&0x7c00 != 0x7c00 {
		return 0, false
	}
	switch {
	case h&0x03ff != 0:
		return math.NaN(), true
	case h&0x8000 != 0:
		return math.Inf(-1), true
	}
	return math.Inf(1), true
}

// scanPlain counts the non-finite elements of b (size bytes each), bad
// telling whether element i is one.
func scanPlain(b []byte, size int, bad func(i int) (float64, bool)) NonFinite {
	nf := NonFinite{First: -1}
	for i := range len(b) / size {
		if v, ok := bad(i); ok {
			if nf.Count == 0 {
				nf.First, nf.Value = i, v
			}
			nf.Count++
		}
	}
	return nf
}

// anyExpOnes reports whether some lane of b has every exponent bit set (a
// NaN or an infinity), eight bytes at a time: mask keeps each lane's
// exponent bits, and adding add (its lowest exponent bit) carries into the
// lane's top bit (top) exactly when all of them were set. Lanes never carry
// into each other. A tail shorter than eight bytes is padded with zeros.
func anyExpOnes(b []byte, mask, add, top uint64) bool {
	le := binary.LittleEndian
	var acc uint64
	for len(b) >= 32 {
		acc |= le.Uint64(b[0:8])&mask + add
		acc |= le.Uint64(b[8:16])&mask + add
		acc |= le.Uint64(b[16:24])&mask + add
		acc |= le.Uint64(b[24:32])&mask + add
		b = b[32:]
	}
	for len(b) >= 8 {
		acc |= le.Uint64(b)&mask + add
		b = b[8:]
	}
	if len(b) > 0 {
		var tail [8]byte
		copy(tail[:], b)
		acc |= le.Uint64(tail[:])&mask + add
	}
	return acc&top != 0
}
