package kernels

// gemmThinChunk is how many columns (few-row case) or rows (one-column
// case) of C the thin path accumulates at a time.
const gemmThinChunk = 2048

// gemmThin computes C = alpha·op(A)·op(B) + beta·C when m < gemmMR (one to
// three rows) or n < gemmNR (one column): matrix-vector-like products, where
// packing would cost as much as the arithmetic and the register tile would
// be mostly padding.
//
// It does exactly the floating-point operations of the packed path for each
// element of C, in the same order: the k sum is cut at multiples of gemmKC;
// each piece is Σ T(alpha·a)·b summed in order from +0 (alpha skipped when
// 1), then merged into C as storeTile does. So a row or column computed here
// is bit-identical to the same row or column computed as part of a larger
// product, and the results do not depend on threads.
func gemmThin[T Float](threads int, transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if m < gemmMR {
		// Few rows: split the columns.
		parallelRange(gemmMaxThreads(threads, m, n, k), n, func(j0, j1 int) {
			var sb []T
			if transB {
				sb = b[j0*ldb:]
			} else {
				sb = b[j0:]
			}
			thinRows(transA, transB, m, j1-j0, k, alpha, a, lda, sb, ldb, beta, c[j0:], ldc)
		})
		return
	}
	// One column: split the rows.
	parallelRange(gemmMaxThreads(threads, m, n, k), m, func(i0, i1 int) {
		var sa []T
		if transA {
			sa = a[i0:]
		} else {
			sa = a[i0*lda:]
		}
		thinCol(transA, transB, i1-i0, k, alpha, sa, lda, b, ldb, beta, c[i0*ldc:], ldc)
	})
}

// parallelRange runs f over a split of [0, n) into up to threads pieces
// (multiples of 16 long) on the kernels' worker pool, the calling
// goroutine among them (see runTiles for why not goroutines of its own).
func parallelRange(threads, n int, f func(lo, hi int)) {
	t := rangeParts(threads, n)
	if t <= 1 {
		f(0, n)
		return
	}
	blocks := ceilDiv(n, 16)
	run(t, t-1, func(i int) {
		if lo, hi := min(n, i*blocks/t*16), min(n, (i+1)*blocks/t*16); lo < hi {
			f(lo, hi)
		}
	})
}

// rangeParts is how many pieces parallelRange uses.
func rangeParts(threads, n int) int { return max(1, min(threads, ceilDiv(n, 16))) }

// thinRows is gemmThin for m < gemmMR, on one goroutine.
func thinRows[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	pool := gemmPool[T]()
	bufs, _ := pool.Get().(*gemmBufs[T])
	if bufs == nil {
		bufs = new(gemmBufs[T])
	}
	if need := min(k, gemmKC); len(bufs.a) < need {
		bufs.a = make([]T, need)
	}
	if need := min(n, gemmThinChunk); len(bufs.b) < need {
		bufs.b = make([]T, need)
	}
	for i := range m {
		for jc := 0; jc < n; jc += gemmThinChunk {
			nc := min(gemmThinChunk, n-jc)
			acc := bufs.b[:nc]
			for pc := 0; pc < k; pc += gemmKC {
				kc := min(gemmKC, k-pc)
				// x = alpha·op(A)[i, pc:pc+kc], as packA makes it.
				x := bufs.a[:kc]
				if transA {
					for p := range x {
						x[p] = a[(pc+p)*lda+i]
					}
				} else {
					copy(x, a[i*lda+pc:][:kc])
				}
				if alpha != 1 {
					for p := range x {
						x[p] = alpha * x[p]
					}
				}
				if transB {
					// op(B)[p, j] = b[j*ldb+p]: one dot product per column.
					col := func(j int) []T { return b[(jc+j)*ldb+pc:][:kc] }
					j := 0
					for ; j+4 <= nc; j += 4 {
						acc[j], acc[j+1], acc[j+2], acc[j+3] = dot4(x, col(j), col(j+1), col(j+2), col(j+3))
					}
					for ; j < nc; j++ {
						acc[j] = dot1(x, col(j))
					}
				} else {
					// op(B)[p, j] = b[p*ldb+j]: acc += x[p]·row p.
					clear(acc)
					row := func(p int) []T { return b[(pc+p)*ldb+jc:][:nc] }
					p := 0
					for ; p+4 <= kc; p += 4 {
						axpy4(acc, x[p], x[p+1], x[p+2], x[p+3], row(p), row(p+1), row(p+2), row(p+3))
					}
					for ; p < kc; p++ {
						axpy1(acc, x[p], row(p))
					}
				}
				combine(c[i*ldc+jc:][:nc], 1, acc, tileMode(pc, beta), beta)
			}
		}
	}
	pool.Put(bufs)
}

