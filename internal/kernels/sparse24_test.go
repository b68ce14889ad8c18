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

// gamma24 is γ_n = n·u/(1−n·u) (u = 2⁻²⁴) for n = k+5: a float32 sum of k
// products, each term rounded at most k+5 times (the sparse path: one FMA
// per chunk of 32 and 4 reduction levels; a dense GEMM: at most k), is
// within γ_n·Σ|w·x| of the exact sum (Higham, Accuracy and Stability of
// Numerical Algorithms, §3.1).
func gamma24(k int) float64 {
	nu := float64(k+5) * 0x1p-24
	return nu / (1 - nu)
}

func TestPack24RoundTripAndMatMul(t *testing.T) {
	saved, savedMin := useAVX512, gemm24MinRows
	defer func() { setAVX512(saved); gemm24MinRows = savedMin }()
	for _, tc := range []struct{ m, n, k, threads int }{
		{1, 8, 16, 1}, {2, 5, 12, 2}, {7, 17, 32, 3}, {1, 1, 4, 1}, {3, 3, 36, 2},
		{9, 33, 64, 2}, {2, 6, 100, 2}, {1, 192, 192, 2}, {7, 512, 192, 2},
		{8, 19, 60, 2}, {33, 40, 128, 4}, {128, 64, 192, 2},
	} {
		rng := rand.New(rand.NewPCG(uint64(tc.m), uint64(tc.k)))
		w := random24(rng, tc.n, tc.k)
		p, err := Pack24(w, tc.n, tc.k, tc.k)
		if err != nil {
			t.Fatal(err)
		}
		// Unpacking (the AVX-512 kernel, then plain Go) overwrites every
		// value of its rows: start from NaNs.
		for _, avx := range []bool{saved, false} {
			setAVX512(avx)
			d := make([]float32, tc.n*tc.k)
			for i := range d {
				d[i] = float32(math.NaN())
			}
			p.unpack(d, 0, (tc.n+3)/4)
			for i := range w {
				if math.Float32bits(d[i]) != math.Float32bits(w[i]) {
					t.Fatalf("%+v avx512 %v: unpacked [%d] = %v, want %v", tc, avx, i, d[i], w[i])
				}
			}
		}
		setAVX512(saved)
		d := p.Dense()
		for i := range w {
			if d[i] != w[i] {
				t.Fatalf("%+v: Dense()[%d] = %v, want %v", tc, i, d[i], w[i])
			}
		}
		nq, nc := (tc.n+3)/4, (tc.k+31)/32
		if got, want := p.Bytes(), int64(nq*nc*(64+16)*4); got != want {
			t.Fatalf("%+v: %d bytes, want %d", tc, got, want)
		}
		// Rows of a with stride k+3, the 3 values between rows NaN: a
		// kernel reading past a row's end would return NaN.
		lda := tc.k + 3
		a := make([]float32, (tc.m-1)*lda+tc.k)
		for i := range a {
			a[i] = float32(rng.NormFloat64())
			if i%lda >= tc.k {
				a[i] = float32(math.NaN())
			}
		}
		// Exact sums and the bound on |error|.
		exact, bound := make([]float64, tc.m*tc.n), make([]float64, tc.m*tc.n)
		for i := range tc.m {
			for j := range tc.n {
				var s, abs float64
				for l := range tc.k {
					v := float64(w[j*tc.k+l]) * float64(a[i*lda+l])
					s += v
					abs += math.Abs(v)
				}
				exact[i*tc.n+j], bound[i*tc.n+j] = s, gamma24(tc.k)*abs
			}
		}
		ref := make([]float32, tc.m*tc.n)
		SgemmWith(1, false, true, tc.m, tc.n, tc.k, 1, a, lda, w, tc.k, 0, ref, tc.n)
		results := map[string][]float32{}
		for _, path := range []struct {
			name    string
			avx     bool
			minRows int
		}{{"dots", saved, 1 << 30}, {"dots-go", false, 1 << 30}, {"unpack", saved, 1}, {"default", saved, savedMin}} {
			setAVX512(path.avx)
			gemm24MinRows = path.minRows
			for _, th := range []int{1, tc.threads} {
				got := make([]float32, tc.m*tc.n+2) // 2 guard values after c
				got[tc.m*tc.n], got[tc.m*tc.n+1] = 7, 7
				MatMul24(th, tc.m, a, lda, p, got[:tc.m*tc.n], tc.n)
				if got[tc.m*tc.n] != 7 || got[tc.m*tc.n+1] != 7 {
					t.Fatalf("%+v %s: wrote past c", tc, path.name)
				}
				got = got[:tc.m*tc.n]
				for i := range got {
					e := math.Abs(float64(got[i]) - exact[i])
					if e > bound[i] || math.IsNaN(e) {
						t.Fatalf("%+v %s threads %d: c[%d] = %v, exact %v: error %.3g > bound %.3g", tc, path.name, th, i, got[i], exact[i], e, bound[i])
					}
					// The dense GEMM on the same zeros: both within the bound
					// of the exact sum.
					if d := math.Abs(float64(got[i] - ref[i])); d > 2*bound[i] {
						t.Fatalf("%+v %s: c[%d] = %v, dense GEMM %v", tc, path.name, i, got[i], ref[i])
					}
				}
				if prev, ok := results[path.name]; ok {
					for i := range got {
						if math.Float32bits(got[i]) != math.Float32bits(prev[i]) {
							t.Fatalf("%+v %s: c[%d] %v with %d threads, %v with 1", tc, path.name, i, got[i], th, prev[i])
						}
					}
				}
				results[path.name] = got
			}
		}
		// The assembly kernel and the plain-Go fallback agree bit for bit.
		for i, v := range results["dots"] {
			if math.Float32bits(v) != math.Float32bits(results["dots-go"][i]) {
				t.Fatalf("%+v: c[%d]: kernel %v, plain Go %v", tc, i, v, results["dots-go"][i])
			}
		}
		// Unpacking gives the dense GEMM's result exactly.
		for i, v := range results["unpack"] {
			if math.Float32bits(v) != math.Float32bits(ref[i]) {
				t.Fatalf("%+v: c[%d]: unpacked %v, dense GEMM %v", tc, i, v, ref[i])
			}
		}
		// The dot-product path gives each row of a the same bits alone as
		// in the batch.
		setAVX512(saved)
		gemm24MinRows = 1 << 30
		for i := range tc.m {
			one := make([]float32, tc.n)
			MatMul24(1, 1, a[i*lda:], lda, p, one, tc.n)
			for j := range one {
				if math.Float32bits(one[j]) != math.Float32bits(results["dots"][i*tc.n+j]) {
					t.Fatalf("%+v: row %d col %d: one row %v, batched %v", tc, i, j, one[j], results["dots"][i*tc.n+j])
				}
			}
		}
	}
}

