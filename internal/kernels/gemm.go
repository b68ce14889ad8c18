package kernels

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/loomml/loom/internal/registry"
)

// Float is the set of element types the plain-Go kernels are written for.
type Float interface{ ~float32 | ~float64 }

// SgemmKernel is one implementation of single-precision GEMM on row-major
// matrices:
//
//	C[m×n] = alpha · op(A) · op(B) + beta · C
//
// where op(A) is A[m×k] (lda ≥ k) or, when transA, the transpose of A[k×m]
// (lda ≥ m); likewise op(B) is B[k×n] (ldb ≥ n) or the transpose of B[n×k]
// (ldb ≥ k). C has leading dimension ldc ≥ n. When beta is 0, C is not read
// (NaNs in C do not propagate), as in BLAS. threads is the number of
// goroutines the kernel may use (≥ 1).
//
// Every implementation must give results that do not depend on threads, so a
// run is reproducible bit for bit at any thread count.
type SgemmKernel interface {
	Name() string
	Sgemm(threads int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
}

var (
	kernels = registry.New[SgemmKernel]("GEMM kernel")
	mu      sync.RWMutex // guards current
	current SgemmKernel  // nil until chosen by Use or the first call
	threads atomic.Int64
)

// preference lists the kernels in the order the default is chosen: the
// first one registered on this machine (the assembly kernels register only
// when the CPU has their instructions). The environment variable LOOM_GEMM
// names another registered kernel to use instead.
var preference = []string{"avx512_6x64", "avx2_6x16", "go"}

func init() { threads.Store(int64(runtime.GOMAXPROCS(0))) }

// Register adds a kernel to the registry (from an init function). It does
// not change the kernel in use.
func Register(k SgemmKernel) { kernels.Register(k.Name(), k) }

// kernel returns the kernel in use, choosing the default on first use.
func kernel() SgemmKernel {
	mu.RLock()
	k := current
	mu.RUnlock()
	if k != nil {
		return k
	}
	mu.Lock()
	defer mu.Unlock()
	if current == nil {
		if k, ok := kernels.Lookup(os.Getenv("LOOM_GEMM")); ok {
			current = k
		}
		for _, name := range preference {
			if k, ok := kernels.Lookup(name); ok && current == nil {
				current = k
			}
		}
	}
	return current
}

// Use selects the kernel named name for all later Sgemm calls.
func Use(name string) error {
	k, err := kernels.Get(name)
	if err != nil {
		return fmt.Errorf("kernels: %w", err)
	}
	mu.Lock()
	defer mu.Unlock()
	current = k
	return nil
}

// Current returns the name of the kernel in use.
func Current() string { return kernel().Name() }

// Names lists the registered kernels, sorted.
func Names() []string { return kernels.Names() }

// Get returns the kernel named name, or nil.
func Get(name string) SgemmKernel {
	k, _ := kernels.Lookup(name)
	return k
}

// SetThreads sets the number of goroutines kernels may use (n < 1 means
// GOMAXPROCS) and returns the previous setting.
func SetThreads(n int) int {
	if n < 1 {
		n = runtime.GOMAXPROCS(0)
	}
	return int(threads.Swap(int64(n)))
}

// Threads returns the current thread setting.
func Threads() int { return int(threads.Load()) }

// Sgemm runs the current kernel with the current thread setting. See
// SgemmKernel for the contract.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	kernel().Sgemm(Threads(), transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// SgemmWith is Sgemm with an explicit goroutine budget; callers that already
// run in parallel (one GEMM per attention head, say) pass 1.
func SgemmWith(threads int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	kernel().Sgemm(max(threads, 1), transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// DgemmWith is Dgemm with an explicit goroutine budget.
func DgemmWith(threads int, transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	gemmGo(max(threads, 1), transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Parallel runs f(0), …, f(n−1) on up to Threads() goroutines (the caller's
// among them) and returns when all are done. Items are handed out in order
// from a shared counter, so f must not depend on which goroutine runs it.
func Parallel(n int, f func(i int)) { run(n, Threads()-1, f) }

// Dgemm is the double-precision GEMM (same contract as Sgemm). It is used for
// float64 tensors, which loom uses for gradient checks and analysis, so it is
// the plain-Go kernel only.
func Dgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	gemmGo(Threads(), transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// GemmRef is the obviously-correct reference: a triple loop accumulating in
// float64. Tests compare every kernel with it.
func GemmRef[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var av, bv T
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			r := T(float64(alpha) * s)
			if beta != 0 {
				r += beta * c[i*ldc+j]
			}
			c[i*ldc+j] = r
		}
	}
}
