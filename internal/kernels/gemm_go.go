package kernels

import (
	"fmt"
	"sync"
	"unsafe"
)

// Blocking parameters of the plain-Go GEMM, in elements (GotoBLAS/BLIS loop
// nest; see gemmSerial), chosen for an AMD EPYC (Zen 4: 32 KiB L1d and 1 MiB
// L2 per core, shared L3). They are not critical: the scalar micro-kernel
// needs only a few bytes per cycle, so it is enough to stay roughly within
// the caches. Measured on 1024³ float32, one thread: KC 256→512 gains ~5%
// (fewer C updates); MC 64…192 and NC 1024…4096 are all within noise.
const (
	// gemmMR×gemmNR is the register tile of the micro-kernel (microGo).
	// With scalar SSE code and 15 usable XMM registers, 8 accumulators is
	// the sweet spot: 4×2 and 2×4 measured fastest (≈11 GFLOP/s with hot
	// caches), 3×3 close, while 4×3, 3×4 and 4×4 spill and run at 4-7.
	// microGo, storeTile and the packing leaves are written out for 4×2.
	gemmMR = 4
	gemmNR = 2

	// gemmKC is the depth of one rank-kc update: a packed B micro-panel
	// (gemmKC×gemmNR: 4 KiB for float32, 8 KiB for float64) stays in L1
	// while the micro-kernel sweeps the packed A block. It also fixes where
	// the k sum of every element is cut (see gemmGo).
	gemmKC = 512
	// gemmMC is the height of the packed A block (gemmMC×gemmKC: 256 KiB for
	// float32, 512 KiB for float64), which stays in L2. Multiple of gemmMR.
	gemmMC = 128
	// gemmNC is the width of the packed B panel (gemmKC×gemmNC: 4 MiB for
	// float32), which lives in L3. Multiple of gemmNR.
	gemmNC = 2048

	// gemmParallelMin is the smallest m·n·k (multiply-adds) worth running
	// on more than one goroutine; smaller problems run inline. Measured on
	// the 2-vCPU KVM guest, handing work to the other vCPU costs tens of
	// microseconds, so 2 threads only pay off from about 128³ (2M
	// multiply-adds, ≈0.4 ms on one thread); 96³ is still faster inline.
	gemmParallelMin = 1 << 21
	// gemmThreadMin is the least work (m·n·k) each goroutine should get.
	gemmThreadMin = 1 << 20
)

// goKernel is the plain-Go SGEMM, registered as "go". It is always
// available and is the fallback when no assembly kernel applies.
type goKernel struct{}

func (goKernel) Name() string { return "go" }

