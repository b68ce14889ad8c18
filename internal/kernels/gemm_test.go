package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

// naiveGemm is the simple loop kernel gemmGo replaced; kept as a benchmark
// baseline.
func naiveGemm[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
		} else if beta != 1 {
			for j := range row {
				row[j] *= beta
			}
		}
		for p := 0; p < k; p++ {
			var av T
			if transA {
				av = a[p*lda+i]
			} else {
				av = a[i*lda+p]
			}
			av *= alpha
			if transB {
				for j := range row {
					row[j] += av * b[j*ldb+p]
				}
			} else {
				br := b[p*ldb : p*ldb+n]
				for j := range row {
					row[j] += av * br[j]
				}
			}
		}
	}
}

// gemmCase is one GEMM problem with its (padded) operands.
type gemmCase[T Float] struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    T
	a, b, c        []T
	lda, ldb, ldc  int
}

func (g gemmCase[T]) String() string {
	t := func(b bool) string {
		if b {
			return "T"
		}
		return "N"
	}
	return fmt.Sprintf("%s%s m=%d n=%d k=%d alpha=%v beta=%v lda=%d ldb=%d ldc=%d",
		t(g.transA), t(g.transB), g.m, g.n, g.k, g.alpha, g.beta, g.lda, g.ldb, g.ldc)
}

// cSentinel fills the padding of C (columns n..ldc-1), which no kernel may
// write.
const cSentinel = 12345

// newGemmCase makes random operands; pad > 0 makes the leading dimensions
// larger than needed (views into wider matrices). When beta is 0 the used
// part of C is NaN, which must not leak into the result.
func newGemmCase[T Float](rng *rand.Rand, transA, transB bool, m, n, k int, alpha, beta T, pad bool) gemmCase[T] {
	g := gemmCase[T]{transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta}
	extra := func() int {
		if pad {
			return 1 + rng.IntN(5)
		}
		return 0
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	g.lda, g.ldb, g.ldc = ac+extra(), bc+extra(), n+extra()
	fill := func(rows, ld int) []T {
		s := make([]T, rows*ld)
		for i := range s {
			s[i] = T(rng.Float64()*2 - 1)
		}
		return s
	}
	g.a, g.b = fill(ar, g.lda), fill(br, g.ldb)
	g.c = fill(m, g.ldc)
	for i := range m {
		for j := n; j < g.ldc; j++ {
			g.c[i*g.ldc+j] = cSentinel
		}
		if beta == 0 {
			for j := range n {
				g.c[i*g.ldc+j] = T(math.NaN())
			}
		}
	}
	return g
}

// check runs run on a copy of C and compares with GemmRef, element by
// element, with a tolerance from the standard error bound of a length-k dot
// product: (k+3)·eps·(|alpha|·Σ|a||b| + |beta·c|).
func (g gemmCase[T]) check(t *testing.T, run func(c []T)) {
	t.Helper()
	got := slices.Clone(g.c)
	run(got)
	want := slices.Clone(g.c)
	GemmRef(g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, want, g.ldc)
	var z T
	eps := 0x1p-52
	if unsafe.Sizeof(z) == 4 {
		eps = 0x1p-23
	}
	bad := 0
	for i := range g.m {
		for j := range g.ldc {
			idx := i*g.ldc + j
			if j >= g.n {
				if got[idx] != cSentinel {
					t.Fatalf("%v: C padding [%d,%d] overwritten: %v", g, i, j, got[idx])
				}
				continue
			}
			var s float64
			for p := range g.k {
				var av, bv T
				if g.transA {
					av = g.a[p*g.lda+i]
				} else {
					av = g.a[i*g.lda+p]
				}
				if g.transB {
					bv = g.b[j*g.ldb+p]
				} else {
					bv = g.b[p*g.ldb+j]
				}
				s += math.Abs(float64(av) * float64(bv))
			}
			mag := math.Abs(float64(g.alpha)) * s
			if g.beta != 0 {
				mag += math.Abs(float64(g.beta) * float64(g.c[idx]))
			}
			tol := float64(g.k+3)*eps*mag + 1e-30
			d := math.Abs(float64(got[idx]) - float64(want[idx]))
			if !(d <= tol) {
				bad++
				if bad <= 5 {
					t.Errorf("%v: C[%d,%d] = %v, want %v (|diff| %.3g > tol %.3g)", g, i, j, got[idx], want[idx], d, tol)
				}
			}
		}
	}
	if bad > 5 {
		t.Errorf("%v: %d elements wrong", g, bad)
	}
}

var gemmDims = []int{1, 2, 3, 5, 17, 31, 64, 65, 127, 255, 256, 257, 513}

// gemmShapes is a deterministic sample of the cross product gemmDims³: all
// small shapes and a random selection of larger ones, capped so that the
// float64 reference stays fast.
func gemmShapes(seed uint64, nLarge int) [][3]int {
	var out [][3]int
	rng := rand.New(rand.NewPCG(seed, 1))
	small := []int{1, 2, 3, 5, 17}
	for _, m := range small {
		for _, n := range small {
			k := small[rng.IntN(len(small))]
			out = append(out, [3]int{m, n, k})
		}
	}
	for len(out) < len(small)*len(small)+nLarge {
		m, n, k := gemmDims[rng.IntN(len(gemmDims))], gemmDims[rng.IntN(len(gemmDims))], gemmDims[rng.IntN(len(gemmDims))]
		if m*n*k > 1<<23 {
			continue
		}
		out = append(out, [3]int{m, n, k})
	}
	return out
}

var transCombos = []struct {
	name           string
	transA, transB bool
}{{"NN", false, false}, {"NT", false, true}, {"TN", true, false}, {"TT", true, true}}

func testGemmGo[T Float](t *testing.T, seed uint64) {
	alphas := []T{1, 0.5}
	betas := []T{0, 1, -0.7}
	for ti, tc := range transCombos {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, uint64(ti)))
			for si, s := range gemmShapes(seed+uint64(ti), 24) {
				alpha := alphas[si%len(alphas)]
				beta := betas[(si/2)%len(betas)]
				g := newGemmCase(rng, tc.transA, tc.transB, s[0], s[1], s[2], alpha, beta, si%3 != 0)
				threads := 1 + si%3
				g.check(t, func(c []T) {
					gemmGo(threads, g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, c, g.ldc)
				})
			}
		})
	}
}

