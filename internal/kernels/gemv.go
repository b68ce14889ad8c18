package kernels

import "fmt"

// gemvRows computes C[i,:] = alpha·op(A)[i,:]·op(B) + beta·C[i,:] for the
// m ≤ 3 rows of a matrix–vector-like product (decoding one token) with the
// vector kernels: dot products with the rows of B when B is transposed,
// scaled row sums of B otherwise. The n columns are split among threads;
// each element is summed in a fixed order.
func gemvRows(threads int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	var x []float32
	if transA {
		x = make([]float32, k)
	}
	y := make([]float32, n)
	for i := range m {
		if transA {
			for p := range k {
				x[p] = a[p*lda+i]
			}
		} else {
			x = a[i*lda : i*lda+k]
		}
		chunks := 1
		if work := n * k; threads > 1 && work >= 1<<16 {
			chunks = min(threads, (n+63)/64)
		}
		step := ((n+chunks-1)/chunks + 3) &^ 3
		run := func(ch int) {
			j0, j1 := ch*step, min(n, (ch+1)*step)
			if j0 >= j1 {
				return
			}
			yy := y[j0:j1]
			if transB {
				dotRowsAVX512(&yy[0], &x[0], &b[j0*ldb], ldb, j1-j0, k)
				return
			}
			// As clearing yy and adding x[p]·(row p of B) for each p
			// (Axpy), in one call.
			axpyRowsAVX512(&yy[0], &x[0], &b[j0], ldb, k, j1-j0)
		}
		if chunks == 1 {
			run(0)
		} else {
			parallelN(chunks, run)
		}
		row := c[i*ldc : i*ldc+n]
		for j, v := range y {
			if beta == 0 {
				row[j] = alpha * v
			} else {
				row[j] = alpha*v + beta*row[j]
			}
		}
	}
}

// gemvMaxRows is the most rows of A for which a product with a large
// transposed B (a weight matrix) runs as dot products (gemvBlock) rather
// than through packed panels: a decode step over a batch of sequences,
// where packing B every call would cost more than the products.
const gemvMaxRows = 32

// gemvBlockMin is the size of B (n·k) from which gemvBlock is used.
const gemvBlockMin = 1 << 14

// gemvBlock computes C = alpha·A·Bᵀ + beta·C for m ≤ gemvMaxRows rows of A
// [m×k] and B [n×k] with the dot-product kernel of gemvRows, a block of B's
// rows at a time so that B streams from memory once for all m rows. Each
// element is summed exactly as gemvRows sums it, so a row's result does
// not depend on how many rows share the product (batch invariance: a
// sequence decodes to the same bits alone or in a batch).
func gemvBlock(threads, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	// Rows of B per block: about 16 KiB of B (in L1 while every row of A
	// passes over it), a multiple of 4.
	blk := max(4, (4096/max(k, 1))&^3)
	chunks := 1
	if threads > 1 && m*n*k >= 1<<16 {
		chunks = min(threads, (n+63)/64)
	}
	step := ((n+chunks-1)/chunks + 3) &^ 3
	run := func(ch int) {
		j0, j1 := ch*step, min(n, (ch+1)*step)
		if j0 >= j1 {
			return
		}
		y := make([]float32, m*blk) // row i of the block at y[i·blk:]
		for jb := j0; jb < j1; jb += blk {
			nb := min(j1, jb+blk) - jb
			n4 := nb &^ 3
			// While the first rows of A pass over this block, the next
			// block streams in (it starts blk rows on: blk·ldb floats).
			pf := 4 * blk * ldb
			if jb+blk >= j1 {
				pf = 0
			}
			i := 0
			for ; i+4 <= m && n4 > 0; i += 4 { // four rows of A at once
				dot4x4AVX512(&y[i*blk], blk, &a[i*lda], lda, &b[jb*ldb], ldb, n4, k, pf)
			}
			for ; i < m; i++ {
				dotRowsAVX512(&y[i*blk], &a[i*lda], &b[jb*ldb], ldb, n4, k)
			}
			if nb > n4 { // the last rows of B
				for i := range m {
					dotRowsAVX512(&y[i*blk+n4], &a[i*lda], &b[(jb+n4)*ldb], ldb, nb-n4, k)
				}
			}
			for i := range m {
				row := c[i*ldc+jb : i*ldc+jb+nb]
				for j, v := range y[i*blk : i*blk+nb] {
					if beta == 0 {
						row[j] = alpha * v
					} else {
						row[j] = alpha*v + beta*row[j]
					}
				}
			}
		}
	}
	if chunks == 1 {
		run(0)
	} else {
		parallelN(chunks, run)
	}
}

// parallelN runs f(0…n−1) on the caller and n−1 pool workers (pool.go).
func parallelN(n int, f func(int)) { run(n, n-1, f) }

