//go:build openblas && cgo

package openblas

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/loomml/loom/internal/kernels"
)

func TestOpenBLASMatchesReference(t *testing.T) {
	k := kernels.Get("openblas")
	if k == nil {
		t.Fatal("openblas kernel not registered")
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for _, s := range [][5]int{{3, 5, 7, 0, 0}, {65, 33, 129, 1, 0}, {64, 17, 255, 0, 1}, {31, 64, 2, 1, 1}} {
		m, n, kk, ta, tb := s[0], s[1], s[2], s[3] == 1, s[4] == 1
		a, b := make([]float32, m*kk), make([]float32, kk*n)
		for i := range a {
			a[i] = rng.Float32() - 0.5
		}
		for i := range b {
			b[i] = rng.Float32() - 0.5
		}
		lda, ldb := kk, n
		if ta {
			lda = m
		}
		if tb {
			ldb = kk
		}
		got, want := make([]float32, m*n), make([]float32, m*n)
		k.Sgemm(1, ta, tb, m, n, kk, 0.5, a, lda, b, ldb, 0, got, n)
		kernels.GemmRef(ta, tb, m, n, kk, 0.5, a, lda, b, ldb, 0, want, n)
		for i := range want {
			if math.Abs(float64(got[i]-want[i])) > 1e-4 {
				t.Fatalf("%v: C[%d] = %v, want %v", s, i, got[i], want[i])
			}
		}
	}
}
