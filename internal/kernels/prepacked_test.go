package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestMatMulPacked: a product with a pre-packed weight gives, bit for bit,
// what the packed kernel gives when it packs the weight itself, row by row
// alone or all rows together, at any thread count; and it is the product
// (against the float64 reference).
func TestMatMulPacked(t *testing.T) {
	p, ok := kernel().(*packedKernel)
	if !ok {
		if PackWeight([]float32{1}, 1, 1, 1) != nil {
			t.Fatal("PackWeight packed for a kernel without packed panels")
		}
		t.Skip("the kernel in use does not pack")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	fill := func(n int) []float32 { return normals(rng, n) }
	for _, c := range []struct{ m, n, k int }{{1, 64, 8}, {1, 1408, 512}, {3, 100, 7}, {5, 129, 517}, {16, 512, 512}, {33, 70, 1408}, {100, 300, 2100}, {7, 4100, 33}} {
		a, w := fill(c.m*c.k), fill(c.n*c.k)
		pw := PackWeight(w, c.n, c.k, c.k)
		want := make([]float32, c.m*c.n)
		p.serial(false, true, c.m, c.n, c.k, 1, a, c.k, w, c.k, 0, want, c.n)
		ref := make([]float64, c.m*c.n)
		a64, w64 := make([]float64, len(a)), make([]float64, len(w))
		for i, v := range a {
			a64[i] = float64(v)
		}
		for i, v := range w {
			w64[i] = float64(v)
		}
		GemmRef(false, true, c.m, c.n, c.k, 1, a64, c.k, w64, c.k, 0, ref, c.n)
		for i, v := range want {
			if d := math.Abs(float64(v) - ref[i]); d > 1e-4*math.Sqrt(float64(c.k))*(1+math.Abs(ref[i])) {
				t.Fatalf("m %d n %d k %d: element %d is %v, reference %v", c.m, c.n, c.k, i, v, ref[i])
			}
		}
		for _, threads := range []int{1, 2, 3} {
			got := fill(c.m * c.n) // overwritten, not added to
			MatMulPacked(threads, c.m, a, c.k, pw, got, c.n)
			one := make([]float32, c.n)
			for i := range c.m {
				MatMulPacked(threads, 1, a[i*c.k:], c.k, pw, one, c.n)
				for j := range c.n {
					if g, w, o := got[i*c.n+j], want[i*c.n+j], one[j]; g != w || o != w {
						t.Fatalf("m %d n %d k %d threads %d: C[%d,%d] is %v (all rows) and %v (row alone); packing per call gives %v", c.m, c.n, c.k, threads, i, j, g, o, w)
					}
				}
			}
		}
	}
}

// BenchmarkMatMulPacked compares a product with a pre-packed weight and
// the kernel in use (which packs the weight per call above gemvMaxRows rows
// and runs dot products below) on the shapes of a 25M-parameter model's
// decode step and prefill.
func BenchmarkMatMulPacked(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	fill := func(n int) []float32 { return normals(rng, n) }
	const n, k = 1408, 512
	w := fill(n * k)
	pw := PackWeight(w, n, k, k)
	if pw == nil {
		b.Skip("the kernel in use does not pack")
	}
	for _, m := range []int{1, 4, 16, 32, 64, 512} {
		a, c := fill(m*k), make([]float32, m*n)
		for _, threads := range []int{1, 2} {
			b.Run(fmtName("prepacked", m, threads), func(b *testing.B) {
				for b.Loop() {
					MatMulPacked(threads, m, a, k, pw, c, n)
				}
				b.ReportMetric(float64(2*m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
			b.Run(fmtName("sgemm", m, threads), func(b *testing.B) {
				for b.Loop() {
					SgemmWith(threads, false, true, m, n, k, 1, a, k, w, k, 0, c, n)
				}
				b.ReportMetric(float64(2*m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

func fmtName(kind string, m, threads int) string {
	return kind + "/m=" + itoa(m) + "/threads=" + itoa(threads)
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// normals returns n values drawn from N(0, 1).
func normals(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}
