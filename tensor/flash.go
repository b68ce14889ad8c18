package tensor

import (
	"math"

	"github.com/loomml/loom/internal/kernels"
)

// Fused ("flash") attention: the same result as Attention without a mask,
// computed tile by tile with an online softmax, so no T×S score matrix is
// held beyond one flashBq×flashBk tile per goroutine. The forward pass keeps
// only the log-sum-exp of every query row; the backward pass recomputes the
// probabilities tile by tile from it (FlashAttention-2, arXiv 2307.08691).
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
// key, whose output is zero). Shapes are those of Attention.
func FlashAttention(q, k, v *Tensor, causal bool, scale float64) (out, lse *Tensor) {
	B, H, Hkv, T, S, d, dv, err := AttentionShape(q, k, v, nil)
	if err != nil {
		panic(err.Error())
	}
	// k and v may be views whose heads are strided (a KV cache slice), as
	// long as each head's [S, d] matrix is contiguous.
	qc, kc, vc := q.Contiguous(), rowsContiguous(k), rowsContiguous(v)
	out = New(q.dtype, B, H, T, dv)
	lse = New(q.dtype, B, H, T)
	g := flashGeom{B, H, Hkv, T, S, d, dv, causal, scale}
	if q.dtype == Float32 {
		flashForward[float32](g, qc, kc, vc, out, lse)
	} else {
		flashForward[float64](g, qc, kc, vc, out, lse)
	}
	return out, lse
}

// FlashAttentionBackward returns the gradients of FlashAttention's output
// with respect to q, k and v, given the upstream gradient dout and the
// forward pass's out and lse.
func FlashAttentionBackward(q, k, v, out, lse, dout *Tensor, causal bool, scale float64) (dq, dk, dv *Tensor) {
	B, H, Hkv, T, S, d, dvd, err := AttentionShape(q, k, v, nil)
	if err != nil {
		panic(err.Error())
	}
	g := flashGeom{B, H, Hkv, T, S, d, dvd, causal, scale}
	dq, dk, dv = New(q.dtype, q.shape...), New(q.dtype, k.shape...), New(q.dtype, v.shape...)
	args := []*Tensor{q.Contiguous(), k.Contiguous(), v.Contiguous(), out.Contiguous(), lse.Contiguous(), dout.Contiguous(), dq, dk, dv}
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
}

// keyEnd is one past the last key that query row t may see.
func (g flashGeom) keyEnd(t int) int {
	if !g.causal {
		return g.S
	}
	return min(g.S, max(0, t+g.S-g.T+1))
}

