//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

//go:noescape
func expSumAVX512(dst, src *float32, n int, scale, shift float32) float32

//go:noescape
func expSumAVX2(dst, src *float32, n int, scale, shift float32) float32

var (
	useAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ && cpu.X86.HasAVX512VL
	useAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA
)

func expSum(dst, src []float32, scale, shift float32) float32 {
	n := len(src)
	if n == 0 {
		return 0
	}
	switch {
	case useAVX512:
		return expSumAVX512(&dst[0], &src[0], n, scale, shift)
	case useAVX2 && n >= 8:
		v := n &^ 7
		s := expSumAVX2(&dst[0], &src[0], v, scale, shift)
		return s + expSumGo(dst[v:], src[v:], scale, shift)
	}
	return expSumGo(dst, src, scale, shift)
}

//go:noescape
func siluAVX512(dst, x *float32, n int)

//go:noescape
func siluGradAVX512(dst, x, gr *float32, n int)

//go:noescape
func geluTanhAVX512(dst, x *float32, n int)

//go:noescape
func geluTanhGradAVX512(dst, x, gr *float32, n int)

//go:noescape
func addAVX512(dst, a, b *float32, n int, op int)

//go:noescape
func axpyAVX512(dst, x *float32, n int, alpha float32)

//go:noescape
func sumSqDevAVX512(x *float32, n int, mean float32) (sum, sumsq float32)

//go:noescape
func normFwdAVX512(dst, x, w, b *float32, n int, mean, rstd float32)

//go:noescape
func normBwd1AVX512(x, gr, w, dw, db *float32, n int, mean, rstd float32) (s1, s2 float32)

//go:noescape
func normBwd2AVX512(dx, x, gr, w *float32, n int, mean, rstd, c1, c2 float32)

//go:noescape
func adamAVX512(w, gr, m, v *float32, n int, p *AdamParams)

//go:noescape
func dealRow6AVX512(dst *float32, stride int, src *float32, np int)

//go:noescape
func packRows64AVX512(dst *float32, src *float32, ld, n int)

//go:noescape
func transpose16AVX512(dst *float32, dstStride int, src *float32, ld int)

//go:noescape
func dotRowsAVX512(y, x, w *float32, ldw, n, k int)

//go:noescape
func axpyRowsAVX512(y, x, b *float32, ldb, rows, n int)

//go:noescape
func dot4x4AVX512(y *float32, ldy int, x *float32, ldx int, w *float32, ldw int, n, k int, pf int)

//go:noescape
func geluErfAVX512(dst, x *float32, n int)

//go:noescape
func geluErfGradAVX512(dst, x, gr *float32, n int)