func TestGemmGoFloat32(t *testing.T) { testGemmGo[float32](t, 1) }
func TestGemmGoFloat64(t *testing.T) { testGemmGo[float64](t, 2) }

// TestGemmGoBig covers the largest dimensions (several KC, MC and NC blocks
// with edges) once per transpose combination.
func TestGemmGoBig(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	shapes := [][3]int{{513, 257, 513}, {65, 2100, 300}, {257, 513, 255}, {127, 2049, 257}}
	for i, tc := range transCombos {
		s := shapes[i]
		g := newGemmCase[float32](rng, tc.transA, tc.transB, s[0], s[1], s[2], 0.5, -0.7, true)
		g.check(t, func(c []float32) {
			Sgemm(g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, c, g.ldc)
		})
	}
	g := newGemmCase[float64](rng, true, false, 300, 257, 513, 1, 0, true)
	g.check(t, func(c []float64) {
		Dgemm(g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, c, g.ldc)
	})
}

// TestGemmGoKZero: with k == 0 (or alpha == 0) C = beta·C, and with beta 0
// the NaNs in C are replaced by zeros.
func TestGemmGoKZero(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, beta := range []float32{0, 1, -0.7} {
		for _, k := range []int{0, 3} {
			alpha := float32(1)
			if k > 0 {
				alpha = 0
			}
			g := newGemmCase[float32](rng, false, true, 7, 5, k, alpha, beta, true)
			c := slices.Clone(g.c)
			gemmGo(2, g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, c, g.ldc)
			for i := range g.m {
				for j := range g.ldc {
					want := g.c[i*g.ldc+j]
					if j < g.n {
						want = beta * want
						if beta == 0 {
							want = 0
						}
					}
					if got := c[i*g.ldc+j]; got != want {
						t.Fatalf("k=%d alpha=%v beta=%v: C[%d,%d] = %v, want %v", k, alpha, beta, i, j, got, want)
					}
				}
			}
		}
	}
}

// TestGemmGoEmpty: m == 0 or n == 0 touches nothing (and nil slices are
// fine).
func TestGemmGoEmpty(t *testing.T) {
	Sgemm(false, false, 0, 5, 5, 1, nil, 5, make([]float32, 25), 5, 0, nil, 5)
	Dgemm(true, true, 5, 0, 5, 1, make([]float64, 25), 5, nil, 5, 0, nil, 0)
	gemmGo[float32](4, false, false, 0, 0, 0, 1, nil, 0, nil, 0, 0, nil, 0)
}

