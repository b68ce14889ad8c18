//go:build !amd64 || purego

package kernels

func dotHalfAVX512(f16 int, c *float32, ldc int, x *float32, ldx int, m int, w *byte, ldw int, n, k int, beta float32) {
	panic("unreachable")
}

func dotQ8AVX512(c *float32, ldc int, x *float32, ldx int, m int, w *byte, ldw int, n, nb int, beta float32, tab *[1 << 16]float32) {
	panic("unreachable")
}

func widenBF16AVX512(dst *float32, src *byte, n int) { panic("unreachable") }
func widenF16AVX512(dst *float32, src *byte, n int)  { panic("unreachable") }
func widenQ8AVX512(dst *float32, src *byte, nb int)  { panic("unreachable") }
