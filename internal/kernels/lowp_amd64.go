//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

// Assembly kernels of lowp_amd64.s (AVX-512F/DQ/VL, used when useAVX512).

//go:noescape
func dotHalfAVX512(f16 int, c *float32, ldc int, x *float32, ldx int, m int, w *byte, ldw int, n, k int, beta float32)

//go:noescape
func widenBF16AVX512(dst *float32, src *byte, n int)

//go:noescape
func widenF16AVX512(dst *float32, src *byte, n int)

//go:noescape
func widenQ8AVX512(dst *float32, src *byte, nb int)

//go:noescape
func dotQ8VNNI(c *float32, abs *byte, neg *uint64, d *float32, w *byte, rb, n, nb int, beta float32)

func hasVNNI() bool { return cpu.X86.HasAVX512VNNI && cpu.X86.HasAVX512BW }

//go:noescape
func dotQ4KVNNI(c *float32, q *int8, d *float32, s32 *int32, w *byte, rb, n, nb int, beta float32)

//go:noescape
func dotQ6KVNNI(c *float32, q *int8, d *float32, s16 *int32, w *byte, rb, n, nb int, beta float32)

//go:noescape
func dotQ5KVNNI(c *float32, q *int8, d *float32, s32 *int32, w *byte, rb, n, nb int, beta float32)

//go:noescape
func dotQ40VNNI(c *float32, q *int8, d *float32, s4 *int32, s *float32, w *byte, rb, n, nb int, beta float32)

//go:noescape
func dotQ41VNNI(c *float32, q *int8, d *float32, s4 *int32, s *float32, w *byte, rb, n, nb int, beta float32)

//go:noescape
func dotQ50VNNI(c *float32, q *int8, d *float32, s4 *int32, s *float32, w *byte, rb, n, nb int, beta float32)

//go:noescape
func dotQ51VNNI(c *float32, q *int8, d *float32, s4 *int32, s *float32, w *byte, rb, n, nb int, beta float32)

//go:noescape
func axpyRowsF16AVX512(y, x *float32, b *byte, ldb, rows, n int)

//go:noescape
func narrowF16AVX512(dst *byte, src *float32, n int)
