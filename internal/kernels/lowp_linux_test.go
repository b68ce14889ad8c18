package kernels

import (
	"math/rand/v2"
	"slices"
	"syscall"
	"testing"
	"unsafe"
)

// guarded returns n bytes that end where an inaccessible page begins, so a
// kernel reading or writing one byte too many faults.
func guarded(t *testing.T, n int) []byte {
	t.Helper()
	page := syscall.Getpagesize()
	size := (n + page - 1) / page * page
	mem, err := syscall.Mmap(-1, 0, size+page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Munmap(mem) })
	if err := syscall.Mprotect(mem[size:], syscall.PROT_NONE); err != nil {
		t.Fatal(err)
	}
	return mem[size-n : size : size]
}

func guardedF32(t *testing.T, n int) []float32 {
	b := guarded(t, 4*n)
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), n)
}

// TestLowpGuardPages runs the kernels on operands that end at an
// inaccessible page: the masked loads and stores of the k tails and of the
// last, partial group of rows must not touch it.
func TestLowpGuardPages(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, f := range lowFormats {
		for _, k := range []int{1, 15, 17, 32, 33, 64} {
			if f.Valid(k) != nil {
				continue
			}
			for _, n := range []int{1, 2, 3, 5, 6, 7} {
				for m := 1; m <= 4; m++ {
					for _, beta := range []float32{0, 1} {
						g := newLowCase(rng, f, m, n, k, beta, false)
						want := g.run(1)
						a, w, c := guardedF32(t, len(g.a)), guarded(t, len(g.w)), guardedF32(t, len(g.c))
						copy(a, g.a)
						copy(w, g.w)
						copy(c, g.c)
						GemmLowT(f, 1, m, n, k, a, g.lda, w, beta, c, g.ldc)
						if i := sameBits(c, want); i >= 0 {
							t.Fatalf("%v: element %d = %v, want %v", g, i, c[i], want[i])
						}
					}
				}
			}
			src := guarded(t, f.RowBytes(k))
			Narrow(f, src, randSlice[float32](rng, k))
			dst := guardedF32(t, k)
			Widen(f, dst, src)
			want := make([]float32, k)
			widenGo(f, want, src)
			if !slices.Equal(dst, want) {
				t.Fatalf("%v k=%d: Widen differs from widenGo", f, k)
			}
		}
	}
}
