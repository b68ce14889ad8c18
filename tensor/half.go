package tensor

import "math"

// Conversions between float32 and the two 16-bit floating-point formats used by
// checkpoints: bfloat16 (8-bit exponent, 7-bit mantissa) and IEEE 754 binary16
// ("half", 5-bit exponent, 10-bit mantissa). Narrowing rounds to nearest, ties to
// even, as PyTorch does; NaN stays NaN (quiet), infinities and signed zeros are
// kept, and binary16 subnormals are produced and read exactly.

// BF16FromFloat32 returns the bfloat16 bit pattern nearest to f.
func BF16FromFloat32(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 { // NaN: keep the sign, force a quiet NaN
		return uint16(b>>16) | 0x0040
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// Float32FromBF16 widens a bfloat16 bit pattern exactly.
func Float32FromBF16(h uint16) float32 {
	return math.Float32frombits(uint32(h) << 16)
}

// F16FromFloat32 returns the IEEE binary16 bit pattern nearest to f. Values
// beyond the largest finite half (65504) round to infinity as IEEE requires.
func F16FromFloat32(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	switch {
	case e >= 0x1f:
		return sign | 0x7c00
	case e <= 0:
		if e < -10 {
			return sign // below half the smallest subnormal
		}
		m := mant | 0x800000
		s := uint(14 - e)
		h := m >> s
		rem := m & (1<<s - 1)
		half := uint32(1) << (s - 1)
		if rem > half || (rem == half && h&1 == 1) {
			h++
		}
		return sign | uint16(h)
	}
	h := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && h&1 == 1) {
		h++ // a carry into the exponent is the correct result, up to infinity
	}
	return sign | uint16(h)
}

// Float32FromF16 widens an IEEE binary16 bit pattern exactly.
func Float32FromF16(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch exp {
	case 0:
		v := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			v = -v
		}
		return v
	case 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	}
	return math.Float32frombits(sign | (exp-15+127)<<23 | mant<<13)
}

// BF16Slice narrows src into dst (len(dst) must be at least len(src)).
func BF16Slice(dst []uint16, src []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = BF16FromFloat32(v)
	}
}

// F16Slice narrows src into dst (len(dst) must be at least len(src)).
func F16Slice(dst []uint16, src []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = F16FromFloat32(v)
	}
}

// Float32FromBF16Slice widens src into dst.
func Float32FromBF16Slice(dst []float32, src []uint16) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = Float32FromBF16(v)
	}
}

// Float32FromF16Slice widens src into dst.
func Float32FromF16Slice(dst []float32, src []uint16) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = Float32FromF16(v)
	}
}
