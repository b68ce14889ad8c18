package tensor

import (
	"fmt"
	"math"
	"sync"

	"github.com/loomml/loom/internal/kernels"
)

// Fused ("flash") attention: the same result as Attention without a mask,
// computed tile by tile with an online softmax, so no T×S score matrix is
// held beyond one flashBq×flashBk tile per goroutine. The forward pass keeps
// only the log-sum-exp of every query row; the backward pass recomputes the
// probabilities tile by tile from it (FlashAttention-2, arXiv 2307.08691).
//
// Operands are [B, H, T, d] tensors whose last dimension is contiguous; the
// batch, head and row strides are free, so the usual view of a [B, T, H, d]
// projection (Permute(0, 2, 1, 3)) and a KV-cache slice are read in place.
// Outputs and gradients are returned in that same [B, T, H, d] memory order
// (as permuted views), so that merging the heads back costs no copy.
//
// Work is split over (batch, key/value head) units; each unit is computed by
// one goroutine in a fixed order, so results do not depend on the thread
// count.

const (
	flashBq = 64 // query rows per tile
	flashBk = 64 // keys per tile
)

// FlashAttention returns softmax(q·kᵀ·scale)·v (with the causal mask when
// causal, queries aligned to the last T keys as in Attention) and the
// log-sum-exp of each score row, [B, H, T] (−Inf for a row that sees no
// key, whose output is zero). Shapes are those of Attention; the output is
// a [B, H, T, dv] view of [B, T, H, dv] memory.
func FlashAttention(q, k, v *Tensor, causal bool, scale float64) (out, lse *Tensor) {
	return FlashAttentionWindow(q, k, v, causal, 0, scale)
}

// FlashAttentionWindow is FlashAttention in which, with window > 0, the
// query at position p (of the keys) sees only keys p−window+1 … p (sliding-
// window attention, as Mistral's); window 0 is no limit.
func FlashAttentionWindow(q, k, v *Tensor, causal bool, window int, scale float64) (out, lse *Tensor) {
	return FlashAttentionWith(q, k, v, FlashOptions{Causal: causal, Window: window, Scale: scale})
}

// FlashOptions are the masks the fused kernel applies and the score scale.
type FlashOptions struct {
	Causal bool // queries aligned to the last T keys see keys up to their own
	Window int  // with Causal: only the last Window keys (0: no limit)
	// KeyLens, when set, holds each batch row's number of valid keys
	// (right padding): keys at or after it are hidden.
	KeyLens []int
	Scale   float64
	// Serial runs the forward pass on the calling goroutine (for callers
	// that parallelise over many small calls themselves).
	Serial bool
	// Precision of the tiles' products (QKᵀ, PV and the backward pass's
	// five); softmax and its statistics stay float32/float64.
	Precision Precision
	// SSA, when set, restricts every query tile to the key tiles the plan
	// sampled (stochastically subsampled attention, ssa.go); it needs
	// self-attention (as many queries as keys).
	SSA *SSAPlan
}

// FlashAttentionWith is FlashAttention with the options' masks.
func FlashAttentionWith(q, k, v *Tensor, o FlashOptions) (out, lse *Tensor) {
	B, H, Hkv, T, S, d, dv, err := AttentionShape(q, k, v, nil)
	if err != nil {
		panic(err.Error())
	}
	q, k, v = lastContiguous(q), lastContiguous(k), lastContiguous(v)
	out = uninit(q.dtype, B, T, H, dv).Permute(0, 2, 1, 3) // every row cleared, then written, by flashForward
	lse = New(q.dtype, B, H, T)
	g := newFlashGeom(B, H, Hkv, T, S, d, dv, o)
	if q.dtype == Float32 {
		flashForward[float32](g, q, tensorKV[float32]{k}, tensorKV[float32]{v}, out, lse)
	} else {
		flashForward[float64](g, q, tensorKV[float64]{k}, tensorKV[float64]{v}, out, lse)
	}
	return out, lse
}