// TestMatMul24Cancellation: sums that cancel (large terms of both signs,
// a small exact result) stay within the bound, the case where lane order
// matters most.
func TestMatMul24Cancellation(t *testing.T) {
	const n, k = 4, 64
	w := make([]float32, n*k)
	x := make([]float32, k)
	for l := range k {
		x[l] = 1
		if l%4 < 2 {
			for j := range n {
				w[j*k+l] = float32(math.Ldexp(1, 20)) * float32(1-2*((l/4+j)%2))
			}
		}
	}
	w[0*k+1] += 0.5 // row 0: 2²⁰ + 0.5 − 2²⁰ … = 0.5 exactly
	p, err := Pack24(w, n, k, k)
	if err != nil {
		t.Fatal(err)
	}
	y := make([]float32, n)
	MatMul24(1, 1, x, k, p, y, n)
	for j, v := range y {
		var s, abs float64
		for l := range k {
			s += float64(w[j*k+l])
			abs += math.Abs(float64(w[j*k+l]))
		}
		if e := math.Abs(float64(v) - s); e > gamma24(k)*abs {
			t.Fatalf("row %d: %v, exact %v", j, v, s)
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

// BenchmarkMatMul24 runs, side by side, at the quickstart decoder's shapes
// (d = 192, FFN 512; m = 1 is decoding a token, 128 a prefill; 8 and 32
// place the switch between the two paths, gemm24MinRows):
//
//   - dense: SgemmWith on the dense matrix with the same zeros;
//   - dots: MatMul24's sparse dot products (the AVX-512 kernel when the
//     CPU has it);
//   - unpack: MatMul24 unpacking W and running the dense GEMM;
//   - go: dots in plain Go (the fallback; m ≤ 8 only);
//
// each on 1 and 2 threads. Run on a quiet machine:
//
//	go test ./internal/kernels/ -run '^$' -bench 'MatMul24' -benchtime 1s -count 3
func BenchmarkMatMul24(b *testing.B) {
	saved, savedMin := useAVX512, gemm24MinRows
	defer func() { setAVX512(saved); gemm24MinRows = savedMin }()
	for _, m := range []int{1, 8, 32, 128} {
		for _, s := range [][2]int{{192, 192}, {512, 192}, {192, 512}} { // {out, in}
			n, k := s[0], s[1]
			rng := rand.New(rand.NewPCG(1, 2))
			w := random24(rng, n, k)
			p, _ := Pack24(w, n, k, k)
			a, c := make([]float32, m*k), make([]float32, m*n)
			for i := range a {
				a[i] = float32(rng.NormFloat64())
			}
			for _, path := range []string{"dense", "dots", "unpack", "go"} {
				if path == "go" && m > 8 {
					continue
				}
				for _, th := range []int{1, 2} {
					b.Run(fmt.Sprintf("%s/%s/t%d", shapeName(m, n, k), path, th), func(b *testing.B) {
						setAVX512(saved && path != "go")
						gemm24MinRows = 1 << 30
						if path == "unpack" {
							gemm24MinRows = 1
						}
						for b.Loop() {
							if path == "dense" {
								SgemmWith(th, false, true, m, n, k, 1, a, k, w, k, 0, c, n)
							} else {
								MatMul24(th, m, a, k, p, c, n)
							}
						}
					})
				}
			}
		}
	}
}

func shapeName(m, n, k int) string {
	return fmt.Sprintf("m%d_n%d_k%d", m, n, k)
}