// rowsDirect reports whether one-row products go to gemvRows's vector
// kernels (the packed kernel in use, on AVX-512), which RowDots and
// AddRowSum then call without SgemmWith's set-up.
func rowsDirect() bool {
	if !useAVX512 {
		return false
	}
	_, ok := kernel().(*packedKernel)
	return ok
}

// RowDots sets y[j] = x·(row j of W) for the len(y) rows of W (row j at
// w[j·ldw:], len(x) values each): the one-row product
// SgemmWith(1, false, true, 1, len(y), len(x), 1, x, len(x), w, ldw, 0, y, len(y)),
// with exactly its result, without its set-up (attention's scores for one
// query, many times per decode step).
func RowDots(y, x, w []float32, ldw int) {
	n, k := len(y), len(x)
	if n == 0 {
		return
	}
	if k > 0 && rowsDirect() {
		checkGemm(false, true, 1, n, k, k, k, len(w), ldw, n, n)
		dotRowsAVX512(&y[0], &x[0], &w[0], ldw, n, k)
		return
	}
	SgemmWith(1, false, true, 1, n, k, 1, x, k, w, ldw, 0, y, n)
}

// RowDotsF16 is RowDots on rows of IEEE halves (row j at w[2·j·ldw:], ldw
// in elements), with exactly RowDots' result on the widened rows (Widen):
// with AVX-512 the rows are widened in registers as they are read (the
// decode kernel of GemmLowT, which sums as dotRowsAVX512 does), otherwise
// into a buffer first.
func RowDotsF16(y, x []float32, w []byte, ldw int) {
	n, k := len(y), len(x)
	if n == 0 {
		return
	}
	if k > 0 && rowsDirect() {
		if len(w) < 2*((n-1)*ldw+k) {
			panic(fmt.Sprintf("kernels: RowDotsF16: %d bytes for %d rows of %d (stride %d)", len(w), n, k, ldw))
		}
		dotHalfAVX512(1, &y[0], 1, &x[0], k, 1, &w[0], 2*ldw, n, k, 0)
		return
	}
	RowDots(y, x, widenF16Rows(w, n, k, ldw), k)
}

// AddRowSumF16 is AddRowSum on rows of IEEE halves (row p at b[2·p·ldb:],
// ldb in elements), with exactly AddRowSum's result on the widened rows.
func AddRowSumF16(y, x []float32, b []byte, ldb int) {
	n, k := len(y), len(x)
	if n == 0 {
		return
	}
	if k > 0 && rowsDirect() {
		if len(b) < 2*((k-1)*ldb+n) {
			panic(fmt.Sprintf("kernels: AddRowSumF16: %d bytes for %d rows of %d (stride %d)", len(b), k, n, ldb))
		}
		addRowSums(y, func(t []float32) { axpyRowsF16AVX512(&t[0], &x[0], &b[0], ldb, k, n) })
		return
	}
	AddRowSum(y, x, widenF16Rows(b, k, n, ldb), n)
}

// widenF16Rows widens rows of cols halves (row r at b[2·r·ld:]) into a
// contiguous float32 matrix.
func widenF16Rows(b []byte, rows, cols, ld int) []float32 {
	out := make([]float32, rows*cols)
	for r := range rows {
		Widen(F16, out[r*cols:(r+1)*cols], b[2*r*ld:])
	}
	return out
}

// addRowSums adds to y the len(y) sums that sum writes (overwriting) into
// a scratch (on the stack for up to 256 values), as gemvRows stores them
// (alpha = beta = 1).
func addRowSums(y []float32, sum func(t []float32)) {
	var buf [256]float32
	t := buf[:0]
	if len(y) <= len(buf) {
		t = buf[:len(y)]
	} else {
		t = make([]float32, len(y))
	}
	sum(t)
	for j, v := range t {
		y[j] = 1*v + 1*y[j]
	}
}

// AddRowSum adds Σ_p x[p]·(row p of B) to y (len(x) rows of len(y)
// values, row p at b[p·ldb:]): the one-row product
// SgemmWith(1, false, false, 1, len(y), len(x), 1, x, len(x), b, ldb, 1, y, len(y)),
// with exactly its result, without its set-up (attention's weighted sum
// of values for one query).
func AddRowSum(y, x, b []float32, ldb int) {
	n, k := len(y), len(x)
	if n == 0 {
		return
	}
	if k > 0 && rowsDirect() {
		checkGemm(false, false, 1, n, k, k, k, len(b), ldb, n, n)
		addRowSums(y, func(t []float32) { axpyRowsAVX512(&t[0], &x[0], &b[0], ldb, k, n) })
		return
	}
	SgemmWith(1, false, false, 1, n, k, 1, x, k, b, ldb, 1, y, n)
}
