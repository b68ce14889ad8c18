package kernels

import (
	"fmt"
	"sync"
)

// Packed24 is a weight matrix W [N, K] (PyTorch's [out, in] layout) in the
// 2:4 semi-structured sparse layout of NVIDIA's sparse tensor cores
// (Mishra et al., "Accelerating Sparse Deep Neural Networks", arXiv
// 2104.08378): in every group of 4 consecutive weights along a row, at most
// 2 are non-zero. Only those 2 values are stored, with the position of each
// in the row, so a sparse dot product does half the multiplications.
//
// The layout is the one the AVX-512 kernel reads (sparse24_amd64.s). Rows
// are taken 4 at a time (a quad; the last one padded with zero rows) and
// inputs 32 at a time (a chunk of 8 groups; the last one padded with zero
// groups). For quad q and chunk c (qc = q·C + c, C = Chunks()):
//
//   - Vals[(4·qc + r)·16 :][:16] are row 4q+r's 16 values in the chunk,
//     group by group (lanes 2g and 2g+1 hold group g's two values, in
//     column order);
//   - byte r of Idx[16·qc + l] is the column, within the chunk (0…31), of
//     row 4q+r's value in lane l.
//
// So a chunk of 4 rows is 4 vectors of 16 values and one vector of 16
// indices whose bytes a shift brings down for each row (VPERMI2PS reads the
// low 5 bits of each index): 5 bytes per stored value, 2.5 per dense
// weight instead of 4 when N is a multiple of 4 and K of 32 (Bytes counts
// the padding too).
type Packed24 struct {
	N, K int
	Vals []float32
	Idx  []uint32
}

// Chunks returns the number of 32-input chunks per row.
func (p *Packed24) Chunks() int { return (p.K + 31) / 32 }

// quads returns the number of 4-row quads.
func (p *Packed24) quads() int { return (p.N + 3) / 4 }

// Bytes returns the storage the packed matrix takes (padding included).
func (p *Packed24) Bytes() int64 { return int64(4*len(p.Vals) + 4*len(p.Idx)) }

// Pack24 packs w [n, k] (row stride ldw) into the 2:4 layout. It returns an
// error when k is not a multiple of 4 or a group has more than 2 non-zeros.
// A group with fewer than 2 non-zeros stores explicit zeros (at columns of
// the group that hold zeros).
func Pack24(w []float32, n, k, ldw int) (*Packed24, error) {
	if k%4 != 0 || k <= 0 || n <= 0 {
		return nil, fmt.Errorf("2:4 layout: a %d×%d matrix: want a positive size and a row length divisible by 4", n, k)
	}
	if ldw < k || len(w) < (n-1)*ldw+k {
		return nil, fmt.Errorf("2:4 layout: %d values for a %d×%d matrix with row stride %d", len(w), n, k, ldw)
	}
	p := &Packed24{N: n, K: k}
	nc, nq := p.Chunks(), p.quads()
	p.Vals = make([]float32, nq*nc*64)
	p.Idx = make([]uint32, nq*nc*16)
	for r := range nq * 4 {
		q, rr := r/4, r%4
		for g := range nc * 8 {
			// Positions in the group: the non-zeros, then unused positions
			// (their values stay zero), distinct and ascending. Padding
			// (rows ≥ n, groups ≥ k/4) stores zeros at positions 0 and 1.
			pos := [2]int{0, 1}
			if r < n && 4*g < k {
				row := w[r*ldw : r*ldw+k]
				c := 0
				for i := range 4 {
					if row[4*g+i] != 0 {
						if c == 2 {
							return nil, fmt.Errorf("2:4 layout: row %d, columns %d–%d hold more than 2 non-zeros", r, 4*g, 4*g+3)
						}
						pos[c] = i
						c++
					}
				}
				switch {
				case c == 1 && pos[0] == 3:
					pos = [2]int{2, 3}
				case c == 1:
					pos[1] = pos[0] + 1
				}
			}
			c, gl := g/8, g%8
			qc := q*nc + c
			for s := range 2 {
				lane := 2*gl + s
				col := 4*gl + pos[s] // within the chunk
				if r < n && 4*g < k {
					p.Vals[(4*qc+rr)*16+lane] = w[r*ldw+32*c+col]
				}
				p.Idx[16*qc+lane] |= uint32(col) << (8 * rr)
			}
		}
	}
	return p, nil
}

