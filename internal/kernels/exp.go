package kernels

import "math"

// ExpSum sets dst[i] = exp(src[i]·scale − shift) for every i and returns
// the sum of the results (summed in float32 in a fixed order, so it is
// reproducible). It is the inner loop of softmax: with shift the row maximum
// times scale, every result is in [0, 1]. −Inf inputs give exactly 0; NaN
// propagates. The relative error is about 1e-7 (a few ulp). dst and src may
// be the same slice.
func ExpSum(dst, src []float32, scale, shift float32) float32 {
	dst = dst[:len(src)]
	return expSum(dst, src, scale, shift)
}

// ExpF32 is the scalar form of ExpSum's exp (same polynomial), for tails
// and for CPUs without the vector kernels.
func ExpF32(x float32) float32 {
	if x != x {
		return x
	}
	if x < -104 {
		return 0
	}
	if x > 89 {
		return float32(math.Inf(1))
	}
	p, n := expParts(x)
	if e := int32(n); e >= -125 && e <= 127 {
		// p·2ⁿ with 2ⁿ built from its bits: exact while the result is a
		// normal float32, so it equals the Ldexp below.
		return p * math.Float32frombits(uint32(e+127)<<23)
	}
	return float32(math.Ldexp(float64(p), int(n)))
}

// expParts splits e^x into p·2ⁿ: n = round(x·log₂e) and p the polynomial
// of the remainder, in [½, 2).
func expParts(x float32) (p, n float32) {
	n = float32(math.RoundToEven(float64(x * 1.442695)))
	r := x - n*0.693359375
	r = r + n*2.12194440e-4
	p = float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	return p*(r*r) + r + 1, n
}

func expSumGo(dst, src []float32, scale, shift float32) float32 {
	var s float32
	for i, v := range src {
		e := ExpF32(v*scale - shift)
		dst[i] = e
		s += e
	}
	return s
}
