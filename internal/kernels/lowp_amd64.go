//go:build amd64 && !purego

package kernels

// Assembly kernels of lowp_amd64.s (AVX-512F/DQ/VL, used when useAVX512).

//go:noescape
func dotHalfAVX512(f16 int, c *float32, ldc int, x *float32, ldx int, m int, w *byte, ldw int, n, k int, beta float32)

//go:noescape
func dotQ8AVX512(c *float32, ldc int, x *float32, ldx int, m int, w *byte, ldw int, n, nb int, beta float32, tab *[1 << 16]float32)

//go:noescape
func widenBF16AVX512(dst *float32, src *byte, n int)

//go:noescape
func widenF16AVX512(dst *float32, src *byte, n int)

//go:noescape
func widenQ8AVX512(dst *float32, src *byte, nb int)
