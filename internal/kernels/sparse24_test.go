package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// random24 returns a random n×k matrix with 2:4 sparsity: in each group of
// 4, zero, one or two non-zeros (mostly two) at random positions.
func random24(rng *rand.Rand, n, k int) []float32 {
	w := make([]float32, n*k)
	for r := range n {
		for g := range k / 4 {
			keep := 2
			if rng.IntN(8) == 0 {
				keep = rng.IntN(2)
			}
			for _, i := range rng.Perm(4)[:keep] {
				w[r*k+4*g+i] = float32(rng.NormFloat64())
			}
		}
	}
	return w
}

// denseRef is c = a·wᵀ with each output summed over every column in order,
// zeros included.
func denseRef(m, n, k int, a, w []float32) []float32 {
	c := make([]float32, m*n)
	for i := range m {
		for j := range n {
			var s float32
			for l := range k {
				s += w[j*k+l] * a[i*k+l]
			}
			c[i*n+j] = s
		}
	}
	return c
}

func TestPack24RoundTripAndMatMul(t *testing.T) {
	for _, tc := range []struct{ m, n, k, threads int }{
		{1, 8, 16, 1}, {3, 5, 12, 2}, {4, 17, 32, 3}, {9, 33, 64, 2}, {64, 40, 128, 4},
	} {
		rng := rand.New(rand.NewPCG(uint64(tc.m), uint64(tc.k)))
		w := random24(rng, tc.n, tc.k)
		p, err := Pack24(w, tc.n, tc.k, tc.k)
		if err != nil {
			t.Fatal(err)
		}
		d := p.Dense()
		for i := range w {
			if d[i] != w[i] {
				t.Fatalf("%+v: Dense()[%d] = %v, want %v", tc, i, d[i], w[i])
			}
		}
		if got, want := p.Bytes(), int64(4*tc.n*tc.k/2+(tc.n*tc.k/4+1)/2); got != want {
			t.Fatalf("%+v: %d bytes, want %d", tc, got, want)
		}
		a := make([]float32, tc.m*tc.k)
		for i := range a {
			a[i] = float32(rng.NormFloat64())
		}
		want := denseRef(tc.m, tc.n, tc.k, a, w)
		got := make([]float32, tc.m*tc.n)
		MatMul24(tc.threads, tc.m, a, tc.k, p, got, tc.n)
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%+v: c[%d] = %v, the sequential dense product %v", tc, i, got[i], want[i])
			}
		}
		// The single-row path equals the batched one bit for bit.
		for i := range tc.m {
			one := make([]float32, tc.n)
			MatMul24(1, 1, a[i*tc.k:], tc.k, p, one, tc.n)
			for j := range one {
				if math.Float32bits(one[j]) != math.Float32bits(got[i*tc.n+j]) {
					t.Fatalf("%+v: row %d col %d: one row %v, batched %v", tc, i, j, one[j], got[i*tc.n+j])
				}
			}
		}
		// And the library's dense GEMM on the same zeros agrees to rounding.
		ref := make([]float32, tc.m*tc.n)
		Sgemm(false, true, tc.m, tc.n, tc.k, 1, a, tc.k, w, tc.k, 0, ref, tc.n)
		for i := range ref {
			if d := math.Abs(float64(ref[i] - got[i])); d > 1e-4*(1+math.Abs(float64(ref[i]))) {
				t.Fatalf("%+v: c[%d] = %v, dense GEMM %v", tc, i, got[i], ref[i])
			}
		}
	}
}

func TestPack24Rejects(t *testing.T) {
	for _, tc := range []struct {
		w       []float32
		n, k    int
		wantErr string
	}{
		{make([]float32, 6), 1, 6, "divisible by 4"},
		{[]float32{1, 2, 3, 0}, 1, 4, "more than 2 non-zeros"},
		{make([]float32, 3), 1, 4, "3 values"},
	} {
		if _, err := Pack24(tc.w, tc.n, tc.k, tc.k); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("Pack24(%v): %v, want an error with %q", tc.w, err, tc.wantErr)
		}
	}
}

// Run on a quiet machine:
//
//	go test ./internal/kernels/ -run '^$' -bench 'MatMul24|DenseFor24' -benchtime 2s
func benchShapes() []struct{ m, n, k int } {
	return []struct{ m, n, k int }{{1, 1024, 1024}, {1, 4096, 1024}, {64, 1024, 1024}}
}

func BenchmarkMatMul24(b *testing.B) {
	for _, s := range benchShapes() {
		rng := rand.New(rand.NewPCG(1, 2))
		p, _ := Pack24(random24(rng, s.n, s.k), s.n, s.k, s.k)
		a, c := make([]float32, s.m*s.k), make([]float32, s.m*s.n)
		b.Run(shapeName(s.m, s.n, s.k), func(b *testing.B) {
			for b.Loop() {
				MatMul24(1, s.m, a, s.k, p, c, s.n)
			}
		})
	}
}

func BenchmarkDenseFor24(b *testing.B) {
	for _, s := range benchShapes() {
		rng := rand.New(rand.NewPCG(1, 2))
		w := random24(rng, s.n, s.k)
		a, c := make([]float32, s.m*s.k), make([]float32, s.m*s.n)
		b.Run(shapeName(s.m, s.n, s.k), func(b *testing.B) {
			for b.Loop() {
				SgemmWith(1, false, true, s.m, s.n, s.k, 1, a, s.k, w, s.k, 0, c, s.n)
			}
		})
	}
}

func shapeName(m, n, k int) string {
	return fmt.Sprintf("m%d_n%d_k%d", m, n, k)
}
