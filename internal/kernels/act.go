package kernels

// Vectorised activations for float32 slices. Each has a plain-Go fallback
// with the same formulas (using ExpF32), used on CPUs without AVX-512 and
// for the tails the assembly does not cover.

import "math"

// Silu sets dst[i] = x[i]·σ(x[i]).
func Silu(dst, x []float32) {
	dst = dst[:len(x)]
	if len(x) > 0 && useAVX512 {
		siluAVX512(&dst[0], &x[0], len(x))
		return
	}
	for i, v := range x {
		dst[i] = v * sigmoid32(v)
	}
}

// SiluGrad sets dst[i] = g[i]·d/dx SiLU(x[i]) = g·σ(x)·(1 + x·(1−σ(x))).
func SiluGrad(dst, x, g []float32) {
	dst, g = dst[:len(x)], g[:len(x)]
	if len(x) > 0 && useAVX512 {
		siluGradAVX512(&dst[0], &x[0], &g[0], len(x))
		return
	}
	for i, v := range x {
		s := sigmoid32(v)
		dst[i] = g[i] * s * (1 + v*(1-s))
	}
}

const (
	geluC  = 0.7978845608028654 // √(2/π)
	geluA  = 0.044715
	geluC2 = 2 * geluC
)

// GeluTanh sets dst[i] to the tanh-approximated GELU of x[i], computed as
// x·σ(2u) with u = √(2/π)·(x + 0.044715·x³) (equal to 0.5·x·(1+tanh u)).
func GeluTanh(dst, x []float32) {
	dst = dst[:len(x)]
	if len(x) > 0 && useAVX512 {
		geluTanhAVX512(&dst[0], &x[0], len(x))
		return
	}
	for i, v := range x {
		dst[i] = v * sigmoid32(geluC2*v*(1+geluA*v*v))
	}
}

// GeluTanhGrad sets dst[i] = g[i]·d/dx GELU_tanh(x[i]).
func GeluTanhGrad(dst, x, g []float32) {
	dst, g = dst[:len(x)], g[:len(x)]
	if len(x) > 0 && useAVX512 {
		geluTanhGradAVX512(&dst[0], &x[0], &g[0], len(x))
		return
	}
	for i, v := range x {
		s := sigmoid32(geluC2 * v * (1 + geluA*v*v))
		du := geluC2 * (1 + 3*geluA*v*v)
		dst[i] = g[i] * (s + v*s*(1-s)*du)
	}
}

func sigmoid32(z float32) float32 { return 1 / (1 + ExpF32(-z)) }

// Erf coefficients of Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e-7).
const (
	erfP     = 0.3275911
	erfA1    = 0.254829592
	erfA2    = -0.284496736
	erfA3    = 1.421413741
	erfA4    = -1.453152027
	erfA5    = 1.061405429
	rsqrt2   = 0.7071067811865476 // 1/√2
	rsqrt2pi = 0.3989422804014327 // 1/√(2π)
)

// Gelu sets dst[i] to the exact (erf) GELU x·Φ(x), with erf evaluated to
// 1.5e-7 (PyTorch's F.gelu default).
func Gelu(dst, x []float32) {
	dst = dst[:len(x)]
	if len(x) > 0 && useAVX512 {
		geluErfAVX512(&dst[0], &x[0], len(x))
		return
	}
	var e [geluBlock]float32
	for lo := 0; lo < len(x); lo += geluBlock {
		xs := x[lo:min(len(x), lo+geluBlock)]
		gaussBlock(e[:len(xs)], xs)
		for i, v := range xs {
			dst[lo+i] = v * phi32(v, e[i])
		}
	}
}

// GeluGrad sets dst[i] = g[i]·(Φ(x) + x·φ(x)), the exact GELU's derivative.
func GeluGrad(dst, x, g []float32) {
	dst, g = dst[:len(x)], g[:len(x)]
	if len(x) > 0 && useAVX512 {
		geluErfGradAVX512(&dst[0], &x[0], &g[0], len(x))
		return
	}
	var e [geluBlock]float32
	for lo := 0; lo < len(x); lo += geluBlock {
		xs := x[lo:min(len(x), lo+geluBlock)]
		gaussBlock(e[:len(xs)], xs)
		for i, v := range xs {
			dst[lo+i] = g[lo+i] * (phi32(v, e[i]) + v*rsqrt2pi*e[i])
		}
	}
}

// geluBlock is how many e^{−x²/2} the GELU kernels compute at a time with
// the vector exp.
const geluBlock = 256

// gaussBlock sets e[i] = e^{−x[i]²/2} with the vector exp.
func gaussBlock(e, x []float32) {
	for i, v := range x {
		z := v * rsqrt2
		e[i] = -z * z
	}
	ExpSum(e, e, 1, 0)
}

// phi32 returns Φ(v) = ½(1 + erf(v/√2)) given e = e^{−v²/2}, as
// ½·erfc(|v|/√2) for v < 0 and 1 − ½·erfc(v/√2) otherwise (so the left
// tail keeps its relative precision), the formula of geluErfAVX512.
func phi32(v, e float32) float32 {
	a := v * rsqrt2
	if a < 0 {
		a = -a
	}
	t := 1 / (1 + erfP*a)
	h := 0.5 * (((((erfA5*t+erfA4)*t+erfA3)*t+erfA2)*t + erfA1) * t * e)
	if math.Signbit(float64(v)) {
		return h
	}
	return 1 - h
}
