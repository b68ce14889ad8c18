//go:build !amd64 || purego

package kernels

func expSum(dst, src []float32, scale, shift float32) float32 {
	return expSumGo(dst, src, scale, shift)
}

const useAVX512 = false

func siluAVX512(dst, x *float32, n int)             { panic("unreachable") }
func siluGradAVX512(dst, x, gr *float32, n int)     { panic("unreachable") }
func geluTanhAVX512(dst, x *float32, n int)         { panic("unreachable") }
func geluTanhGradAVX512(dst, x, gr *float32, n int) { panic("unreachable") }
func geluErfAVX512(dst, x *float32, n int)          { panic("unreachable") }
func geluErfGradAVX512(dst, x, gr *float32, n int)  { panic("unreachable") }

func addAVX512(dst, a, b *float32, n int, op int)                       { panic("unreachable") }
func axpyAVX512(dst, x *float32, n int, alpha float32)                  { panic("unreachable") }
func sumSqDevAVX512(x *float32, n int, mean float32) (float32, float32) { panic("unreachable") }
func normFwdAVX512(dst, x, w, b *float32, n int, mean, rstd float32)    { panic("unreachable") }
func normBwd1AVX512(x, gr, w, dw, db *float32, n int, mean, rstd float32) (float32, float32) {
	panic("unreachable")
}
func normBwd2AVX512(dx, x, gr, w *float32, n int, mean, rstd, c1, c2 float32) { panic("unreachable") }

func adamAVX512(w, gr, m, v *float32, n int, p *AdamParams) { panic("unreachable") }

func dealRow6AVX512(dst *float32, stride int, src *float32, np int) { panic("unreachable") }

func packRows64AVX512(dst *float32, src *float32, ld, n int) { panic("unreachable") }

func transpose16AVX512(dst *float32, dstStride int, src *float32, ld int) { panic("unreachable") }

func dotRowsAVX512(y, x, w *float32, ldw, n, k int) { panic("unreachable") }

func axpyRowsAVX512(y, x, b *float32, ldb, rows, n int) { panic("unreachable") }
func dot4x4AVX512(y *float32, ldy int, x *float32, ldx int, w *float32, ldw int, n, k int, pf int) {
	panic("unreachable")
}
