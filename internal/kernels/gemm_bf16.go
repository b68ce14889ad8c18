package kernels

import (
	"math"
	"sync"
	"unsafe"
)

// Mixed-precision products: GemmBF16 computes
//
//	C[m×n] = bf16(alpha·op(A)) · bf16(op(B)) + beta·C
//
// where bf16(x) rounds each float32 to bfloat16 (to nearest, ties to even,
// NaN kept as a quiet NaN, float32 subnormals flushed to signed zero, as
// VCVTNEPS2BF16 does) and the products are summed in float32. A product of
// two bfloat16s is exact in float32, so the result differs from the exact
// product of the rounded operands only by float32 summation error, and
// from the float32 product of A and B by at most
//
//	((1+u)²−1 + γ(k+1)·(1+u)²) · Σ_p |alpha·A[i,p]·B[p,j]| + |beta·C[i,j]|·2⁻²³
//
// with u = 2⁻⁸ (bfloat16's unit roundoff) and γ(n) = n·2⁻²⁴/(1−n·2⁻²⁴)
// (gemm_bf16_test.go checks it against float64).
//
// On CPUs with AVX512-BF16, when the float32 kernel in use is avx512_6x64,
// the operands are converted once into bfloat16 pairs along k (one 32-bit
// word holds steps 2q and 2q+1, the lower half first; an odd k gets a zero
// step) and the packed loop nest of the float32 kernels runs on the words
// with the 6×64 VDPBF16PS micro-kernel (gen/main.go): each element is
// summed pair by pair in order, so results do not depend on the thread
// count. Elsewhere (or with LOOM_GEMM naming another float32 kernel) the
// rounded operands are widened back to float32 and multiplied by the
// float32 kernel in use: the same rounding, float32 speed.

// BF16Round returns x rounded to bfloat16 as GemmBF16 rounds its operands,
// widened back to float32.
func BF16Round(x float32) float32 { return math.Float32frombits(uint32(bf16Bits(x)) << 16) }

// bf16Bits is the bfloat16 nearest to x (ties to even), NaN quiet,
// subnormals flushed to signed zero.
func bf16Bits(x float32) uint16 {
	if b := math.Float32bits(x); b&0x7f800000 == 0 {
		return uint16(b>>16) & 0x8000
	}
	return BF16FromFloat32(x)
}

// bf16Kernel is the native bf16 product, when this CPU has one.
var bf16Kernel *packedKernel

// BF16KernelName is the name bench and Native report.
const BF16KernelName = "avx512bf16_6x64"

// BF16Native reports the name of the AVX512-BF16 kernel GemmBF16 uses now,
// or "" when products are emulated (no AVX512-BF16, or LOOM_GEMM chose a
// float32 kernel other than avx512_6x64).
func BF16Native() string {
	if bf16Kernel != nil && Current() == "avx512_6x64" {
		return BF16KernelName
	}
	return ""
}

// BF16Kernel returns the native bf16 product as an SgemmKernel (for
// benchmarks: its Sgemm is GemmBF16 on the AVX512-BF16 kernel whatever
// kernel is in use), or nil when this CPU has none.
func BF16Kernel() SgemmKernel {
	if bf16Kernel == nil {
		return nil
	}
	return bf16Native{}
}

type bf16Native struct{}

