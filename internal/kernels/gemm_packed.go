package kernels

import (
	"fmt"
	"sync"
	"unsafe"
)

// asmKernel is one generated assembly micro-kernel (see gen/main.go): it
// computes an mr×nr tile of C from k steps of packed A (mr values per step)
// and packed B (nr values per step), storing into C (mode 0, C not read) or
// adding to it (mode 1).
//
// fnUA, when not nil, is the same kernel reading A unpacked: row i of the
// tile at a + i·lda, step p at a[i·lda + p] (used when op(A) = A and alpha
// is 1, which saves packing A).
type asmKernel struct {
	name, isa string
	mr, nr    int
	fn        func(k int, a, b, c *float32, ldc int, mode int)
	fnUA      uaKernel
	// edgeUA[r−1], when present, is fnUA for a tile of r < mr rows (the
	// last rows of a product), each element computed as in a full tile.
	edgeUA []uaKernel
}

// uaKernel is a micro-kernel reading A unpacked.
type uaKernel func(k int, a *float32, lda int, b, c *float32, ldc int, mode int)

// packedKernel drives a register-tile micro-kernel (microKernel) through the
// GotoBLAS/BLIS loop nest: op(B) is packed into kc×nc panels of nr-column
// micro-panels, alpha·op(A) into mc×kc blocks of mr-row micro-panels, both
// zero-padded at the edges; every (mr×nr) tile of C is then one micro-kernel
// call per kc block of k, accumulating into C in order. Threads split C into
// disjoint tiles that run the same algorithm, so every element of C sees the
// same operations whatever the thread count or tile.
type packedKernel struct {
	micro      asmKernel
	kc, mc, nc int
}

func (p *packedKernel) Name() string {
	return fmt.Sprintf("%s_%dx%d", lowerISA(p.micro.isa), p.micro.mr, p.micro.nr)
}

func lowerISA(s string) string {
	switch s {
	case "AVX512":
		return "avx512"
	case "AVX2":
		return "avx2"
	}
	return s
}

// packedSmall is the m·n·k (multiply-adds) below which the plain-Go kernel
// is used: packing costs more than it saves on tiny products.
const packedSmall = 32 * 32 * 32