func (goKernel) Sgemm(threads int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemmGo(threads, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func init() { Register(goKernel{}) }

// gemmGo is the plain-Go GEMM behind goKernel and Dgemm, with the contract of
// SgemmKernel:
//
//	C[m×n] = alpha · op(A) · op(B) + beta · C
//
// It is a GotoBLAS/BLIS-style blocked algorithm (gemmSerial): op(B) is
// packed into gemmKC×gemmNC panels of gemmNR-column micro-panels, op(A)
// (scaled by alpha) into gemmMC×gemmKC blocks of gemmMR-row micro-panels,
// both zero-padded at the edges, so the micro-kernel sees one layout for all
// four transpose combinations. With threads > 1 and enough work, C is split
// into disjoint tiles computed concurrently, each by the same serial
// algorithm. Products with fewer than gemmMR rows or gemmNR columns
// (matrix-vector-like) skip packing and take gemmThin instead.
//
// Every element of C gets the same sequence of floating-point operations
// whatever the thread count, the tiling, the path or the size of the
// product: its k sum is cut at multiples of gemmKC from 0, each piece is
// Σ T(alpha·a)·b summed in order from +0, then merged into C in order. So
// results are bit-identical for any threads, and any block of rows and
// columns of C comes out the same when computed on its own (batch
// invariance). Products are written T(x*y) so that the compiler never fuses
// them into FMAs (it would with GOAMD64=v3, and not uniformly), which keeps
// this true, and the results the same, at every GOAMD64 level.
//
// As in BLAS, alpha == 0 (or k == 0) means A and B are not read and
// C = beta·C; beta == 0 means C is not read.
func gemmGo[T Float](threads int, transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if gemmDone(transA, transB, m, n, k, alpha, len(a), lda, len(b), ldb, beta, c, ldc) {
		return
	}
	if m < gemmMR || n < gemmNR {
		gemmThin(threads, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	tm, tn := gemmSplit(threads, m, n, k)
	if tm*tn == 1 {
		gemmSerial(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}

	runTiles(tm, tn, gemmMR, gemmNR, transA, transB, m, n, a, lda, b, ldb, c, ldc, func(m, n int, a, b, c []T) {
		gemmSerial(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	})
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// gemmMaxThreads is how many goroutines a product of m·n·k multiply-adds
// may use, given the threads setting.
func gemmMaxThreads(threads, m, n, k int) int {
	work := int64(m) * int64(n) * int64(k)
	if threads <= 1 || work < gemmParallelMin {
		return 1
	}
	return int(min(int64(threads), work/gemmThreadMin))
}

// gemmSplit chooses how to tile C among up to threads goroutines: tm tiles
// along M times tn along N. It picks the factorization of the thread count
// whose largest tile (in register tiles, plus the packing each tile does)
// is smallest, preferring splits along M on ties. Small problems get 1×1.
func gemmSplit(threads, m, n, k int) (tm, tn int) {
	return splitTiles(threads, m, n, k, gemmMR, gemmNR)
}

// checkGemm panics (on the caller's goroutine, before any work starts) if
// the dimensions or slices are inconsistent.
// gemmDone checks a product's arguments (panicking on slices too short for
// their shapes) and finishes the products with nothing to multiply: an
// empty C, or k = 0 or alpha = 0, where C = beta·C and A and B are not
// read. It reports whether the product is done.
func gemmDone[T Float](transA, transB bool, m, n, k int, alpha T, la, lda, lb, ldb int, beta T, c []T, ldc int) bool {
	if m <= 0 || n <= 0 {
		return true
	}
	checkGemm(transA, transB, m, n, k, la, lda, lb, ldb, len(c), ldc)
	if k <= 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return true
	}
	return false
}

func checkGemm(transA, transB bool, m, n, k, la, lda, lb, ldb, lc, ldc int) {
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	check := func(name string, rows, cols, l, ld int) {
		if rows <= 0 || cols <= 0 {
			return
		}
		if ld < cols {
			panic(fmt.Sprintf("kernels: gemm: ld%s = %d < %d", name, ld, cols))
		}
		if need := (rows-1)*ld + cols; l < need {
			panic(fmt.Sprintf("kernels: gemm: len(%s) = %d < %d", name, l, need))
		}
	}
	if k < 0 {
		panic(fmt.Sprintf("kernels: gemm: k = %d < 0", k))
	}
	check("a", ar, ac, la, lda)
	check("b", br, bc, lb, ldb)
	check("c", m, n, lc, ldc)
}

// scaleC sets C = beta·C, without reading C when beta is 0.
func scaleC[T Float](m, n int, beta T, c []T, ldc int) {
	if beta == 1 {
		return
	}
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// gemmBufs holds one goroutine's packing buffers.
type gemmBufs[T Float] struct {
	a, b []T
}

// Packing buffers, one pool per element size (a *gemmBufs[float32] or
// *gemmBufs[float64]).
var gemmPool4, gemmPool8 sync.Pool

func gemmPool[T Float]() *sync.Pool {
	var z T
	if unsafe.Sizeof(z) == 4 {
		return &gemmPool4
	}
	return &gemmPool8
}

// gemmSerial computes C = alpha·op(A)·op(B) + beta·C on the calling
// goroutine, with k > 0.
//
// Loop nest (jc, pc, ic, jr, ir), as in BLIS:
//
//	for jc over n in steps of gemmNC:        B panel columns
//	  for pc over k in steps of gemmKC:      rank-kc update (in order)
//	    pack op(B)[pc:pc+kc, jc:jc+nc]
//	    for ic over m in steps of gemmMC:
//	      pack alpha·op(A)[ic:ic+mc, pc:pc+kc]
//	      for jr over nc in steps of gemmNR:  B micro-panel (L1)
//	        for ir over mc in steps of gemmMR: A micro-panel (L2)
//	          micro-kernel, then C tile (+)= result
func gemmSerial[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	pool := gemmPool[T]()
	bufs, _ := pool.Get().(*gemmBufs[T])
	if bufs == nil {
		bufs = new(gemmBufs[T])
	}
	kcMax := min(k, gemmKC)
	if need := ceilDiv(min(m, gemmMC), gemmMR) * gemmMR * kcMax; len(bufs.a) < need {
		bufs.a = make([]T, need)
	}
	if need := ceilDiv(min(n, gemmNC), gemmNR) * gemmNR * kcMax; len(bufs.b) < need {
		bufs.b = make([]T, need)
	}
	var acc [gemmMR * gemmNR]T
	for jc := 0; jc < n; jc += gemmNC {
		nc := min(gemmNC, n-jc)
		for pc := 0; pc < k; pc += gemmKC {
			kc := min(gemmKC, k-pc)
			mode := tileMode(pc, beta)
			packB(transB, b, ldb, pc, kc, jc, nc, bufs.b)
			for ic := 0; ic < m; ic += gemmMC {
				mc := min(gemmMC, m-ic)
				packA(transA, a, lda, ic, mc, pc, kc, alpha, bufs.a)
				for jr := 0; jr < nc; jr += gemmNR {
					nr := min(gemmNR, nc-jr)
					bp := bufs.b[jr*kc : (jr+gemmNR)*kc]
					for ir := 0; ir < mc; ir += gemmMR {
						mr := min(gemmMR, mc-ir)
						microGo(kc, true, bufs.a[ir*kc:(ir+gemmMR)*kc], bp, &acc)
						storeTile(&acc, c[(ic+ir)*ldc+jc+jr:], ldc, mr, nr, mode, beta)
					}
				}
			}
		}
	}
	pool.Put(bufs)
}

// How storeTile combines the micro-kernel result r with C.
const (
	tileSet      = iota // c = r (c not read)
	tileAdd             // c = c + r
	tileScaleAdd        // c = beta·c + r
)

// storeTile merges the mr×nr top-left corner of a micro-kernel result into
// C. The same expression is used for full and edge tiles, so an element's
// value does not depend on which kind of tile it fell in. T(beta*x) is an
// explicit conversion so that the compiler may not fuse it with the add
// (keeping results independent of the fused-multiply-add choice here).
func storeTile[T Float](acc *[gemmMR * gemmNR]T, c []T, ldc, mr, nr, mode int, beta T) {
	if mr == gemmMR && nr == gemmNR {
		c0 := c[:2:2]
		c1 := c[ldc : ldc+2 : ldc+2]
		c2 := c[2*ldc : 2*ldc+2 : 2*ldc+2]
		c3 := c[3*ldc : 3*ldc+2 : 3*ldc+2]
		switch mode {
		case tileSet:
			c0[0], c0[1] = acc[0], acc[1]
			c1[0], c1[1] = acc[2], acc[3]
			c2[0], c2[1] = acc[4], acc[5]
			c3[0], c3[1] = acc[6], acc[7]
		case tileAdd:
			c0[0], c0[1] = c0[0]+acc[0], c0[1]+acc[1]
			c1[0], c1[1] = c1[0]+acc[2], c1[1]+acc[3]
			c2[0], c2[1] = c2[0]+acc[4], c2[1]+acc[5]
			c3[0], c3[1] = c3[0]+acc[6], c3[1]+acc[7]
		default:
			c0[0], c0[1] = T(beta*c0[0])+acc[0], T(beta*c0[1])+acc[1]
			c1[0], c1[1] = T(beta*c1[0])+acc[2], T(beta*c1[1])+acc[3]
			c2[0], c2[1] = T(beta*c2[0])+acc[4], T(beta*c2[1])+acc[5]
			c3[0], c3[1] = T(beta*c3[0])+acc[6], T(beta*c3[1])+acc[7]
		}
		return
	}
	for i := range mr {
		combine(c[i*ldc:], 1, acc[i*gemmNR:i*gemmNR+nr], mode, beta)
	}
}

// combine merges r into C elements c[i*stride], i = 0…len(r)-1, with the
// same expressions as storeTile.
func combine[T Float](c []T, stride int, r []T, mode int, beta T) {
	if len(r) == 0 {
		return
	}
	c = c[:(len(r)-1)*stride+1]
	switch mode {
	case tileSet:
		for i, v := range r {
			c[i*stride] = v
		}
	case tileAdd:
		for i, v := range r {
			c[i*stride] = c[i*stride] + v
		}
	default:
		for i, v := range r {
			c[i*stride] = T(beta*c[i*stride]) + v
		}
	}
}

// Packing. The copy loops are small go:noinline leaf functions: inlined
// into the packing drivers they lose their registers to the outer loops'
// variables and spill (measured 2-5× slower). Packing reads several rows of a
// matrix at once; with power-of-two leading dimensions those rows share one
// L1 set, so each leaf reads at most four rows at a time.

// packA packs alpha·op(A)[i0:i0+mc, p0:p0+kc] into dst as ceil(mc/gemmMR)
// micro-panels of kc×gemmMR values: panel q holds rows i0+q·gemmMR… and its
// step p is dst[q·gemmMR·kc + p·gemmMR + r]. Rows past mc are zero. alpha is
// applied here (a plain copy when it is 1), so each element of the product
// is T(alpha·a)·b whatever the path.
func packA[T Float](transA bool, a []T, lda, i0, mc, p0, kc int, alpha T, dst []T) {
	full := mc / gemmMR
	mr := mc - full*gemmMR
	if transA {
		// op(A)[i, p] = a[p*lda+i]: step p of all panels is one contiguous
		// run of row p0+p of a. Four steps at a time fill whole 16-value
		// groups of each panel.
		row := func(p int) []T { return a[(p0+p)*lda+i0:][:mc] }
		p := 0
		for ; p+4 <= kc; p += 4 {
			stepsToPanels4x4(dst[p*gemmMR:], gemmMR*kc, full, row(p), row(p+1), row(p+2), row(p+3), alpha)
		}
		for ; p < kc; p++ {
			stepToPanels4(dst[p*gemmMR:], gemmMR*kc, full, row(p), alpha)
		}
		if mr > 0 {
			d := dst[full*gemmMR*kc:][:gemmMR*kc]
			for p := range kc {
				src := row(p)[full*gemmMR:]
				for r := range gemmMR {
					if r < mr {
						d[p*gemmMR+r] = alpha * src[r]
					} else {
						d[p*gemmMR+r] = 0
					}
				}
			}
		}
		return
	}
	// op(A)[i, p] = a[i*lda+p]: each panel interleaves gemmMR contiguous
	// rows of a.
	row := func(i int) []T { return a[(i0+i)*lda+p0:][:kc] }
	for q := range full {
		i := q * gemmMR
		interleave4(dst[i*kc:][:gemmMR*kc], row(i), row(i+1), row(i+2), row(i+3), alpha)
	}
	if mr > 0 {
		i := full * gemmMR
		d := dst[i*kc:][:gemmMR*kc]
		for r := range gemmMR {
			if r >= mr {
				for p := range kc {
					d[p*gemmMR+r] = 0
				}
				continue
			}
			for p, v := range row(i + r) {
				d[p*gemmMR+r] = alpha * v
			}
		}
	}
}

// interleave4 sets d[4p+j] = alpha·rj[p] (a copy when alpha is 1).
//
//go:noinline
func interleave4[T Float](d, r0, r1, r2, r3 []T, alpha T) {
	n := len(r0)
	r1, r2, r3 = r1[:n], r2[:n], r3[:n]
	d = d[:4*n]
	if alpha == 1 {
		for p := range n {
			dp := (*[4]T)(d[4*p:])
			dp[0], dp[1], dp[2], dp[3] = r0[p], r1[p], r2[p], r3[p]
		}
		return
	}
	for p := range n {
		dp := (*[4]T)(d[4*p:])
		dp[0], dp[1], dp[2], dp[3] = alpha*r0[p], alpha*r1[p], alpha*r2[p], alpha*r3[p]
	}
}

// stepsToPanels4x4 scatters four consecutive steps (rows r0…r3 of op(A)ᵀ)
// into the first n 4-wide panels: panel q gets d[q*stride:][0:16] =
// alpha·(r0[4q:4q+4], r1[4q:4q+4], r2[…], r3[…]).
//
//go:noinline
func stepsToPanels4x4[T Float](d []T, stride, n int, r0, r1, r2, r3 []T, alpha T) {
	r0, r1, r2, r3 = r0[:4*n], r1[:4*n], r2[:4*n], r3[:4*n]
	off := 0
	for q := range n {
		dp := (*[16]T)(d[off:])
		i := 4 * q
		s0, s1, s2, s3 := (*[4]T)(r0[i:]), (*[4]T)(r1[i:]), (*[4]T)(r2[i:]), (*[4]T)(r3[i:])
		if alpha == 1 {
			*(*[4]T)(dp[0:]) = *s0
			*(*[4]T)(dp[4:]) = *s1
			*(*[4]T)(dp[8:]) = *s2
			*(*[4]T)(dp[12:]) = *s3
		} else {
			dp[0], dp[1], dp[2], dp[3] = alpha*s0[0], alpha*s0[1], alpha*s0[2], alpha*s0[3]
			dp[4], dp[5], dp[6], dp[7] = alpha*s1[0], alpha*s1[1], alpha*s1[2], alpha*s1[3]
			dp[8], dp[9], dp[10], dp[11] = alpha*s2[0], alpha*s2[1], alpha*s2[2], alpha*s2[3]
			dp[12], dp[13], dp[14], dp[15] = alpha*s3[0], alpha*s3[1], alpha*s3[2], alpha*s3[3]
		}
		off += stride
	}
}

// stepToPanels4 is stepsToPanels4x4 for a single step.
//
//go:noinline
func stepToPanels4[T Float](d []T, stride, n int, r0 []T, alpha T) {
	r0 = r0[:4*n]
	off := 0
	for q := range n {
		dp := (*[4]T)(d[off:])
		s0 := (*[4]T)(r0[4*q:])
		dp[0], dp[1], dp[2], dp[3] = alpha*s0[0], alpha*s0[1], alpha*s0[2], alpha*s0[3]
		off += stride
	}
}

// packB packs op(B)[p0:p0+kc, j0:j0+nc] into dst as ceil(nc/gemmNR)
// micro-panels of kc×gemmNR values: panel q holds columns j0+q·gemmNR… and
// its step p is dst[q·gemmNR·kc + p·gemmNR + j]. Columns past nc are zero.
func packB[T Float](transB bool, b []T, ldb, p0, kc, j0, nc int, dst []T) {
	full := nc / gemmNR
	if transB {
		// op(B)[p, j] = b[j*ldb+p]: each panel interleaves gemmNR
		// contiguous rows of b.
		col := func(j int) []T { return b[(j0+j)*ldb+p0:][:kc] }
		for q := range full {
			j := q * gemmNR
			interleave2(dst[j*kc:][:gemmNR*kc], col(j), col(j+1))
		}
		if nc > full*gemmNR { // one column left (gemmNR is 2)
			j := full * gemmNR
			d := dst[j*kc:][:gemmNR*kc]
			for p, v := range col(j) {
				dp := (*[gemmNR]T)(d[p*gemmNR:])
				dp[0], dp[1] = v, 0
			}
		}
		return
	}
	// op(B)[p, j] = b[p*ldb+j]: step p of all panels is one contiguous run
	// of row p0+p of b.
	row := func(p int) []T { return b[(p0+p)*ldb+j0:][:nc] }
	p := 0
	for ; p+4 <= kc; p += 4 {
		stepsToPanels2x4(dst[p*gemmNR:], gemmNR*kc, full, row(p), row(p+1), row(p+2), row(p+3))
	}
	for ; p < kc; p++ {
		stepToPanels2(dst[p*gemmNR:], gemmNR*kc, full, row(p))
	}
	if nc > full*gemmNR {
		j := full * gemmNR
		d := dst[j*kc:][:gemmNR*kc]
		for p := range kc {
			dp := (*[gemmNR]T)(d[p*gemmNR:])
			dp[0], dp[1] = row(p)[j], 0
		}
	}
}

// interleave2 sets d[2p] = r0[p], d[2p+1] = r1[p].
//
//go:noinline
func interleave2[T Float](d, r0, r1 []T) {
	n := len(r0)
	r1 = r1[:n]
	d = d[:2*n]
	for p := range n {
		dp := (*[2]T)(d[2*p:])
		dp[0], dp[1] = r0[p], r1[p]
	}
}

// stepsToPanels2x4 scatters four consecutive steps (rows r0…r3 of op(B))
// into the first n 2-wide panels: panel q gets d[q*stride:][0:8] =
// (r0[2q:2q+2], r1[2q:2q+2], r2[…], r3[…]).
//
//go:noinline
func stepsToPanels2x4[T Float](d []T, stride, n int, r0, r1, r2, r3 []T) {
	r0, r1, r2, r3 = r0[:2*n], r1[:2*n], r2[:2*n], r3[:2*n]
	off := 0
	for q := range n {
		dp := (*[8]T)(d[off:])
		i := 2 * q
		dp[0], dp[1] = r0[i], r0[i+1]
		dp[2], dp[3] = r1[i], r1[i+1]
		dp[4], dp[5] = r2[i], r2[i+1]
		dp[6], dp[7] = r3[i], r3[i+1]
		off += stride
	}
}

// stepToPanels2 is stepsToPanels2x4 for a single step.
//
//go:noinline
func stepToPanels2[T Float](d []T, stride, n int, r0 []T) {
	r0 = r0[:2*n]
	off := 0
	for q := range n {
		dp := (*[2]T)(d[off:])
		dp[0], dp[1] = r0[2*q], r0[2*q+1]
		off += stride
	}
}