// thinCol is gemmThin for n == 1, on one goroutine.
func thinCol[T Float](transA, transB bool, m, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	pool := gemmPool[T]()
	bufs, _ := pool.Get().(*gemmBufs[T])
	if bufs == nil {
		bufs = new(gemmBufs[T])
	}
	if need := min(k, gemmKC); len(bufs.a) < need {
		bufs.a = make([]T, need)
	}
	if need := min(m, gemmThinChunk); len(bufs.b) < need {
		bufs.b = make([]T, need)
	}
	for ic := 0; ic < m; ic += gemmThinChunk {
		mc := min(gemmThinChunk, m-ic)
		acc := bufs.b[:mc]
		for pc := 0; pc < k; pc += gemmKC {
			kc := min(gemmKC, k-pc)
			// y = op(B)[pc:pc+kc, 0].
			y := bufs.a[:kc]
			if transB {
				copy(y, b[pc:][:kc])
			} else {
				for p := range y {
					y[p] = b[(pc+p)*ldb]
				}
			}
			if transA {
				// op(A)[i, p] = a[p*lda+i]: acc += (alpha·row p)·y[p].
				clear(acc)
				row := func(p int) []T { return a[(pc+p)*lda+ic:][:mc] }
				p := 0
				for ; p+4 <= kc; p += 4 {
					axpy4s(acc, y[p], y[p+1], y[p+2], y[p+3], row(p), row(p+1), row(p+2), row(p+3), alpha)
				}
				for ; p < kc; p++ {
					axpy1s(acc, y[p], row(p), alpha)
				}
			} else {
				// op(A)[i, p] = a[i*lda+p]: one dot product per row.
				row := func(i int) []T { return a[(ic+i)*lda+pc:][:kc] }
				i := 0
				for ; i+4 <= mc; i += 4 {
					acc[i], acc[i+1], acc[i+2], acc[i+3] = dot4s(y, row(i), row(i+1), row(i+2), row(i+3), alpha)
				}
				for ; i < mc; i++ {
					acc[i] = dot1s(y, row(i), alpha)
				}
			}
			combine(c[ic*ldc:], ldc, acc, tileMode(pc, beta), beta)
		}
	}
	pool.Put(bufs)
}

// tileMode is how the k piece starting at pc is merged into C.
func tileMode[T Float](pc int, beta T) int {
	switch {
	case pc > 0 || beta == 1:
		return tileAdd
	case beta == 0:
		return tileSet
	default:
		return tileScaleAdd
	}
}

// The leaf loops below are go:noinline so that each gets the registers to
// itself (see the note on packing). In each, every output is its own
// sequential sum, in the same order as in microGo.

// dot4 returns Σ x[p]·rj[p] for j = 0…3, each summed in order from +0.
//
//go:noinline
func dot4[T Float](x, r0, r1, r2, r3 []T) (s0, s1, s2, s3 T) {
	n := len(x)
	r0, r1, r2, r3 = r0[:n], r1[:n], r2[:n], r3[:n]
	for p, v := range x {
		s0 += T(v * r0[p])
		s1 += T(v * r1[p])
		s2 += T(v * r2[p])
		s3 += T(v * r3[p])
	}
	return
}