func (p *packedKernel) Sgemm(threads int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if gemmDone(transA, transB, m, n, k, alpha, len(a), lda, len(b), ldb, beta, c, ldc) {
		return
	}
	if m < 4 && useAVX512 && k > 0 {
		gemvRows(threads, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	if m <= gemvMaxRows && transB && !transA && useAVX512 && int64(n)*int64(k) >= gemvBlockMin {
		gemvBlock(threads, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	if m < 4 || int64(m)*int64(n)*int64(k) < packedSmall {
		gemmGo(threads, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	if beta != 0 && beta != 1 {
		scaleC(m, n, beta, c, ldc)
		beta = 1
	}
	mr, nr := p.micro.mr, p.micro.nr
	tm, tn := splitTiles(threads, m, n, k, mr, nr)
	if tm*tn == 1 {
		p.serial(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	runTiles(tm, tn, mr, nr, transA, transB, m, n, a, lda, b, ldb, c, ldc, func(m, n int, a, b, c []float32) {
		p.serial(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	})
}

// runTiles splits C [m×n] into tm×tn tiles whose boundaries are multiples
// of the register tile mr×nr (to avoid extra edge tiles) and runs serial on
// each tile's sub-problem (views of A, B and C), concurrently, on the
// kernels' worker pool (the calling goroutine among them). The pool, not a
// goroutine per tile: with GOMAXPROCS = threads, a new goroutine waited
// for a processor while a pool worker that had just finished an
// elementwise job spun for its next one (up to spinFor), which made
// back-to-back products of a training step at 2 threads barely faster
// than at 1.
func runTiles[T Float](tm, tn, mr, nr int, transA, transB bool, m, n int, a []T, lda int, b []T, ldb int, c []T, ldc int, serial func(m, n int, a, b, c []T)) {
	mBlocks, nBlocks := ceilDiv(m, mr), ceilDiv(n, nr)
	run(tm*tn, tm*tn-1, func(t int) {
		ti, tj := t/tn, t%tn
		i0, i1 := min(m, ti*mBlocks/tm*mr), min(m, (ti+1)*mBlocks/tm*mr)
		j0, j1 := min(n, tj*nBlocks/tn*nr), min(n, (tj+1)*nBlocks/tn*nr)
		if i0 >= i1 || j0 >= j1 {
			return
		}
		var sa, sb []T
		if transA {
			sa = a[i0:]
		} else {
			sa = a[i0*lda:]
		}
		if transB {
			sb = b[j0*ldb:]
		} else {
			sb = b[j0:]
		}
		serial(i1-i0, j1-j0, sa, sb, c[i0*ldc+j0:])
	})
}

// splitTiles chooses tm×tn ≤ threads tiles of C (whole register tiles),
// minimising the largest tile's work plus its packing.
func splitTiles(threads, m, n, k, mr, nr int) (tm, tn int) {
	work := int64(m) * int64(n) * int64(k)
	if threads <= 1 || work < gemmParallelMin {
		return 1, 1
	}
	threads = int(min(int64(threads), work/gemmThreadMin))
	mBlocks, nBlocks := ceilDiv(m, mr), ceilDiv(n, nr)
	tm, tn = 1, 1
	best := -1
	for t := 1; t <= threads; t++ {
		for i := t; i >= 1; i-- {
			if t%i != 0 {
				continue
			}
			j := t / i
			if i > mBlocks || j > nBlocks {
				continue
			}
			rows, cols := ceilDiv(mBlocks, i)*mr, ceilDiv(nBlocks, j)*nr
			cost := rows*cols + rows + cols
			if best < 0 || cost < best {
				best, tm, tn = cost, i, j
			}
		}
	}
	return tm, tn
}

// packBufs holds one goroutine's 64-byte-aligned packing buffers.
type packBufs struct {
	a, b, tile []float32
}

var packPool sync.Pool

// aligned returns a slice of n float32s starting on a 64-byte boundary.
func aligned(n int) []float32 {
	s := make([]float32, n+16)
	off := int(uintptr(unsafe.Pointer(&s[0]))&63) / 4
	if off != 0 {
		off = 16 - off
	}
	return s[off : off+n]
}

func (p *packedKernel) serial(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	p.loops(transA, m, n, k, alpha, a, lda, beta, c, ldc, func(bufs *packBufs, pc, kc, jc, nc int) []float32 {
		if need := ceilDiv(min(n, p.nc), p.micro.nr) * p.micro.nr * min(k, p.kc); len(bufs.b) < need {
			bufs.b = aligned(need)
		}
		packBPanels(transB, b, ldb, pc, kc, jc, nc, p.micro.nr, bufs.b)
		return bufs.b
	})
}

// loops is the loop nest of serial; panels returns op(B)[pc:pc+kc,
// jc:jc+nc] as micro-panels (the one at column jc+jr starts at jr·kc),
// packing them into bufs.b or finding them packed already.
func (p *packedKernel) loops(transA bool, m, n, k int, alpha float32, a []float32, lda int, beta float32, c []float32, ldc int, panels func(bufs *packBufs, pc, kc, jc, nc int) []float32) {
	mr, nr := p.micro.mr, p.micro.nr
	kern := p.micro.fn
	bufs, _ := packPool.Get().(*packBufs)
	if bufs == nil {
		bufs = &packBufs{}
	}
	kcMax := min(k, p.kc)
	if need := ceilDiv(min(m, p.mc), mr) * mr * kcMax; len(bufs.a) < need {
		bufs.a = aligned(need)
	}
	if len(bufs.tile) < mr*nr {
		bufs.tile = aligned(mr * nr)
	}
	tile := bufs.tile[:mr*nr]
	for jc := 0; jc < n; jc += p.nc {
		nc := min(p.nc, n-jc)
		for pc := 0; pc < k; pc += p.kc {
			kc := min(p.kc, k-pc)
			mode := 1
			if pc == 0 && beta == 0 {
				mode = 0
			}
			bpanels := panels(bufs, pc, kc, jc, nc)
			for ic := 0; ic < m; ic += p.mc {
				mc := min(p.mc, m-ic)
				// Full row panels of an untransposed A with alpha 1 are read
				// in place; only the others are packed.
				direct := p.micro.fnUA != nil && !transA && alpha == 1
				full := mc
				if direct {
					full = mc / mr * mr
					if r := mc - full; r > 0 && len(p.micro.edgeUA) >= r {
						full = mc // the last rows have an edge kernel
					} else if r > 0 {
						packAPanels(false, a, lda, ic+full, mc-full, pc, kc, mr, alpha, bufs.a[full*kc:])
					}
				} else {
					packAPanels(transA, a, lda, ic, mc, pc, kc, mr, alpha, bufs.a)
				}
				for jr := 0; jr < nc; jr += nr {
					nrr := min(nr, nc-jr)
					bp := &bpanels[jr*kc]
					for ir := 0; ir < mc; ir += mr {
						mrr := min(mr, mc-ir)
						ci := (ic+ir)*ldc + jc + jr
						if direct && ir < full {
							ar, ua := &a[(ic+ir)*lda+pc], p.micro.fnUA
							if mrr < mr {
								ua = p.micro.edgeUA[mrr-1]
							}
							if nrr == nr {
								ua(kc, ar, lda, bp, &c[ci], ldc, mode)
								continue
							}
							ua(kc, ar, lda, bp, &tile[0], nr, 0)
						} else {
							ap := &bufs.a[ir*kc]
							if mrr == mr && nrr == nr {
								kern(kc, ap, bp, &c[ci], ldc, mode)
								continue
							}
							kern(kc, ap, bp, &tile[0], nr, 0)
						}
						for i := range mrr {
							row := c[ci+i*ldc : ci+i*ldc+nrr]
							t := tile[i*nr : i*nr+nrr]
							if mode == 0 {
								copy(row, t)
							} else {
								Axpy(row, t, 1) // the same single rounding as the kernel's add
							}
						}
					}
				}
			}
		}
	}
	packPool.Put(bufs)
}

// packBPanels packs op(B)[p0:p0+kc, j0:j0+nc] into ceil(nc/nr) micro-panels
// of kc×nr values (panel q, step p at dst[q·nr·kc + p·nr]), zero-padding
// columns past nc.
func packBPanels(transB bool, b []float32, ldb, p0, kc, j0, nc, nr int, dst []float32) {
	for q := 0; q*nr < nc; q++ {
		w := min(nr, nc-q*nr)
		panel := dst[q*nr*kc : (q+1)*nr*kc]
		jj := j0 + q*nr
		if !transB {
			if w == 64 && nr == 64 && useAVX512 && kc > 0 {
				packRows64AVX512(&panel[0], &b[p0*ldb+jj], ldb, kc)
				continue
			}
			for p := range kc {
				d := panel[p*nr : p*nr+nr]
				copy(d, b[(p0+p)*ldb+jj:][:w])
				clear(d[w:])
			}
			continue
		}
		// op(B)[p, j] = b[j*ldb + p]: read rows of b, write columns of the
		// panel: in 16×16 blocks with AVX-512, then four rows at a time so
		// that each step writes adjacent values.
		p16 := 0
		if w == 64 && nr == 64 && useAVX512 {
			for p16 = 0; p16+16 <= kc; p16 += 16 {
				for j := 0; j < 64; j += 16 {
					transpose16AVX512(&panel[p16*64+j], 64, &b[(jj+j)*ldb+p0+p16], ldb)
				}
			}
			if p16 == kc {
				continue
			}
		}
		if p16 > 0 {
			for j := 0; j < w; j += 4 {
				transpose4(panel[p16*nr+j:], nr, b[(jj+j)*ldb+p0+p16:], ldb, kc-p16)
			}
			continue
		}
		j := 0
		for ; j+4 <= w; j += 4 {
			transpose4(panel[j:], nr, b[(jj+j)*ldb+p0:], ldb, kc)
		}
		for ; j < w; j++ {
			src := b[(jj+j)*ldb+p0:][:kc]
			for p, v := range src {
				panel[p*nr+j] = v
			}
		}
		if w < nr {
			for p := range kc {
				clear(panel[p*nr+w : p*nr+nr])
			}
		}
	}
}

// packAPanels packs alpha·op(A)[i0:i0+mc, p0:p0+kc] into ceil(mc/mr)
// micro-panels of kc×mr values (panel q, step p at dst[q·mr·kc + p·mr]),
// zero-padding rows past mc.
func packAPanels(transA bool, a []float32, lda, i0, mc, p0, kc, mr int, alpha float32, dst []float32) {
	if transA && mr == 6 && alpha == 1 && mc%6 == 0 {
		// Row p of a holds step p of every panel: read it once, in order,
		// and deal it out 6 values per panel.
		np := mc / 6
		for p := range kc {
			dealRow6(dst[p*6:], 6*kc, a[(p0+p)*lda+i0:][:mc], np)
		}
		return
	}
	for q := 0; q*mr < mc; q++ {
		h := min(mr, mc-q*mr)
		panel := dst[q*mr*kc : (q+1)*mr*kc]
		ii := i0 + q*mr
		if transA {
			// op(A)[i, p] = a[p*lda + i]: contiguous runs of h values.
			if h == 6 && mr == 6 && alpha == 1 {
				for p := range kc {
					d := panel[p*6 : p*6+6 : p*6+6]
					s := a[(p0+p)*lda+ii:][:6:6]
					d[0], d[1], d[2], d[3], d[4], d[5] = s[0], s[1], s[2], s[3], s[4], s[5]
				}
				continue
			}
			for p := range kc {
				d := panel[p*mr : p*mr+mr]
				s := a[(p0+p)*lda+ii:][:h]
				if alpha == 1 {
					copy(d, s)
				} else {
					for i, v := range s {
						d[i] = alpha * v
					}
				}
				clear(d[h:])
			}
			continue
		}
		i := 0
		if alpha == 1 && h == 6 && mr == 6 {
			transpose6(panel, a[ii*lda+p0:], lda, kc)
			continue
		}
		if alpha == 1 {
			for ; i+4 <= h; i += 4 {
				transpose4(panel[i:], mr, a[(ii+i)*lda+p0:], lda, kc)
			}
		}
		for ; i < h; i++ {
			src := a[(ii+i)*lda+p0:][:kc]
			if alpha == 1 {
				for p, v := range src {
					panel[p*mr+i] = v
				}
			} else {
				for p, v := range src {
					panel[p*mr+i] = alpha * v
				}
			}
		}
		if h < mr {
			for p := range kc {
				clear(panel[p*mr+h : p*mr+mr])
			}
		}
	}
}

// transpose4 copies four rows of n values (src, src[ld:], src[2ld:],
// src[3ld:]) into four adjacent columns of dst with row stride stride:
// dst[p*stride + r] = src[r*ld + p].
//
//go:noinline
func transpose4(dst []float32, stride int, src []float32, ld, n int) {
	if n == 0 {
		return
	}
	s0 := src[:n]
	s1 := src[ld : ld+n]
	s2 := src[2*ld : 2*ld+n]
	s3 := src[3*ld : 3*ld+n]
	_ = dst[(n-1)*stride+3]
	for p := range n {
		d := dst[p*stride : p*stride+4 : p*stride+4]
		d[0], d[1], d[2], d[3] = s0[p], s1[p], s2[p], s3[p]
	}
}

// transpose6 packs six rows of n values (src, src[ld:], …, src[5ld:]) into
// dst[p*6 + r] = src[r*ld + p].
//
//go:noinline
func transpose6(dst []float32, src []float32, ld, n int) {
	if n == 0 {
		return
	}
	s0 := src[:n]
	s1 := src[ld : ld+n]
	s2 := src[2*ld : 2*ld+n]
	s3 := src[3*ld : 3*ld+n]
	s4 := src[4*ld : 4*ld+n]
	s5 := src[5*ld : 5*ld+n]
	dst = dst[:6*n]
	for p := range n {
		d := dst[p*6 : p*6+6 : p*6+6]
		d[0], d[1], d[2], d[3], d[4], d[5] = s0[p], s1[p], s2[p], s3[p], s4[p], s5[p]
	}
}

// dealRow6 copies np groups of six values of src into dst[q*stride:][:6].
//
//go:noinline
func dealRow6(dst []float32, stride int, src []float32, np int) {
	src = src[:6*np]
	if np > 0 && useAVX512 {
		_ = dst[(np-1)*stride+5]
		dealRow6AVX512(&dst[0], stride, &src[0], np)
		return
	}
	for q := range np {
		d := dst[q*stride : q*stride+6 : q*stride+6]
		s := src[q*6 : q*6+6 : q*6+6]
		d[0], d[1], d[2], d[3], d[4], d[5] = s[0], s[1], s[2], s[3], s[4], s[5]
	}
}
