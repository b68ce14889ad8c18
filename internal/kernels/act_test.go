package kernels

import (
	"math"
	"testing"
)

func refSigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

// TestActivations compares the float32 kernels (vector and fallback paths)
// with float64 formulas, including lengths around the vector width and
// large magnitudes.
func TestActivations(t *testing.T) {
	type fn struct {
		name string
		fwd  func(dst, x []float32)
		bwd  func(dst, x, g []float32)
		ref  func(x float64) (y, dy float64)
	}
	fns := []fn{
		{"silu", Silu, SiluGrad, func(x float64) (float64, float64) {
			s := refSigmoid(x)
			return x * s, s * (1 + x*(1-s))
		}},
		{"gelu_tanh", GeluTanh, GeluTanhGrad, func(x float64) (float64, float64) {
			u := geluC * (x + geluA*x*x*x)
			th := math.Tanh(u)
			return 0.5 * x * (1 + th), 0.5*(1+th) + 0.5*x*(1-th*th)*geluC*(1+3*geluA*x*x)
		}},
	}
	saved := useAVX512
	defer func() { setAVX512(saved) }()
	for _, vec := range []bool{false, saved} {
		setAVX512(vec)
		for _, f := range fns {
			for _, n := range []int{1, 15, 16, 17, 100, 1000} {
				x, g := make([]float32, n), make([]float32, n)
				for i := range x {
					x[i] = float32(math.Sin(float64(i)*1.3)) * float32(1+i%30)
					g[i] = float32(math.Cos(float64(i)))
				}
				y, dx := make([]float32, n), make([]float32, n)
				f.fwd(y, x)
				f.bwd(dx, x, g)
				for i := range x {
					wy, wd := f.ref(float64(x[i]))
					wd *= float64(g[i])
					if math.Abs(float64(y[i])-wy) > 1e-6*(1+math.Abs(wy)) || math.Abs(float64(dx[i])-wd) > 2e-6*(1+math.Abs(wd)) {
						t.Fatalf("%s vec=%v n=%d x=%v: y %v (want %v), dx %v (want %v)", f.name, vec, n, x[i], y[i], wy, dx[i], wd)
					}
				}
			}
		}
	}
}

func BenchmarkGeluTanh(b *testing.B) {
	x := make([]float32, 1<<16)
	for i := range x {
		x[i] = float32(i%200)*0.05 - 5
	}
	y := make([]float32, len(x))
	for range b.N {
		GeluTanh(y, x)
	}
	b.SetBytes(4 << 16)
}

func TestGeluErf(t *testing.T) {
	var x []float32
	for v := -12.0; v <= 12; v += 0.001 {
		x = append(x, float32(v))
	}
	y, d := make([]float32, len(x)), make([]float32, len(x))
	g := make([]float32, len(x))
	for i := range g {
		g[i] = 1
	}
	Gelu(y, x)
	GeluGrad(d, x, g)
	for i, v := range x {
		f := float64(v)
		cdf := 0.5 * (1 + math.Erf(f/math.Sqrt2))
		if e := math.Abs(float64(y[i]) - f*cdf); e > 2e-6*math.Max(1, math.Abs(f)) {
			t.Fatalf("GELU(%v) = %v, want %v", v, y[i], f*cdf)
		}
		want := cdf + f*math.Exp(-f*f/2)/math.Sqrt(2*math.Pi)
		if e := math.Abs(float64(d[i]) - want); e > 2e-6*math.Max(1, math.Abs(f)) {
			t.Fatalf("GELU'(%v) = %v, want %v", v, d[i], want)
		}
	}
}
