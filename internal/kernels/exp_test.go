package kernels

import (
	"math"
	"testing"
)

// expPaths lists the implementations of ExpSum this machine can run.
func expPaths() map[string]func(dst, src []float32, scale, shift float32) float32 {
	paths := map[string]func(dst, src []float32, scale, shift float32) float32{"go": expSumGo, "dispatch": ExpSum}
	addAsmExpPaths(paths)
	return paths
}

func ulpDiff(a, b float32) float64 {
	if a == b {
		return 0
	}
	return math.Abs(float64(a)-float64(b)) / math.Abs(float64(b)) / 0x1p-23
}

func TestExpSumAccuracy(t *testing.T) {
	var src []float32
	for x := -90.0; x <= 80; x += 0.0137 {
		src = append(src, float32(x))
	}
	for name, f := range expPaths() {
		t.Run(name, func(t *testing.T) {
			dst := make([]float32, len(src))
			sum := f(dst, src, 1, 0)
			var want float64
			worst := 0.0
			for i, x := range src {
				e := math.Exp(float64(x))
				want += e
				if e < 1.2e-38 { // below the normal range the AVX2 path flushes to 0
					continue
				}
				if u := ulpDiff(dst[i], float32(e)); u > worst {
					worst = u
				}
			}
			if worst > 4 {
				t.Fatalf("worst error %.1f ulp", worst)
			}
			if math.Abs(float64(sum)-want) > 1e-5*want {
				t.Fatalf("sum %v, want %v", sum, want)
			}
		})
	}
}

func TestExpSumSpecialValues(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	src := []float32{float32(math.Inf(-1)), -200, -104.5, 0, 1, inf, nan, 0.5, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, -1}
	for name, f := range expPaths() {
		t.Run(name, func(t *testing.T) {
			dst := make([]float32, len(src))
			f(dst, src, 1, 0)
			if dst[0] != 0 || dst[1] != 0 || dst[2] != 0 {
				t.Errorf("exp of -Inf, -200, -104.5 = %v, want exact zeros", dst[:3])
			}
			if dst[3] != 1 {
				t.Errorf("exp(0) = %v", dst[3])
			}
			if name != "avx2" && name != "dispatch-avx2" && !math.IsInf(float64(dst[5]), 1) {
				t.Errorf("exp(+Inf) = %v", dst[5])
			}
			if dst[6] == dst[6] {
				t.Errorf("exp(NaN) = %v", dst[6])
			}
		})
	}
}

// TestExpSumScaleShift checks the fused affine map and lengths around the
// vector widths.
func TestExpSumScaleShift(t *testing.T) {
	for name, f := range expPaths() {
		for n := 0; n < 40; n++ {
			src := make([]float32, n)
			for i := range src {
				src[i] = float32(i%7) - 3
			}
			dst := make([]float32, n)
			sum := f(dst, src, 0.5, 1.25)
			var want float64
			for i, x := range src {
				e := math.Exp(float64(x)*0.5 - 1.25)
				want += e
				if ulpDiff(dst[i], float32(e)) > 4 {
					t.Fatalf("%s n=%d: dst[%d] = %v, want %v", name, n, i, dst[i], e)
				}
			}
			if math.Abs(float64(sum)-want) > 1e-6*(want+1) {
				t.Fatalf("%s n=%d: sum %v, want %v", name, n, sum, want)
			}
		}
	}
}

func BenchmarkExpSum(b *testing.B) {
	src := make([]float32, 4096)
	for i := range src {
		src[i] = float32(i%100) * -0.1
	}
	dst := make([]float32, len(src))
	for name, f := range expPaths() {
		b.Run(name, func(b *testing.B) {
			for range b.N {
				f(dst, src, 1, 0)
			}
			b.SetBytes(4 * int64(len(src)))
		})
	}
}

// ExpF32's bit-built power of two equals the float64 Ldexp it replaced,
// across the whole finite range.
func TestExpF32Ldexp(t *testing.T) {
	ref := func(x float32) float32 {
		p, n := expParts(x)
		return float32(math.Ldexp(float64(p), int(n)))
	}
	for x := float32(-103.9); x < 88.9; x += 0.0137 {
		if got, want := ExpF32(x), ref(x); got != want {
			t.Fatalf("ExpF32(%v) = %v, want %v", x, got, want)
		}
	}
}
