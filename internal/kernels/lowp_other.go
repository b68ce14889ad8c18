//go:build !amd64 || purego

package kernels

func dotHalfAVX512(f16 int, c *float32, ldc int, x *float32, ldx int, m int, w *byte, ldw int, n, k int, beta float32) {
	panic("unreachable")
}

func widenBF16AVX512(dst *float32, src *byte, n int) { panic("unreachable") }
func widenF16AVX512(dst *float32, src *byte, n int)  { panic("unreachable") }
func widenQ8AVX512(dst *float32, src *byte, nb int)  { panic("unreachable") }

func dotQ8VNNI(c *float32, abs *byte, neg *uint64, d *float32, w *byte, rb, n, nb int, beta float32) {
	panic("unreachable")
}

func hasVNNI() bool { return false }

func dotQ4KVNNI(c *float32, q *int8, d *float32, s32 *int32, w *byte, rb, n, nb int, beta float32) {
	panic("unreachable")
}

func dotQ6KVNNI(c *float32, q *int8, d *float32, s16 *int32, w *byte, rb, n, nb int, beta float32) {
	panic("unreachable")
}

func dotQ5KVNNI(c *float32, q *int8, d *float32, s32 *int32, w *byte, rb, n, nb int, beta float32) {
	panic("unreachable")
}

func dotQ40VNNI(c *float32, q *int8, d *float32, s4 *int32, s *float32, w *byte, rb, n, nb int, beta float32) {
	panic("unreachable")
}

func dotQ41VNNI(c *float32, q *int8, d *float32, s4 *int32, s *float32, w *byte, rb, n, nb int, beta float32) {
	panic("unreachable")
}

func dotQ50VNNI(c *float32, q *int8, d *float32, s4 *int32, s *float32, w *byte, rb, n, nb int, beta float32) {
	panic("unreachable")
}

func dotQ51VNNI(c *float32, q *int8, d *float32, s4 *int32, s *float32, w *byte, rb, n, nb int, beta float32) {
	panic("unreachable")
}

func axpyRowsF16AVX512(y, x *float32, b *byte, ldb, rows, n int) { panic("unreachable") }

func narrowF16AVX512(dst *byte, src *float32, n int) { panic("unreachable") }
