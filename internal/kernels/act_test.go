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
		{"gelu", Gelu, GeluGrad, func(x float64) (float64, float64) {
			cdf := 0.5 * math.Erfc(-x/math.Sqrt2)
			return x * cdf, cdf + x*math.Exp(-x*x/2)/math.Sqrt(2*math.Pi)
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

// TestGeluErf checks the exact GELU and its derivative on a fine grid, on
// the vector and plain-Go paths, against float64's erf: absolutely to 2e-6
// (scaled by |x| beyond 1; Abramowitz & Stegun's erf is accurate to 1.5e-7
// absolutely, not relatively in the far tail). The two paths must also
// agree with each other (the assembly fuses multiply-adds, so not bit for
// bit): GELU to 1e-6 relative, its derivative, a difference of two terms,
// to that plus 2e-7·max(1, |x|).
func TestGeluErf(t *testing.T) {
	var x []float32
	for v := -12.0; v <= 12; v += 0.001 {
		x = append(x, float32(v))
	}
	g := make([]float32, len(x))
	for i := range g {
		g[i] = 1
	}
	saved := useAVX512
	defer func() { setAVX512(saved) }()
	paths := map[bool][2][]float32{}
	for _, vec := range []bool{false, saved} {
		setAVX512(vec)
		y, d := make([]float32, len(x)), make([]float32, len(x))
		Gelu(y, x)
		GeluGrad(d, x, g)
		paths[vec] = [2][]float32{y, d}
		for i, v := range x {
			f := float64(v)
			cdf := 0.5 * math.Erfc(-f/math.Sqrt2)
			if e := math.Abs(float64(y[i]) - f*cdf); e > 2e-6*math.Max(1, math.Abs(f)) {
				t.Fatalf("vec=%v: GELU(%v) = %v, want %v", vec, v, y[i], f*cdf)
			}
			want := cdf + f*math.Exp(-f*f/2)/math.Sqrt(2*math.Pi)
			if e := math.Abs(float64(d[i]) - want); e > 2e-6*math.Max(1, math.Abs(f)) {
				t.Fatalf("vec=%v: GELU'(%v) = %v, want %v", vec, v, d[i], want)
			}
		}
	}
	if saved {
		for k, name := range []string{"GELU", "GELU'"} {
			a, b := paths[false][k], paths[true][k]
			for i := range a {
				if d := math.Abs(float64(a[i]) - float64(b[i])); d > 1e-6*math.Abs(float64(a[i]))+2e-7*math.Max(1, math.Abs(float64(x[i])))*float64(k)+1e-12 {
					t.Fatalf("%s(%v): plain Go %v, AVX-512 %v", name, x[i], a[i], b[i])
				}
			}
		}
	}
}

// BenchmarkGelu compares the exact GELU's vector and plain-Go paths.
func BenchmarkGelu(b *testing.B) {
	x := make([]float32, 1<<16)
	for i := range x {
		x[i] = float32(i%200)*0.05 - 5
	}
	y := make([]float32, len(x))
	saved := useAVX512
	defer func() { setAVX512(saved) }()
	for _, vec := range []bool{false, saved} {
		name := "go"
		if vec {
			name = "avx512"
		}
		b.Run(name, func(b *testing.B) {
			setAVX512(vec)
			b.SetBytes(4 << 16)
			for range b.N {
				Gelu(y, x)
			}
		})
		if !saved {
			break
		}
	}
}
