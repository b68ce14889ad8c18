package tensor

import (
	"fmt"

	"github.com/loomml/loom/internal/kernels"
)

// MatMulShape returns the output shape of MatMul and the sizes m, k, n, or an
// error naming the shapes when they do not fit.
func MatMulShape(a, b []int, transA, transB bool) (out []int, m, k, n int, err error) {
	if len(a) < 2 || len(b) < 2 {
		return nil, 0, 0, 0, fmt.Errorf("tensor: matmul needs at least 2 dimensions, have %v and %v", a, b)
	}
	m, k = a[len(a)-2], a[len(a)-1]
	if transA {
		m, k = k, m
	}
	kb, n := b[len(b)-2], b[len(b)-1]
	if transB {
		kb, n = n, kb
	}
	if k != kb {
		return nil, 0, 0, 0, fmt.Errorf("tensor: matmul of %v (transposed %v) and %v (transposed %v): inner sizes %d and %d differ", a, transA, b, transB, k, kb)
	}
	batch, err := BroadcastShapes(a[:len(a)-2], b[:len(b)-2])
	if err != nil {
		return nil, 0, 0, 0, fmt.Errorf("tensor: matmul batch dimensions of %v and %v do not broadcast", a, b)
	}
	return append(batch, m, n), m, k, n, nil
}

// MatMul returns op(a)·op(b) for a [..., M, K] (or [..., K, M] when transA)
// and b [..., K, N] (or [..., N, K] when transB). Leading batch dimensions
// broadcast. Every product goes through internal/kernels.
func MatMul(a, b *Tensor, transA, transB bool) *Tensor {
	return MatMulWith(a, b, transA, transB, FP32)
}

// MatMulWith is MatMul in the given precision (packed weights and float64
// tensors keep their own arithmetic).
func MatMulWith(a, b *Tensor, transA, transB bool, prec Precision) *Tensor {
	if b.dtype.Packed() {
		b = packedOperand(a, b, transA, transB)
	}
	if a.dtype != b.dtype && !b.dtype.Packed() {
		panic(fmt.Sprintf("tensor: matmul of %v and %v", a.dtype, b.dtype))
	}
	shape, _, _, _, err := MatMulShape(a.shape, b.shape, transA, transB)
	if err != nil {
		panic(err.Error())
	}
	out := uninit(a.dtype, shape...) // beta 0: every element written
	if b.dtype.Packed() {
		matmulPacked(out, a, b, 0)
		return out
	}
	matMulInto(out, a, b, transA, transB, 0, prec)
	return out
}

// MatMulInto computes out = op(a)·op(b) + beta·out into the contiguous out,
// whose shape must be MatMul's output shape.
func MatMulInto(out, a, b *Tensor, transA, transB bool, beta float64) {
	matMulInto(out, a, b, transA, transB, beta, FP32)
}

func matMulInto(out, a, b *Tensor, transA, transB bool, beta float64, prec Precision) {
	shape, m, k, n, err := MatMulShape(a.shape, b.shape, transA, transB)
	if err != nil {
		panic(err.Error())
	}
	if !EqualShape(shape, out.shape) || !out.IsContiguous() {
		panic(fmt.Sprintf("tensor: matmul output shape %v, want contiguous %v", out.shape, shape))
	}
	if b.dtype.Packed() {
		if b = packedOperand(a, b, transA, transB); b.dtype.Packed() {
			matmulPacked(out, a, b, float32(beta))
			return
		}
	}
	a, b = a.Contiguous(), b.Contiguous()
	if a.dtype == Float32 {
		matmulT(out, a, b, transA, transB, m, k, n, float32(beta), prec)
	} else {
		matmulT(out, a, b, transA, transB, m, k, n, beta, prec)
	}
}