// TestGemmGoBadArgs: inconsistent arguments panic up front, on the caller's
// goroutine.
func TestGemmGoBadArgs(t *testing.T) {
	a, b, c := make([]float32, 12), make([]float32, 12), make([]float32, 9)
	for _, tc := range []struct {
		name string
		run  func()
		msg  string
	}{
		{"short a", func() { gemmGo(2, false, false, 3, 3, 5, 1, a, 5, b, 3, 0, c, 3) }, "len(a)"},
		{"small lda", func() { gemmGo(2, false, false, 3, 3, 4, 1, a, 3, b, 3, 0, c, 3) }, "lda"},
		{"short b", func() { gemmGo(2, true, true, 3, 3, 4, 1, a, 3, b, 5, 0, c, 3) }, "len(b)"},
		{"short c", func() { gemmGo(2, false, false, 3, 3, 4, 1, a, 4, b, 3, 0, c, 4) }, "len(c)"},
		{"negative k", func() { gemmGo(2, false, false, 3, 3, -1, 1, a, 4, b, 3, 0, c, 3) }, "k = -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(fmt.Sprint(r), tc.msg) {
					t.Fatalf("panic %v, want one mentioning %q", r, tc.msg)
				}
			}()
			tc.run()
		})
	}
}

// TestGemmGoDeterministic: the result is bit-identical for every thread
// count (and hence every tiling of C), for both element types and both
// paths.
func TestGemmGoDeterministic(t *testing.T) {
	shapes := [][3]int{
		{257, 513, 600}, // square-ish, several KC blocks
		{2000, 3, 513},  // tall-skinny: split along M
		{4, 2500, 300},  // short-wide: split along N (and NC edges)
		{130, 130, 257}, // small enough that 7 threads use fewer
		{3, 2500, 300},  // thin path, few rows
		{1, 4000, 700},  // thin path, one row
		{3000, 1, 700},  // thin path, one column
	}
	for _, s := range shapes {
		for ti, tc := range transCombos {
			t.Run(fmt.Sprintf("%s/%dx%dx%d", tc.name, s[0], s[1], s[2]), func(t *testing.T) {
				seed := uint64(s[0]*1e6 + s[1]*1e3 + s[2] + ti)
				deterministic[float32](t, rand.New(rand.NewPCG(seed, 5)), tc.transA, tc.transB, s)
				deterministic[float64](t, rand.New(rand.NewPCG(seed, 6)), tc.transA, tc.transB, s)
			})
		}
	}
}

// gemmGoroutines is how many goroutines gemmGo uses for a problem.
func gemmGoroutines(threads, m, n, k int) int {
	switch {
	case m < gemmMR:
		return rangeParts(gemmMaxThreads(threads, m, n, k), n)
	case n < gemmNR:
		return rangeParts(gemmMaxThreads(threads, m, n, k), m)
	}
	tm, tn := gemmSplit(threads, m, n, k)
	return tm * tn
}

func deterministic[T Float](t *testing.T, rng *rand.Rand, transA, transB bool, s [3]int) {
	t.Helper()
	m, n, k := s[0], s[1], s[2]
	for _, beta := range []T{0, -0.7} {
		g := newGemmCase(rng, transA, transB, m, n, k, 0.5, beta, true)
		var ref []T
		for _, threads := range []int{1, 2, 3, 7} {
			if threads > 1 && gemmGoroutines(threads, m, n, k) < 2 {
				t.Fatalf("%v: threads=%d runs on one goroutine", g, threads)
			}
			c := slices.Clone(g.c)
			gemmGo(threads, transA, transB, m, n, k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, c, g.ldc)
			if ref == nil {
				ref = c
				continue
			}
			for i := range c {
				if math.Float64bits(float64(c[i])) != math.Float64bits(float64(ref[i])) {
					t.Fatalf("%v: threads=%d: C[%d] = %v, threads=1 gave %v", g, threads, i, c[i], ref[i])
				}
			}
		}
	}
}

