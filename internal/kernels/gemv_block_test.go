package kernels

import (
	"math/rand/v2"
	"testing"
)

// TestGemvBlockMatchesRows: the blocked dot-product path for a few rows
// of A gives, bit for bit, what the one-row path (gemvRows) gives each row
// alone, at any thread count: a row's result does not depend on the batch.
func TestGemvBlockMatchesRows(t *testing.T) {
	if !useAVX512 {
		t.Skip("no AVX-512")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	fill := func(n int) []float32 { return normals(rng, n) }
	for _, c := range []struct{ m, n, k int }{{4, 256, 64}, {5, 129, 517}, {16, 512, 512}, {32, 70, 1408}, {7, 1000, 33}} {
		a, b := fill(c.m*c.k), fill(c.n*c.k)
		for _, threads := range []int{1, 2, 3} {
			for _, beta := range []float32{0, 0.5} {
				got, want := fill(c.m*c.n), make([]float32, c.m*c.n)
				copy(want, got)
				gemvBlock(threads, c.m, c.n, c.k, 0.75, a, c.k, b, c.k, beta, got, c.n)
				for i := range c.m {
					gemvRows(1, false, true, 1, c.n, c.k, 0.75, a[i*c.k:], c.k, b, c.k, beta, want[i*c.n:], c.n)
				}
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("m %d n %d k %d threads %d beta %v: element %d is %v, one row at a time %v", c.m, c.n, c.k, threads, beta, i, got[i], want[i])
					}
				}
			}
		}
	}
}
