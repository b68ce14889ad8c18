package kernels

// Vectorised activations for float32 slices. Each has a plain-Go fallback
// with the same formulas (using ExpF32), used on CPUs without AVX-512 and
// for the tails the assembly does not cover.

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