// dot1 returns Σ x[p]·r0[p], summed in order from +0.
//
//go:noinline
func dot1[T Float](x, r0 []T) (s0 T) {
	r0 = r0[:len(x)]
	for p, v := range x {
		s0 += T(v * r0[p])
	}
	return
}

// dot4s returns Σ (alpha·rj[p])·y[p] for j = 0…3 (alpha skipped when 1),
// each summed in order from +0.
//
//go:noinline
func dot4s[T Float](y, r0, r1, r2, r3 []T, alpha T) (s0, s1, s2, s3 T) {
	n := len(y)
	r0, r1, r2, r3 = r0[:n], r1[:n], r2[:n], r3[:n]
	if alpha == 1 {
		for p, v := range y {
			s0 += T(r0[p] * v)
			s1 += T(r1[p] * v)
			s2 += T(r2[p] * v)
			s3 += T(r3[p] * v)
		}
		return
	}
	for p, v := range y {
		s0 += T(T(alpha*r0[p]) * v)
		s1 += T(T(alpha*r1[p]) * v)
		s2 += T(T(alpha*r2[p]) * v)
		s3 += T(T(alpha*r3[p]) * v)
	}
	return
}

// dot1s returns Σ (alpha·r0[p])·y[p] (alpha skipped when 1), summed in
// order from +0.
//
//go:noinline
func dot1s[T Float](y, r0 []T, alpha T) (s0 T) {
	r0 = r0[:len(y)]
	if alpha == 1 {
		for p, v := range y {
			s0 += T(r0[p] * v)
		}
		return
	}
	for p, v := range y {
		s0 += T(T(alpha*r0[p]) * v)
	}
	return
}

// axpy4 does acc[j] = acc[j] + x0·r0[j] + x1·r1[j] + x2·r2[j] + x3·r3[j],
// left to right.
//
//go:noinline
func axpy4[T Float](acc []T, x0, x1, x2, x3 T, r0, r1, r2, r3 []T) {
	n := len(acc)
	r0, r1, r2, r3 = r0[:n], r1[:n], r2[:n], r3[:n]
	for j, v := range acc {
		acc[j] = v + T(x0*r0[j]) + T(x1*r1[j]) + T(x2*r2[j]) + T(x3*r3[j])
	}
}

// axpy1 does acc[j] += x0·r0[j].
//
//go:noinline
func axpy1[T Float](acc []T, x0 T, r0 []T) {
	r0 = r0[:len(acc)]
	for j, v := range acc {
		acc[j] = v + T(x0*r0[j])
	}
}

// axpy4s does acc[i] = acc[i] + (alpha·r0[i])·y0 + … + (alpha·r3[i])·y3,
// left to right (alpha skipped when 1).
//
//go:noinline
func axpy4s[T Float](acc []T, y0, y1, y2, y3 T, r0, r1, r2, r3 []T, alpha T) {
	n := len(acc)
	r0, r1, r2, r3 = r0[:n], r1[:n], r2[:n], r3[:n]
	if alpha == 1 {
		for i, v := range acc {
			acc[i] = v + T(r0[i]*y0) + T(r1[i]*y1) + T(r2[i]*y2) + T(r3[i]*y3)
		}
		return
	}
	for i, v := range acc {
		acc[i] = v + T(T(alpha*r0[i])*y0) + T(T(alpha*r1[i])*y1) + T(T(alpha*r2[i])*y2) + T(T(alpha*r3[i])*y3)
	}
}

// axpy1s does acc[i] += (alpha·r0[i])·y0 (alpha skipped when 1).
//
//go:noinline
func axpy1s[T Float](acc []T, y0 T, r0 []T, alpha T) {
	r0 = r0[:len(acc)]
	if alpha == 1 {
		for i, v := range acc {
			acc[i] = v + T(r0[i]*y0)
		}
		return
	}
	for i, v := range acc {
		acc[i] = v + T(T(alpha*r0[i])*y0)
	}
}
