//go:build openblas && cgo

// Package openblas registers OpenBLAS's cblas_sgemm as the GEMM kernel named
// "openblas". It builds only with -tags openblas (cgo and Debian's
// libopenblas-dev) and is the yardstick loom's own kernels are measured
// against; it is never the default. Import it for its side effect:
//
//	import _ "github.com/loomml/loom/internal/kernels/openblas"
//
// (cmd/loom does so in builds with the tag). Go does not allow cgo and Go
// assembly in one package, hence this separate package.
package openblas

/*
#cgo LDFLAGS: -lopenblas
#include <cblas.h>
void openblas_set_num_threads(int num_threads);
*/
import "C"

import (
	"sync"
	"unsafe"

	"github.com/loomml/loom/internal/kernels"
)

// openblasKernel routes SGEMM to cblas_sgemm, pinning OpenBLAS's own thread
// pool to the requested thread count (openblas_set_num_threads) whenever it
// changes.
type openblasKernel struct{}

var (
	mu      sync.Mutex
	threads int
)

func (openblasKernel) Name() string { return "openblas" }

func (openblasKernel) Sgemm(nt int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m <= 0 || n <= 0 {
		return
	}
	if k <= 0 || alpha == 0 {
		// C = beta·C without touching the (possibly empty) A and B.
		kernels.GemmRef(transA, transB, m, n, 0, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	mu.Lock()
	if nt != threads {
		C.openblas_set_num_threads(C.int(nt))
		threads = nt
	}
	mu.Unlock()
	ta, tb := uint32(C.CblasNoTrans), uint32(C.CblasNoTrans)
	if transA {
		ta = C.CblasTrans
	}
	if transB {
		tb = C.CblasTrans
	}
	C.cblas_sgemm(C.CblasRowMajor, ta, tb, C.blasint(m), C.blasint(n), C.blasint(k),
		C.float(alpha), (*C.float)(unsafe.Pointer(&a[0])), C.blasint(lda),
		(*C.float)(unsafe.Pointer(&b[0])), C.blasint(ldb),
		C.float(beta), (*C.float)(unsafe.Pointer(&c[0])), C.blasint(ldc))
}

func init() { kernels.Register(openblasKernel{}) }