// FlashAttentionHalfKV is FlashAttentionWith (forward only) on float32
// queries and keys and values held as float16 (an f16 key/value cache):
// each tile of keys and values is widened exactly to float32 as it is
// used, so the result is, bit for bit, FlashAttentionWith's on k.Float32()
// and v.Float32().
func FlashAttentionHalfKV(q *Tensor, k, v *HalfRows, o FlashOptions) (out, lse *Tensor) {
	if q.dtype != Float32 || q.NDim() != 4 {
		panic(fmt.Sprintf("tensor: FlashAttentionHalfKV wants float32 [B, H, T, d] queries, have %v %v", q.dtype, q.shape))
	}
	B, H, T, d := q.shape[0], q.shape[1], q.shape[2], q.shape[3]
	Hkv, S, dv := k.shape[1], k.shape[2], v.shape[3]
	if k.shape[0] != B || v.shape[0] != B || k.shape[3] != d || v.shape[1] != Hkv || v.shape[2] != S || Hkv == 0 || H%Hkv != 0 {
		panic(fmt.Sprintf("tensor: attention shapes q %v, k %v, v %v do not fit", q.shape, k.shape, v.shape))
	}
	q = lastContiguous(q)
	out = uninit(Float32, B, T, H, dv).Permute(0, 2, 1, 3) // every row cleared, then written, by flashForward
	lse = New(Float32, B, H, T)
	flashForward[float32](newFlashGeom(B, H, Hkv, T, S, d, dv, o), q, halfKV{k}, halfKV{v}, out, lse)
	return out, lse
}

// halfScratch holds float32 tiles of widened keys and values.
var halfScratch = sync.Pool{New: func() any { return new([]float32) }}

// kvRows gives flashForward the rows of one head's keys or values.
type kvRows[T Float] interface {
	// rowsAt returns rows j0…j0+jk−1 of batch b, head h (row r at
	// data[r·rs:]), using scratch (flashBk rows) if it must convert.
	rowsAt(b, h, j0, jk int, scratch []T) (data []T, rs int)
	// cols is the length of a row.
	cols() int
}

// tensorKV reads a float tensor in place.
type tensorKV[T Float] struct{ t *Tensor }

func (x tensorKV[T]) rowsAt(b, h, j0, jk int, _ []T) ([]T, int) {
	m := headMat[T](x.t, b, h)
	return m.at(j0), m.rs
}

func (x tensorKV[T]) cols() int { return x.t.shape[3] }

// halfKV widens float16 rows into the scratch.
type halfKV struct{ h *HalfRows }

func (x halfKV) rowsAt(b, h, j0, jk int, scratch []float32) ([]float32, int) {
	x.h.widenRows(scratch, b, h, j0, j0+jk)
	return scratch, x.h.shape[3]
}

func (x halfKV) cols() int { return x.h.shape[3] }

// FlashAttentionBackward returns the gradients of FlashAttention's output
// with respect to q, k and v, given the upstream gradient dout and the
// forward pass's out and lse. The gradients are [B, H, ·, ·] views of
// [B, ·, H, ·] memory, like FlashAttention's output.
func FlashAttentionBackward(q, k, v, out, lse, dout *Tensor, causal bool, scale float64) (dq, dk, dv *Tensor) {
	return FlashAttentionWindowBackward(q, k, v, out, lse, dout, causal, 0, scale)
}

// FlashAttentionWindowBackward is the backward pass of FlashAttentionWindow.
func FlashAttentionWindowBackward(q, k, v, out, lse, dout *Tensor, causal bool, window int, scale float64) (dq, dk, dv *Tensor) {
	return FlashAttentionWithBackward(q, k, v, out, lse, dout, FlashOptions{Causal: causal, Window: window, Scale: scale})
}

// FlashAttentionWithBackward is the backward pass of FlashAttentionWith.
func FlashAttentionWithBackward(q, k, v, out, lse, dout *Tensor, o FlashOptions) (dq, dk, dv *Tensor) {
	B, H, Hkv, T, S, d, dvd, err := AttentionShape(q, k, v, nil)
	if err != nil {
		panic(err.Error())
	}
	g := newFlashGeom(B, H, Hkv, T, S, d, dvd, o)
	dq = New(q.dtype, B, T, H, d).Permute(0, 2, 1, 3)
	dk = New(q.dtype, B, S, Hkv, d).Permute(0, 2, 1, 3)
	dv = New(q.dtype, B, S, Hkv, dvd).Permute(0, 2, 1, 3)
	args := []*Tensor{lastContiguous(q), lastContiguous(k), lastContiguous(v), lastContiguous(out), lse.Contiguous(), lastContiguous(dout), dq, dk, dv}
	if q.dtype == Float32 {
		flashBackward[float32](g, args...)
	} else {
		flashBackward[float64](g, args...)
	}
	return dq, dk, dv
}

type flashGeom struct {
	B, H, Hkv, T, S, d, dv int
	causal                 bool
	scale                  float64
	window                 int
	keyLens                []int // per batch row (nil: S)
	serial                 bool
	prec                   Precision
	ssa                    *SSAPlan // nil: every tile
}