// TestGemmGoBatchInvariant: each element of C gets the same operations
// whatever the shape of the product it is part of, so computing any block of
// rows and columns on its own (through the packed path, or the thin path for
// one to three rows or one column) reproduces the full result bit for bit.
func TestGemmGoBatchInvariant(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	blocks := [][4]int{ // i0, i1, j0, j1
		{0, 1, 0, 37}, {5, 6, 3, 30}, {2, 4, 0, 37}, {9, 12, 1, 36}, // rows: thin
		{0, 41, 0, 1}, {3, 40, 36, 37}, // one column: thin
		{0, 41, 0, 37}, {1, 40, 1, 36}, {7, 11, 2, 4}, {4, 41, 10, 37}, // packed
	}
	for _, tc := range transCombos {
		for _, k := range []int{1, 7, 600} {
			for _, ab := range [][2]float32{{1, 0}, {0.5, 1}, {-1.5, -0.7}} {
				g := newGemmCase(rng, tc.transA, tc.transB, 41, 37, k, ab[0], ab[1], true)
				full := slices.Clone(g.c)
				gemmGo(2, g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, full, g.ldc)
				for _, bl := range blocks {
					i0, i1, j0, j1 := bl[0], bl[1], bl[2], bl[3]
					sa, sb := g.a[i0:], g.b[j0:]
					if !g.transA {
						sa = g.a[i0*g.lda:]
					}
					if g.transB {
						sb = g.b[j0*g.ldb:]
					}
					part := slices.Clone(g.c)
					gemmGo(1, g.transA, g.transB, i1-i0, j1-j0, k, g.alpha, sa, g.lda, sb, g.ldb, g.beta, part[i0*g.ldc+j0:], g.ldc)
					for i := i0; i < i1; i++ {
						for j := j0; j < j1; j++ {
							if x, y := part[i*g.ldc+j], full[i*g.ldc+j]; math.Float32bits(x) != math.Float32bits(y) {
								t.Fatalf("%v: block %v: C[%d,%d] = %v, full product gave %v", g, bl, i, j, x, y)
							}
						}
					}
				}
			}
		}
	}
}

// TestSgemmThreadsSetting checks the Sgemm entry point at several
// SetThreads values gives bit-identical results.
func TestSgemmThreadsSetting(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	g := newGemmCase[float32](rng, false, true, 130, 70, 300, 1, 1, false)
	old := SetThreads(1)
	defer SetThreads(old)
	ref := slices.Clone(g.c)
	Sgemm(g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, ref, g.ldc)
	for _, th := range []int{2, 3, 7} {
		SetThreads(th)
		if Threads() != th {
			t.Fatalf("Threads() = %d after SetThreads(%d)", Threads(), th)
		}
		c := slices.Clone(g.c)
		Sgemm(g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, c, g.ldc)
		if !slices.Equal(c, ref) {
			t.Fatalf("threads=%d differs from threads=1", th)
		}
	}
}

func TestGemmSplit(t *testing.T) {
	for _, tc := range []struct {
		threads, m, n, k int
		tm, tn           int
	}{
		{1, 1000, 1000, 1000, 1, 1},
		{2, 4, 4, 4, 1, 1}, // too small
		{2, 1000, 1000, 1000, 2, 1},
		{4, 1000, 1000, 1000, 2, 2}, // 4×1 would give 252-row tiles
		{4, 4096, 100, 100, 4, 1},
		{2, 2, 4000, 512, 1, 2}, // short-wide
		{3, 4, 4000, 512, 1, 3}, // one row of register tiles
		{2, 4000, 2, 512, 2, 1}, // tall-skinny
		{6, 8, 4000, 512, 1, 6}, // 2×3 would double the columns per tile
		{6, 40, 40, 4096, 2, 3},
		{7, 4000, 4000, 512, 7, 1}, // prime
	} {
		tm, tn := gemmSplit(tc.threads, tc.m, tc.n, tc.k)
		if tm != tc.tm || tn != tc.tn {
			t.Errorf("gemmSplit(%d, %d, %d, %d) = %d×%d, want %d×%d", tc.threads, tc.m, tc.n, tc.k, tm, tn, tc.tm, tc.tn)
		}
	}
}

func TestRegistry(t *testing.T) {
	if Get("go") == nil {
		t.Fatal(`Get("go") = nil`)
	}
	if Get("no-such-kernel") != nil {
		t.Fatal("Get of an unknown name is not nil")
	}
	if !slices.Contains(Names(), "go") || !slices.IsSorted(Names()) {
		t.Fatalf("Names() = %v", Names())
	}
	err := Use("no-such-kernel")
	if err == nil {
		t.Fatal("Use of an unknown name succeeded")
	}
	for _, want := range []string{"no-such-kernel", "go"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Use error %q does not mention %q", err, want)
		}
	}
	prev := Current()
	Register(testKernel{})
	defer func() {
		if err := Use(prev); err != nil {
			t.Fatal(err)
		}
		kernels.Remove(testKernel{}.Name())
	}()
	if Current() != prev {
		t.Fatalf("Register changed the current kernel to %q", Current())
	}
	if err := Use("test"); err != nil {
		t.Fatal(err)
	}
	if Current() != "test" {
		t.Fatalf("Current() = %q after Use(test)", Current())
	}
	c := []float32{0}
	Sgemm(false, false, 1, 1, 1, 1, []float32{1}, 1, []float32{1}, 1, 0, c, 1)
	if c[0] != 42 {
		t.Fatalf("Sgemm did not dispatch to the current kernel: c = %v", c)
	}
}