// gemm1 is a single-goroutine GEMM on T's kernel.
func gemm1[T Float](transA, transB bool, m, n, k int, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	switch a := any(a).(type) {
	case []float32:
		kernels.SgemmWith(1, transA, transB, m, n, k, 1, a, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
	case []float64:
		kernels.DgemmWith(1, transA, transB, m, n, k, 1, a, lda, any(b).([]float64), ldb, float64(beta), any(c).([]float64), ldc)
	}
}

// rowsContiguous returns x [B, H, S, d] itself when each [S, d] matrix is
// contiguous (whatever the batch and head strides), else a contiguous copy.
func rowsContiguous(x *Tensor) *Tensor {
	if x.strides[3] == 1 && (x.shape[2] <= 1 || x.strides[2] == x.shape[3]) {
		return x
	}
	return x.Contiguous()
}

// headMatrix returns the [rows, cols] matrix of head h of batch b of x
// [B, H, rows, cols] whose matrices are contiguous.
func headMatrix[T Float](x *Tensor, b, h int) []T {
	o := x.offset + b*x.strides[0] + h*x.strides[1]
	return storage[T](x)[o : o+x.shape[2]*x.shape[3]]
}

func flashForward[T Float](g flashGeom, q, k, v, out, lse *Tensor) {
	qd := Data[T](q)
	od, ld := Data[T](out), Data[T](lse)
	group := g.H / g.Hkv
	kernels.Parallel(g.B*g.H, func(bh int) {
		b, kh := bh/g.H, (bh%g.H)/group
		Q := qd[bh*g.T*g.d : (bh+1)*g.T*g.d]
		K := headMatrix[T](k, b, kh)
		V := headMatrix[T](v, b, kh)
		O := od[bh*g.T*g.dv : (bh+1)*g.T*g.dv]
		L := ld[bh*g.T : (bh+1)*g.T]
		s := make([]T, flashBq*flashBk)
		m := make([]float64, flashBq)
		l := make([]float64, flashBq)
		for i0 := 0; i0 < g.T; i0 += flashBq {
			iq := min(flashBq, g.T-i0)
			acc := O[i0*g.dv : (i0+iq)*g.dv]
			clear(acc)
			for r := range iq {
				m[r], l[r] = math.Inf(-1), 0
			}
			kEnd := g.keyEnd(i0 + iq - 1)
			for j0 := 0; j0 < kEnd; j0 += flashBk {
				jk := min(flashBk, kEnd-j0)
				// s = Q_i·K_jᵀ [iq, jk]
				gemm1(false, true, iq, jk, g.d, Q[i0*g.d:], g.d, K[j0*g.d:], g.d, 0, s, jk)
				for r := range iq {
					row := s[r*jk : (r+1)*jk]
					see := g.keyEnd(i0+r) - j0 // keys [j0, j0+see) are visible
					mNew := m[r]
					if vis := min(see, jk); vis > 0 {
						mx := row[0]
						for _, v := range row[1:vis] {
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
					vis := max(0, min(see, jk))
					sum := expRow(row[:vis], g.scale, mNew)
					clear(row[vis:])
					l[r] = l[r]*alpha + sum
					m[r] = mNew
					if alpha != 1 {
						a := acc[r*g.dv : (r+1)*g.dv]
						for c := range a {
							a[c] = T(float64(a[c]) * alpha)
						}
					}
				}
				// acc += P·V_j [iq, dv]
				gemm1(false, false, iq, g.dv, jk, s, jk, V[j0*g.dv:], g.dv, 1, acc, g.dv)
			}
			for r := range iq {
				a := acc[r*g.dv : (r+1)*g.dv]
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
	qd, kd, vd, od, ld, dod := Data[T](ts[0]), Data[T](ts[1]), Data[T](ts[2]), Data[T](ts[3]), Data[T](ts[4]), Data[T](ts[5])
	dqd, dkd, dvd := Data[T](ts[6]), Data[T](ts[7]), Data[T](ts[8])
	group := g.H / g.Hkv
	kernels.Parallel(g.B*g.Hkv, func(bkv int) {
		b, kh := bkv/g.Hkv, bkv%g.Hkv
		K := kd[bkv*g.S*g.d : (bkv+1)*g.S*g.d]
		V := vd[bkv*g.S*g.dv : (bkv+1)*g.S*g.dv]
		dK := dkd[bkv*g.S*g.d : (bkv+1)*g.S*g.d]
		dV := dvd[bkv*g.S*g.dv : (bkv+1)*g.S*g.dv]
		p := make([]T, flashBq*flashBk)
		dp := make([]T, flashBq*flashBk)
		delta := make([]float64, g.T)
		for hh := range group {
			bh := b*g.H + kh*group + hh
			Q := qd[bh*g.T*g.d : (bh+1)*g.T*g.d]
			O := od[bh*g.T*g.dv : (bh+1)*g.T*g.dv]
			dO := dod[bh*g.T*g.dv : (bh+1)*g.T*g.dv]
			L := ld[bh*g.T : (bh+1)*g.T]
			dQ := dqd[bh*g.T*g.d : (bh+1)*g.T*g.d]
			// delta_t = Σ dO_t ⊙ O_t
			for t := range g.T {
				var s float64
				for c := range g.dv {
					s += float64(dO[t*g.dv+c]) * float64(O[t*g.dv+c])
				}
				delta[t] = s
			}
			for j0 := 0; j0 < g.S; j0 += flashBk {
				jk := min(flashBk, g.S-j0)
				// the first query row that sees key j0
				first := 0
				if g.causal {
					first = max(0, j0-(g.S-g.T))
				}
				for i0 := first / flashBq * flashBq; i0 < g.T; i0 += flashBq {
					iq := min(flashBq, g.T-i0)
					// P = exp(Q_i·K_jᵀ·scale − lse) [iq, jk]
					gemm1(false, true, iq, jk, g.d, Q[i0*g.d:], g.d, K[j0*g.d:], g.d, 0, p, jk)
					// dP = dO_i·V_jᵀ [iq, jk]
					gemm1(false, true, iq, jk, g.dv, dO[i0*g.dv:], g.dv, V[j0*g.dv:], g.dv, 0, dp, jk)
					for r := range iq {
						see := g.keyEnd(i0+r) - j0
						lr := float64(L[i0+r])
						pr, dr := p[r*jk:(r+1)*jk], dp[r*jk:(r+1)*jk]
						vis := max(0, min(see, jk))
						if math.IsInf(lr, -1) {
							vis = 0
						}
						expRow(pr[:vis], g.scale, lr)
						clear(pr[vis:])
						dsRow(dr, pr, delta[i0+r], g.scale) // dS·scale, 0 where P is 0
					}
					// dV_j += Pᵀ·dO_i ; dK_j += dSᵀ·Q_i ; dQ_i += dS·K_j
					gemm1(true, false, jk, g.dv, iq, p, jk, dO[i0*g.dv:], g.dv, 1, dV[j0*g.dv:], g.dv)
					gemm1(true, false, jk, g.d, iq, dp, jk, Q[i0*g.d:], g.d, 1, dK[j0*g.d:], g.d)
					gemm1(false, false, iq, g.d, jk, dp, jk, K[j0*g.d:], g.d, 1, dQ[i0*g.d:], g.d)
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