func newFlashGeom(B, H, Hkv, T, S, d, dv int, o FlashOptions) flashGeom {
	if o.KeyLens != nil && len(o.KeyLens) != B {
		panic(fmt.Sprintf("tensor: %d key lengths for a batch of %d", len(o.KeyLens), B))
	}
	g := flashGeom{B, H, Hkv, T, S, d, dv, o.Causal, o.Scale, o.Window, o.KeyLens, o.Serial, o.Precision, o.SSA}
	if o.SSA != nil {
		o.SSA.check(g)
	}
	return g
}

// keys returns the number of keys batch row b may see at all.
func (g flashGeom) keys(b int) int {
	if g.keyLens == nil {
		return g.S
	}
	return min(g.S, max(0, g.keyLens[b]))
}

// keyStart is the first key that query row t may see.
func (g flashGeom) keyStart(t int) int {
	if g.window <= 0 {
		return 0
	}
	return max(0, t+g.S-g.T-g.window+1)
}

// keyEnd is one past the last key that query row t of batch row b may see.
func (g flashGeom) keyEnd(b, t int) int {
	if !g.causal {
		return g.keys(b)
	}
	return min(g.keys(b), max(0, t+g.S-g.T+1))
}

// lastContiguous returns x when its last dimension has stride 1 (any other
// strides are fine), else a contiguous copy.
func lastContiguous(x *Tensor) *Tensor {
	if x.strides[3] == 1 || x.shape[3] <= 1 {
		return x
	}
	return x.Contiguous()
}

// mat is one head's [rows, cols] matrix inside a 4-D tensor: row r is
// data[r·rs : r·rs+cols].
type mat[T Float] struct {
	data []T
	rs   int
}

func (m mat[T]) row(r, cols int) []T { return m.data[r*m.rs : r*m.rs+cols] }

// at returns the rows from r on (for GEMM operands).
func (m mat[T]) at(r int) []T { return m.data[r*m.rs:] }

// headMat returns the matrix of batch b, head h of x [B, H, rows, cols],
// whose last dimension is contiguous.
func headMat[T Float](x *Tensor, b, h int) mat[T] {
	o := x.offset + b*x.strides[0] + h*x.strides[1]
	rows, cols := x.shape[2], x.shape[3]
	rs := x.strides[2]
	if rows <= 1 {
		rs = cols
	}
	n := 0
	if rows > 0 {
		n = (rows-1)*rs + cols
	}
	return mat[T]{data: storage[T](x)[o : o+n], rs: rs}
}

