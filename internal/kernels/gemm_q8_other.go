//go:build !amd64 || purego

package kernels

func q8TileVNNI(nb int, a *byte, lda int, w *byte, c *float32, ldc int, rows int, mask int, beta float32) {
	panic("unreachable")
}

func q8QuantRowAVX512(dst *byte, x *float32, nb int) { panic("unreachable") }

func q8PackGroupAVX512(dst *byte, w *byte, rb int, nb int, stride int) { panic("unreachable") }
