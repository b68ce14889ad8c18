package kernels

import (
	"fmt"
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

// TestAxpyRows: the one-call weighted sum of rows gives, bit for bit, what
// clearing y and adding each row with Axpy gives (gemvRows's old loop).
func TestAxpyRows(t *testing.T) {
	if !useAVX512 {
		t.Skip("no AVX-512")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{1, 5, 15, 16, 17, 63, 64, 65, 80, 130, 200} {
		for _, rows := range []int{0, 1, 3, 37} {
			ldb := n + 3
			b, x := normals(rng, rows*ldb+1), normals(rng, rows+1)
			want := make([]float32, n)
			for p := range rows {
				Axpy(want, b[p*ldb:p*ldb+n], x[p])
			}
			got := normals(rng, n+1) // overwritten; the extra value must stay
			extra := got[n]
			axpyRowsAVX512(&got[0], &x[0], &b[0], ldb, rows, n)
			for j := range n {
				if got[j] != want[j] {
					t.Fatalf("n %d rows %d: y[%d] = %v, the Axpy sequence gives %v", n, rows, j, got[j], want[j])
				}
			}
			if got[n] != extra {
				t.Fatalf("n %d rows %d: wrote past y", n, rows)
			}
		}
	}
}

// TestRowDotsAddRowSum: the set-up-free one-row products give, bit for
// bit, what SgemmWith gives for the same one-row product.
func TestRowDotsAddRowSum(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, c := range []struct{ n, k int }{{1, 1}, {5, 64}, {64, 64}, {70, 128}, {300, 33}, {17, 300}} {
		ld := c.k + 2
		x, w := normals(rng, c.k), normals(rng, c.n*ld)
		got, want := normals(rng, c.n), make([]float32, c.n)
		RowDots(got, x, w, ld)
		SgemmWith(1, false, true, 1, c.n, c.k, 1, x, c.k, w, ld, 0, want, c.n)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("RowDots n %d k %d: %v, SgemmWith %v", c.n, c.k, got, want)
		}
		// AddRowSum: k rows of B [k × n] with stride ldb.
		ldb := c.n + 3
		b := normals(rng, c.k*ldb)
		got, want = normals(rng, c.n), nil
		want = append(want, got...)
		AddRowSum(got, x, b, ldb)
		SgemmWith(1, false, false, 1, c.n, c.k, 1, x, c.k, b, ldb, 1, want, c.n)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("AddRowSum n %d k %d: %v, SgemmWith %v", c.n, c.k, got, want)
		}
	}
}