func (bf16Native) Name() string { return BF16KernelName }
func (bf16Native) Sgemm(threads int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemmBF16(true, threads, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// GemmBF16 is the mixed-precision product above (SgemmKernel's contract
// otherwise). threads is the goroutine budget.
func GemmBF16(threads int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemmBF16(BF16Native() != "", max(threads, 1), transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// bf16Scratch holds one call's converted operands.
type bf16Scratch struct{ a, b []uint32 }

var bf16Pool sync.Pool

func gemmBF16(native bool, threads int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if gemmDone(transA, transB, m, n, k, alpha, len(a), lda, len(b), ldb, beta, c, ldc) {
		return
	}
	s, _ := bf16Pool.Get().(*bf16Scratch)
	if s == nil {
		s = &bf16Scratch{}
	}
	defer bf16Pool.Put(s)
	if !native {
		// Emulated: the rounded operands in float32, same layouts.
		ra, rb := roundedCopy(&s.a, transA, m, k, alpha, a, lda), roundedCopy(&s.b, !transB, n, k, 1, b, ldb)
		lda, ldb := k, n
		if transA {
			lda = m
		}
		if transB {
			ldb = k
		}
		SgemmWith(threads, transA, transB, m, n, k, 1, ra, lda, rb, ldb, beta, c, ldc)
		return
	}
	k2 := (k + 1) / 2
	aw := grow(&s.a, m*k2)
	bw := grow(&s.b, n*k2)
	// op(A) as words: [m×k2] (untransposed) or [k2×m]; op(B) as [k2×n] or
	// [n×k2] (transposed). op(B) = B [k×n] is the transpose of an [n×k]
	// operand in convertPairs' terms, hence !transB.
	convertPairs(threads, aw, transA, m, k, alpha, a, lda)
	convertPairs(threads, bw, !transB, n, k, 1, b, ldb)
	af, bf := wordsAsFloats(aw), wordsAsFloats(bw)
	alda, bldb := k2, n
	if transA {
		alda = m
	}
	if transB {
		bldb = k2
	}
	if beta != 0 && beta != 1 {
		scaleC(m, n, beta, c, ldc)
		beta = 1
	}
	p := bf16Kernel
	mr, nr := p.micro.mr, p.micro.nr
	tm, tn := splitTiles(threads, m, n, k, mr, nr)
	if tm*tn == 1 {
		p.serial(transA, transB, m, n, k2, 1, af, alda, bf, bldb, beta, c, ldc)
		return
	}
	runTiles(tm, tn, mr, nr, transA, transB, m, n, af, alda, bf, bldb, c, ldc, func(m, n int, a, b, c []float32) {
		p.serial(transA, transB, m, n, k2, 1, a, alda, b, bldb, beta, c, ldc)
	})
}

func grow[T any](s *[]T, n int) []T {
	if cap(*s) < n {
		*s = make([]T, n+n/4)
	}
	return (*s)[:n]
}

// wordsAsFloats views bfloat16 pairs as float32 values for the packing
// routines, which only move them.
func wordsAsFloats(w []uint32) []float32 {
	if len(w) == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&w[0])), len(w))
}

// roundedCopy returns alpha·X rounded to bfloat16 as float32, in a dense
// copy of X's layout: X is [r×k] (ld ≥ k), or [k×r] (ld ≥ r) when trans.
func roundedCopy(buf *[]uint32, trans bool, r, k int, alpha float32, x []float32, ld int) []float32 {
	rows, cols := r, k
	if trans {
		rows, cols = k, r
	}
	out := wordsAsFloats(grow(buf, rows*cols))
	for i := range rows {
		src, dst := x[i*ld:i*ld+cols], out[i*cols:(i+1)*cols]
		for j, v := range src {
			dst[j] = BF16Round(alpha * v)
		}
	}
	return out
}

// convertPairs writes op(X)'s rows (r of them, k steps each; op(X) = X
// [r×k] or, when trans, the transpose of X [k×r]) scaled by alpha as
// bfloat16 pairs along k: when !trans, dst is [r×k2] with word (i, q) =
// pair(x[i, 2q], x[i, 2q+1]); when trans, dst is [k2×r] with word (q, i) =
// pair(x[2q, i], x[2q+1, i]). A missing step 2q+1 (odd k) is zero.
func convertPairs(threads int, dst []uint32, trans bool, r, k int, alpha float32, x []float32, ld int) {
	k2 := (k + 1) / 2
	if !trans {
		chunks := convertChunks(threads, r, k)
		run(chunks, threads-1, func(c int) {
			for i := c * r / chunks; i < (c+1)*r/chunks; i++ {
				wordsRow(dst[i*k2:(i+1)*k2], x[i*ld:i*ld+k], alpha)
			}
		})
		return
	}
	chunks := convertChunks(threads, k2, r)
	run(chunks, threads-1, func(c int) {
		for q := c * k2 / chunks; q < (c+1)*k2/chunks; q++ {
			r0 := x[2*q*ld : 2*q*ld+r]
			var r1 []float32
			if 2*q+1 < k {
				r1 = x[(2*q+1)*ld : (2*q+1)*ld+r]
			}
			pairsRow(dst[q*r:(q+1)*r], r0, r1, alpha)
		}
	})
}

// convertChunks splits rows×cols conversions into parts for threads.
func convertChunks(threads, rows, cols int) int {
	if threads <= 1 || rows*cols < 1<<15 {
		return 1
	}
	return min(threads, rows)
}

// wordsRow writes dst[q] = pair(alpha·x[2q], alpha·x[2q+1]).
func wordsRow(dst []uint32, x []float32, alpha float32) {
	q := 0
	if bf16Kernel != nil && len(x) >= 32 {
		g := len(x) / 32
		bf16WordsAVX512(&dst[0], &x[0], g, alpha)
		q = 16 * g
	}
	for ; 2*q < len(x); q++ {
		lo := uint32(bf16Bits(alpha * x[2*q]))
		var hi uint32
		if 2*q+1 < len(x) {
			hi = uint32(bf16Bits(alpha * x[2*q+1]))
		}
		dst[q] = lo | hi<<16
	}
}

// bf16Interleave is VPERMW's index: word 2i from lane i, 2i+1 from lane 16+i.
var bf16Interleave = func() (p [32]uint16) {
	for i := range 16 {
		p[2*i], p[2*i+1] = uint16(i), uint16(16+i)
	}
	return p
}()

// pairsRow writes dst[i] = pair(alpha·r0[i], alpha·r1[i]) (r1 nil: zero).
func pairsRow(dst []uint32, r0, r1 []float32, alpha float32) {
	i := 0
	if bf16Kernel != nil && r1 != nil && len(r0) >= 16 {
		g := len(r0) / 16
		bf16PairsAVX512(&dst[0], &r0[0], &r1[0], g, alpha, &bf16Interleave[0])
		i = 16 * g
	}
	for ; i < len(r0); i++ {
		lo := uint32(bf16Bits(alpha * r0[i]))
		var hi uint32
		if r1 != nil {
			hi = uint32(bf16Bits(alpha * r1[i]))
		}
		dst[i] = lo | hi<<16
	}
}