// gemm1 is a single-goroutine GEMM on T's kernel, in precision prec.
func gemm1[T Float](prec Precision, transA, transB bool, m, n, k int, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	switch a := any(a).(type) {
	case []float32:
		if prec == BF16 {
			kernels.GemmBF16(1, transA, transB, m, n, k, 1, a, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
			return
		}
		// One query row (a decode step): the same products without the
		// GEMM's set-up.
		if c := any(c).([]float32); m == 1 && !transA && k > 0 {
			switch {
			case transB && beta == 0:
				kernels.RowDots(c[:n], a[:k], any(b).([]float32), ldb)
				return
			case !transB && beta == 1:
				kernels.AddRowSum(c[:n], a[:k], any(b).([]float32), ldb)
				return
			}
		}
		kernels.SgemmWith(1, transA, transB, m, n, k, 1, a, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
	case []float64:
		kernels.DgemmWith(1, transA, transB, m, n, k, 1, a, lda, any(b).([]float64), ldb, float64(beta), any(c).([]float64), ldc)
	}
}

func flashForward[T Float](g flashGeom, q *Tensor, k, v kvRows[T], out, lse *Tensor) {
	ld := Data[T](lse)
	group := g.H / g.Hkv
	parallel := kernels.Parallel
	if g.serial {
		parallel = func(n int, f func(int)) {
			for i := range n {
				f(i)
			}
		}
	}
	parallel(g.B*g.H, func(bh int) {
		b, h := bh/g.H, bh%g.H
		Q, O := headMat[T](q, b, h), headMat[T](out, b, h)
		L := ld[bh*g.T : (bh+1)*g.T]
		bq := min(flashBq, g.T) // a decode step's one query needs one row
		s := make([]T, bq*flashBk)
		// Scratch for rows that must be converted, taken when first needed
		// (a decode step on f16 rows reads them in place and never is).
		var sk, sv []T
		var scratch *[]float32
		defer func() {
			if scratch != nil {
				halfScratch.Put(scratch)
			}
		}()
		need := func() {
			if _, ok := k.(tensorKV[T]); ok || scratch != nil {
				return
			}
			scratch = halfScratch.Get().(*[]float32)
			n := flashBk * (k.cols() + v.cols())
			if cap(*scratch) < n {
				*scratch = make([]float32, n)
			}
			buf := any((*scratch)[:n]).([]T) // halfKV is float32 only
			sk, sv = buf[:flashBk*k.cols()], buf[flashBk*k.cols():]
		}
		m := make([]float64, bq)
		l := make([]float64, bq)
		for i0 := 0; i0 < g.T; i0 += flashBq {
			iq := min(flashBq, g.T-i0)
			for r := range iq {
				clear(O.row(i0+r, g.dv))
				m[r], l[r] = math.Inf(-1), 0
			}
			kEnd := g.keyEnd(b, i0+iq-1)
			for j0 := range g.keyTiles(bh, i0, g.keyStart(i0), kEnd) {
				jk := min(flashBk, kEnd-j0)
				// s = Q_i·K_jᵀ [iq, jk]
				if hk, ok := any(k).(halfKV); ok && iq == 1 && hk.h.strides[2] == g.d {
					// One query: dot products with the f16 rows as they are
					// read (the same values as on the widened rows).
					kernels.RowDotsF16(any(s[:jk]).([]float32), any(Q.row(i0, g.d)).([]float32), hk.h.rows(b, h/group, j0, j0+jk), g.d)
				} else {
					need()
					K, krs := k.rowsAt(b, h/group, j0, jk, sk)
					gemm1(g.prec, false, true, iq, jk, g.d, Q.at(i0), Q.rs, K, krs, 0, s, jk)
				}
				for r := range iq {
					row := s[r*jk : (r+1)*jk]
					// keys [j0+lo, j0+hi) are visible to this row
					lo := min(jk, max(0, g.keyStart(i0+r)-j0))
					hi := max(lo, min(jk, g.keyEnd(b, i0+r)-j0))
					mNew := m[r]
					if hi > lo {
						mx := row[lo]
						for _, v := range row[lo+1 : hi] {
							if v > mx || v != v {
								mx = v
							}
						}
						mNew = max(mNew, float64(mx)*g.scale) // scale > 0
					}
					if math.IsInf(mNew, -1) { // nothing visible yet
						clear(row)
						continue
					}
					alpha := math.Exp(m[r] - mNew)
					sum := expRow(row[lo:hi], g.scale, mNew)
					clear(row[:lo])
					clear(row[hi:])
					l[r] = l[r]*alpha + sum
					m[r] = mNew
					if alpha != 1 {
						a := O.row(i0+r, g.dv)
						for c := range a {
							a[c] = T(float64(a[c]) * alpha)
						}
					}
				}
				// O_i += P·V_j [iq, dv]
				if hv, ok := any(v).(halfKV); ok && iq == 1 && hv.h.strides[2] == g.dv {
					kernels.AddRowSumF16(any(O.row(i0, g.dv)).([]float32), any(s[:jk]).([]float32), hv.h.rows(b, h/group, j0, j0+jk), g.dv)
				} else {
					need()
					V, vrs := v.rowsAt(b, h/group, j0, jk, sv)
					gemm1(g.prec, false, false, iq, g.dv, jk, s, jk, V, vrs, 1, O.at(i0), O.rs)
				}
			}
			for r := range iq {
				a := O.row(i0+r, g.dv)
				if l[r] == 0 {
					clear(a)
					L[i0+r] = T(math.Inf(-1))
					continue
				}
				inv := 1 / l[r]
				for c := range a {
					a[c] = T(float64(a[c]) * inv)
				}
				L[i0+r] = T(m[r] + math.Log(l[r]))
			}
		}
	})
}

func flashBackward[T Float](g flashGeom, ts ...*Tensor) {
	q, k, v, out, lse, dout, dq, dk, dv := ts[0], ts[1], ts[2], ts[3], ts[4], ts[5], ts[6], ts[7], ts[8]
	ld := Data[T](lse)
	group := g.H / g.Hkv
	kernels.Parallel(g.B*g.Hkv, func(bkv int) {
		b, kh := bkv/g.Hkv, bkv%g.Hkv
		K, V := headMat[T](k, b, kh), headMat[T](v, b, kh)
		dK, dV := headMat[T](dk, b, kh), headMat[T](dv, b, kh)
		p := make([]T, flashBq*flashBk)
		dp := make([]T, flashBq*flashBk)
		delta := make([]float64, g.T)
		for hh := range group {
			h := kh*group + hh
			Q, O, dO, dQ := headMat[T](q, b, h), headMat[T](out, b, h), headMat[T](dout, b, h), headMat[T](dq, b, h)
			L := ld[(b*g.H+h)*g.T : (b*g.H+h+1)*g.T]
			// delta_t = Σ dO_t ⊙ O_t
			for t := range g.T {
				var s float64
				or, dr := O.row(t, g.dv), dO.row(t, g.dv)
				for c := range or {
					s += float64(dr[c]) * float64(or[c])
				}
				delta[t] = s
			}
			for j0 := 0; j0 < g.keys(b); j0 += flashBk {
				jk := min(flashBk, g.keys(b)-j0)
				// the first query row that sees key j0
				first := 0
				if g.causal {
					first = max(0, j0-(g.S-g.T))
				}
				last := g.T // one past the last query row that sees key j0+jk−1
				if g.window > 0 {
					last = min(g.T, j0+jk-1+g.window-(g.S-g.T))
				}
				for i0 := range g.queryTiles(b*g.H+h, j0, first, last) {
					iq := min(flashBq, g.T-i0)
					// P = exp(Q_i·K_jᵀ·scale − lse) [iq, jk]
					gemm1(g.prec, false, true, iq, jk, g.d, Q.at(i0), Q.rs, K.at(j0), K.rs, 0, p, jk)
					// dP = dO_i·V_jᵀ [iq, jk]
					gemm1(g.prec, false, true, iq, jk, g.dv, dO.at(i0), dO.rs, V.at(j0), V.rs, 0, dp, jk)
					for r := range iq {
						lo := min(jk, max(0, g.keyStart(i0+r)-j0))
						hi := max(lo, min(jk, g.keyEnd(b, i0+r)-j0))
						lr := float64(L[i0+r])
						pr, dr := p[r*jk:(r+1)*jk], dp[r*jk:(r+1)*jk]
						if math.IsInf(lr, -1) {
							hi = lo
						}
						expRow(pr[lo:hi], g.scale, lr)
						clear(pr[:lo])
						clear(pr[hi:])
						dsRow(dr, pr, delta[i0+r], g.scale) // dS·scale, 0 where P is 0
					}
					// dV_j += Pᵀ·dO_i ; dK_j += dSᵀ·Q_i ; dQ_i += dS·K_j
					gemm1(g.prec, true, false, jk, g.dv, iq, p, jk, dO.at(i0), dO.rs, 1, dV.at(j0), dV.rs)
					gemm1(g.prec, true, false, jk, g.d, iq, dp, jk, Q.at(i0), Q.rs, 1, dK.at(j0), dK.rs)
					gemm1(g.prec, false, false, iq, g.d, jk, dp, jk, K.at(j0), K.rs, 1, dQ.at(i0), dQ.rs)
				}
			}
		}
	})
}

// expRow sets row[i] = exp(row[i]·scale − shift) and returns the sum, with
// the vectorised kernel for float32.
func expRow[T Float](row []T, scale, shift float64) float64 {
	if r32, ok := any(row).([]float32); ok {
		return float64(kernels.ExpSum(r32, r32, float32(scale), float32(shift)))
	}
	var sum float64
	for i, v := range row {
		e := math.Exp(float64(v)*scale - shift)
		row[i] = T(e)
		sum += e
	}
	return sum
}

// dsRow sets dp[i] = p[i]·(dp[i] − delta)·scale: the softmax backward of one
// row of a tile.
func dsRow[T Float](dp, p []T, delta, scale float64) {
	d, s := T(delta), T(scale)
	for i, pv := range p {
		dp[i] = pv * (dp[i] - d) * s
	}
}

// KeyLengthMask returns the additive attention mask [B, 1, 1, S] that hides
// the keys at or after each batch row's length (right padding): 0 where a
// key is visible, −Inf where it is not; nil without lengths.
func KeyLengthMask(lens []int, B, S int) *Tensor {
	if lens == nil {
		return nil
	}
	if len(lens) != B {
		panic(fmt.Sprintf("tensor: %d key lengths for a batch of %d", len(lens), B))
	}
	m := Zeros(B, 1, 1, S)
	for b, n := range lens {
		for s := max(n, 0); s < S; s++ {
			m.Set(math.Inf(-1), b, 0, 0, s)
		}
	}
	return m
}