// Dense returns the matrix as dense [N, K] values.
func (p *Packed24) Dense() []float32 {
	out := make([]float32, p.N*p.K)
	p.unpack(out, 0, p.quads())
	return out
}

// unpack writes rows 4·q0 … 4·q1−1 (those < N) of the dense matrix into
// out [N, K], every value (zeros included): quads of 4 real rows with the
// AVX-512 kernel when the CPU has it, the rest in Go.
func (p *Packed24) unpack(out []float32, q0, q1 int) {
	nc := p.Chunks()
	if full := min(q1, p.N/4); useAVX512 && full > q0 {
		unpack24AVX512(&out[4*q0*p.K], p.K, &p.Vals[q0*nc*64], &p.Idx[q0*nc*16], full-q0, nc, lastChunkMask(p.K))
		q0 = full
	}
	if q0 >= q1 {
		return
	}
	clear(out[4*q0*p.K : min(4*q1, p.N)*p.K])
	for q := q0; q < q1; q++ {
		for r := range min(4, p.N-4*q) {
			row := out[(4*q+r)*p.K : (4*q+r+1)*p.K]
			for c := range nc {
				qc := q*nc + c
				vals := p.Vals[(4*qc+r)*16 : (4*qc+r+1)*16]
				for l, v := range vals {
					if col := 32*c + int(p.Idx[16*qc+l]>>(8*r)&31); col < p.K {
						row[col] = v
					}
				}
			}
		}
	}
}

// lastChunkMask has bit l set when column l of the last 32-column chunk
// of a k-column row exists.
func lastChunkMask(k int) int {
	if rem := k % 32; rem != 0 {
		return 1<<rem - 1
	}
	return 1<<32 - 1
}

// gemm24MinRows is the number of rows of a from which MatMul24 unpacks W
// and runs the dense GEMM (prefill) instead of the sparse dot products
// (decoding): where the dense Sgemm itself leaves dot products (gemvBlock)
// for its packed GEMM. Unpacking (about 20 vector instructions per 32
// columns of a row) costs several one-row products; BenchmarkMatMul24
// (dots against unpack at m = 8, 32, 128) is the measurement to move the
// switch by. A variable so that tests and benchmarks can move it.
var gemm24MinRows = gemvMaxRows + 1

// MatMul24 computes c [m, N] = a [m, K] · Wᵀ for a 2:4 packed W, with row
// strides lda and ldc, on up to threads goroutines.
//
// For m ≤ 32 rows (decoding, and decode steps over a batch) each output is
// a sparse dot product: 16 lanes of fused multiply-adds over the chunks in
// order (lane l of chunk c adds Vals·a[idx]), then the lanes summed as the
// AVX-512 reductions sum them (hsum16). The AVX-512 kernel and the
// plain-Go fallback (fma32) give the same bits, and a row's result does not
// depend on m (≤ 32) or threads. For more rows (prefill), W is unpacked
// to dense in a pooled buffer and multiplied with SgemmWith, so
// the result is the dense GEMM's on the same zeros (which does not depend
// on threads either). For finite inputs both differ from a sequential
// dense dot product only by float32 rounding (the terms are the same; the
// order differs); an infinite input at a column whose weight is not stored
// gives NaN in the dense product but not in the sparse dot products.
func MatMul24(threads, m int, a []float32, lda int, p *Packed24, c []float32, ldc int) {
	if m <= 0 {
		return
	}
	if lda < p.K || len(a) < (m-1)*lda+p.K || ldc < p.N || len(c) < (m-1)*ldc+p.N {
		panic(fmt.Sprintf("kernels: MatMul24: a %d×%d product with %d values of a (stride %d) and %d of c (stride %d)", m, p.N, len(a), lda, len(c), ldc))
	}
	threads = max(threads, 1)
	if m >= gemm24MinRows {
		gemm24(threads, m, a, lda, p, c, ldc)
		return
	}
	dots24(threads, m, a, lda, p, c, ldc)
}

