package kernels

import "fmt"

// PackedWeight is a weight matrix W [n×k] (a linear layer's, out × in)
// packed once into the micro-panels the current GEMM kernel reads for
// op(B) = Wᵀ, so that products x·Wᵀ skip packing it: what a server wants,
// where every decode step multiplies a few rows by every weight.
//
// MatMulPacked gives every element of the product the same operations,
// in the same order, whatever the number of rows of x and the thread
// count, and the same as Sgemm(false, true, …) gives it through the packed
// path (m ≥ 4 rows and more than gemvMaxRows, or a small weight): a row's
// result does not depend on how many rows share the call. A server that
// computes all its products with it is batch-invariant, prefill included.
type PackedWeight struct {
	N, K int
	p    *packedKernel
	// data holds, for each block of p.kc steps starting at step pc, the
	// ceil(N/nr) micro-panels of that block (pc·np·nr floats before it),
	// panel q at q·nr·kc within the block, zero-padded past column N.
	data []float32
}

// PackWeight packs w (n rows of k values, row i at w[i·ldw:]) for the
// kernel in use. It returns nil when that kernel does not work on packed
// panels (the pure-Go build, the OpenBLAS yardstick): callers then use
// Sgemm.
func PackWeight(w []float32, n, k, ldw int) *PackedWeight {
	p, ok := kernel().(*packedKernel)
	if !ok || n < 1 || k < 1 {
		return nil
	}
	if ldw < k || len(w) < (n-1)*ldw+k {
		panic(fmt.Sprintf("kernels: PackWeight: %d×%d with stride %d needs %d values, have %d", n, k, ldw, (n-1)*ldw+k, len(w)))
	}
	nr := p.micro.nr
	np := ceilDiv(n, nr)
	pw := &PackedWeight{N: n, K: k, p: p, data: aligned(np * nr * k)}
	for pc := 0; pc < k; pc += p.kc {
		kc := min(p.kc, k-pc)
		packBPanels(true, w, ldw, pc, kc, 0, n, nr, pw.data[pc*np*nr:])
	}
	return pw
}

// Bytes is the memory the packed copy holds.
func (pw *PackedWeight) Bytes() int64 { return int64(len(pw.data)) * 4 }

// MatMulPacked computes C = A·Wᵀ for A [m×k] (row i at a[i·lda:]) into C
// [m×N] (row i at c[i·ldc:]), splitting C among up to threads goroutines
// in whole micro-tiles.
func MatMulPacked(threads, m int, a []float32, lda int, pw *PackedWeight, c []float32, ldc int) {
	n, k := pw.N, pw.K
	if m <= 0 {
		return
	}
	checkGemm(false, false, m, n, k, len(a), lda, n*k, n, len(c), ldc)
	p := pw.p
	mr, nr := p.micro.mr, p.micro.nr
	np := ceilDiv(n, nr)
	// tile runs rows [i0, i1) and panels [q0, q1) of C.
	tile := func(i0, i1, q0, q1 int) {
		j0, j1 := q0*nr, min(n, q1*nr)
		p.loops(false, i1-i0, j1-j0, k, 1, a[i0*lda:], lda, 0, c[i0*ldc+j0:], ldc, func(_ *packBufs, pc, kc, jc, _ int) []float32 {
			return pw.data[pc*np*nr+(q0+jc/nr)*nr*kc:]
		})
	}
	// Threads split the columns first (every row block then streams only
	// its share of W), the rows when there are few columns.
	tm, tn := 1, 1
	if threads > 1 && int64(m)*int64(n)*int64(k) >= gemvBlockMin*4 {
		tn = min(threads, np)
		tm = min(threads/tn, ceilDiv(m, mr))
	}
	if tm*tn == 1 {
		tile(0, m, 0, np)
		return
	}
	mb := ceilDiv(m, mr)
	jobs := make([][4]int, 0, tm*tn)
	for ti := range tm {
		i0, i1 := min(m, ti*mb/tm*mr), min(m, (ti+1)*mb/tm*mr)
		for tj := range tn {
			q0, q1 := tj*np/tn, (tj+1)*np/tn
			if i0 < i1 && q0 < q1 {
				jobs = append(jobs, [4]int{i0, i1, q0, q1})
			}
		}
	}
	parallelN(len(jobs), func(j int) { tile(jobs[j][0], jobs[j][1], jobs[j][2], jobs[j][3]) })
}