type testKernel struct{}

func (testKernel) Name() string { return "test" }
func (testKernel) Sgemm(threads int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	c[0] = 42
}

// BenchmarkSgemm measures Sgemm (the current kernel, "go" unless another is
// selected) on m×n×k problems with the given transposes and thread count
// (4096x2048x512 is A 4096×512 times B 512×2048). Run with e.g.
//
//	go test -run '^$' -bench Sgemm -benchtime=3x ./internal/kernels/
func BenchmarkSgemm(b *testing.B) {
	shapes := []struct{ m, n, k int }{
		{256, 256, 256}, {512, 512, 512}, {1024, 1024, 1024}, {4096, 2048, 512},
	}
	for _, s := range shapes {
		for _, tc := range transCombos[:3] {
			for _, threads := range []int{1, 2} {
				name := fmt.Sprintf("%dx%dx%d/%s/t%d", s.m, s.n, s.k, tc.name, threads)
				b.Run(name, func(b *testing.B) {
					defer SetThreads(SetThreads(threads))
					benchGemm(b, tc.transA, tc.transB, s.m, s.n, s.k, Sgemm)
				})
			}
		}
	}
}

// BenchmarkSgemmSmall covers matrix-vector-like and small products (one
// token through a layer; a batch of 16), where packing and threads matter.
func BenchmarkSgemmSmall(b *testing.B) {
	shapes := []struct{ m, n, k int }{{1, 1024, 1024}, {1, 4096, 4096}, {16, 1024, 1024}, {64, 64, 64}}
	for _, s := range shapes {
		for _, tc := range transCombos[:2] {
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("%dx%dx%d/%s/t%d", s.m, s.n, s.k, tc.name, threads), func(b *testing.B) {
					defer SetThreads(SetThreads(threads))
					benchGemm(b, tc.transA, tc.transB, s.m, s.n, s.k, Sgemm)
				})
			}
		}
	}
}

// BenchmarkSgemmNaive is the replaced simple loop, for comparison.
func BenchmarkSgemmNaive(b *testing.B) {
	for _, s := range []struct{ m, n, k int }{{512, 512, 512}, {1, 1024, 1024}} {
		b.Run(fmt.Sprintf("%dx%dx%d/NN/t1", s.m, s.n, s.k), func(b *testing.B) {
			benchGemm(b, false, false, s.m, s.n, s.k, naiveGemm[float32])
		})
	}
}

// BenchmarkDgemm measures the float64 instantiation.
func BenchmarkDgemm(b *testing.B) {
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("512x512x512/NN/t%d", threads), func(b *testing.B) {
			m, n, k := 512, 512, 512
			rng := rand.New(rand.NewPCG(1, 2))
			a, bb, c := randSlice[float64](rng, m*k), randSlice[float64](rng, k*n), make([]float64, m*n)
			for b.Loop() {
				gemmGo(threads, false, false, m, n, k, 1, a, k, bb, n, 0, c, n)
			}
			b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func randSlice[T Float](rng *rand.Rand, n int) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = T(rng.Float64()*2 - 1)
	}
	return s
}

func benchGemm(b *testing.B, transA, transB bool, m, n, k int, gemm func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)) {
	rng := rand.New(rand.NewPCG(1, 1))
	a, bb, c := randSlice[float32](rng, m*k), randSlice[float32](rng, k*n), make([]float32, m*n)
	lda, ldb := k, n
	if transA {
		lda = m
	}
	if transB {
		ldb = k
	}
	for b.Loop() {
		gemm(transA, transB, m, n, k, 1, a, lda, bb, ldb, 0, c, n)
	}
	b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkMicroGo measures the micro-kernel alone, with hot caches.
func BenchmarkMicroGo(b *testing.B) {
	b.Run("float32", func(b *testing.B) { benchMicro[float32](b) })
	b.Run("float64", func(b *testing.B) { benchMicro[float64](b) })
}

func benchMicro[T Float](b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 3))
	a, bb := randSlice[T](rng, gemmKC*gemmMR), randSlice[T](rng, gemmKC*gemmNR)
	var acc [gemmMR * gemmNR]T
	for b.Loop() {
		microGo(gemmKC, true, a, bb, &acc)
	}
	b.ReportMetric(2*gemmMR*gemmNR*gemmKC*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