// dense24Scratch holds unpacked weights between calls (*[]float32).
var dense24Scratch sync.Pool

// gemm24 is MatMul24 through the dense GEMM: W unpacked (in parallel,
// quads split among threads; with AVX-512 by unpack24AVX512, about 20
// vector instructions per 32 columns) into a pooled buffer.
func gemm24(threads, m int, a []float32, lda int, p *Packed24, c []float32, ldc int) {
	buf := getDense24(p.N * p.K)
	w := *buf
	nq := p.quads()
	tasks := 1
	if threads > 1 && nq >= 32 {
		tasks = threads
	}
	step := (nq + tasks - 1) / tasks
	run(tasks, tasks-1, func(t int) { p.unpack(w, t*step, min(nq, (t+1)*step)) })
	SgemmWith(threads, false, true, m, p.N, p.K, 1, a, lda, w, p.K, 0, c, ldc)
	dense24Scratch.Put(buf)
}

func getDense24(n int) *[]float32 {
	if b, ok := dense24Scratch.Get().(*[]float32); ok && cap(*b) >= n {
		*b = (*b)[:n]
		return b
	}
	b := make([]float32, n)
	return &b
}

// dots24 is MatMul24 as sparse dot products, quads of W's rows split among
// threads as gemvRows splits columns (one task below 2¹⁶ multiply-adds).
func dots24(threads, m int, a []float32, lda int, p *Packed24, c []float32, ldc int) {
	nq := p.quads()
	tasks := 1
	if threads > 1 && m*p.N*p.K >= 1<<16 {
		tasks = min(threads, (nq+3)/4)
	}
	step := (nq + tasks - 1) / tasks
	run(tasks, tasks-1, func(t int) {
		q0, q1 := t*step, min(nq, (t+1)*step)
		if q0 >= q1 {
			return
		}
		full := min(q1, p.N/4) // quads with 4 real rows
		if full > q0 {
			quads24(m, a, lda, p, q0, full, c[4*q0:], ldc)
		}
		if full < q1 { // the last quad, with fewer than 4 rows: via a scratch
			var buf [4 * 8]float32
			y := buf[:]
			if 4*m > len(buf) {
				y = make([]float32, 4*m)
			}
			quads24(m, a, lda, p, full, q1, y, 4)
			for i := range m {
				copy(c[i*ldc+4*full:i*ldc+p.N], y[4*i:])
			}
		}
	})
}

// quads24 sets y[i·ldy + 4(q−q0) + r] to row i of a · row 4q+r of W for
// quads q0 ≤ q < q1, every row of W against every row of a.
func quads24(m int, a []float32, lda int, p *Packed24, q0, q1 int, y []float32, ldy int) {
	nc := p.Chunks()
	if useAVX512 {
		dot24AVX512(&y[0], ldy, &a[0], lda, m, &p.Vals[q0*nc*64], &p.Idx[q0*nc*16], q1-q0, nc, lastChunkMask(p.K))
		return
	}
	var xc [32]float32
	var acc [4][16]float32
	for q := q0; q < q1; q++ {
		for i := range m {
			x := a[i*lda : i*lda+p.K]
			acc = [4][16]float32{}
			for c := range nc {
				clear(xc[:])
				copy(xc[:], x[32*c:])
				qc := q*nc + c
				idx := p.Idx[16*qc : 16*qc+16]
				for r := range 4 {
					vals := p.Vals[(4*qc+r)*16 : (4*qc+r+1)*16]
					for l, v := range vals {
						acc[r][l] = fma32(v, xc[idx[l]>>(8*r)&31], acc[r][l])
					}
				}
			}
			for r := range 4 {
				y[i*ldy+4*(q-q0)+r] = hsum16(&acc[r])
			}
		}
	}
}