// packedOperand returns the packed b itself when the product is the
// weight form a [..., K]·bᵀ with b [N, K] that the low-precision kernels
// compute, and b widened to float32 otherwise.
func packedOperand(a, b *Tensor, transA, transB bool) *Tensor {
	if a.dtype == Float32 && !transA && transB && b.NDim() == 2 {
		return b
	}
	return b.widen()
}

func gemm[T Float](transA, transB bool, m, n, k int, a []T, lda int, b []T, ldb int, beta T, c []T) {
	gemmWith(kernels.Threads(), transA, transB, m, n, k, a, lda, b, ldb, beta, c, FP32)
}

func matmulT[T Float](out, a, b *Tensor, transA, transB bool, m, k, n int, beta T, prec Precision) {
	ad, bd, od := Data[T](a), Data[T](b), Data[T](out)
	lda, ldb := k, n
	if transA {
		lda = m
	}
	if transB {
		ldb = k
	}
	nb := len(out.shape) - 2
	batch := numelOf(out.shape[:nb])
	if batch == 0 {
		return
	}
	// One large GEMM when b is shared by every batch and a's batches stack.
	if b.NDim() == 2 && !transA {
		gemmWith(kernels.Threads(), false, transB, batch*m, n, k, ad, lda, bd, ldb, beta, od, prec)
		return
	}
	// Per-batch GEMMs with broadcast batch strides.
	sa := batchStrides(a.shape, nb, m*k)
	sb := batchStrides(b.shape, nb, k*n)
	idx := make([]int, nb)
	oa, ob := 0, 0
	// Many small products (attention heads): one goroutine per product
	// rather than threads within each, which tiny matrices cannot use.
	par := batch > 1 && kernels.Threads() > 1 && m*n*k <= smallGemm
	var offs [][2]int
	if par {
		offs = make([][2]int, batch)
	}
	for i := 0; i < batch; i++ {
		if par {
			offs[i] = [2]int{oa, ob}
		} else {
			gemmWith(kernels.Threads(), transA, transB, m, n, k, ad[oa:], lda, bd[ob:], ldb, beta, od[i*m*n:(i+1)*m*n], prec)
		}
		for d := nb - 1; d >= 0; d-- {
			idx[d]++
			oa += sa[d]
			ob += sb[d]
			if idx[d] < out.shape[d] {
				break
			}
			oa -= idx[d] * sa[d]
			ob -= idx[d] * sb[d]
			idx[d] = 0
		}
	}
	if par {
		kernels.Parallel(batch, func(i int) {
			gemmWith(1, transA, transB, m, n, k, ad[offs[i][0]:], lda, bd[offs[i][1]:], ldb, beta, od[i*m*n:(i+1)*m*n], prec)
		})
	}
}

// smallGemm is the size (m·n·k) up to which batched products run one per
// goroutine.
const smallGemm = 1 << 20

// gemmWith is c = a·b (+ beta·c) on up to threads goroutines.
func gemmWith[T Float](threads int, transA, transB bool, m, n, k int, a []T, lda int, b []T, ldb int, beta T, c []T, prec Precision) {
	switch a := any(a).(type) {
	case []float32:
		if prec == BF16 {
			kernels.GemmBF16(threads, transA, transB, m, n, k, 1, a, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), n)
			return
		}
		kernels.SgemmWith(threads, transA, transB, m, n, k, 1, a, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), n)
	case []float64:
		kernels.DgemmWith(threads, transA, transB, m, n, k, 1, a, lda, any(b).([]float64), ldb, float64(beta), any(c).([]float64), n)
	}
}

// batchStrides returns, for each of the nb output batch dimensions, the
// element stride of a contiguous operand of the given shape whose matrices hold
// mat elements (0 where the operand broadcasts).
func batchStrides(shape []int, nb, mat int) []int {
	st := make([]int, nb)
	own := shape[:len(shape)-2]
	lead := nb - len(own)
	s := mat
	for i := len(own) - 1; i >= 0; i-- {
		if own[i] != 1 {
			st[lead+i] = s
		}
		s *= own[i]
	}
	return st
}
