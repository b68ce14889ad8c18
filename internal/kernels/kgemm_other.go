//go:build !amd64 || purego

package kernels

func gemmQ4KVNNI(acc *float32, a *byte, w *byte, nb, init int) { panic("unreachable") }
func gemmQ6KVNNI(acc *float32, a *byte, w *byte, nb, init int) { panic("unreachable") }

func quantQ8KAVX512(q *byte, d *byte, stride int, x *float32, nb int, sad *uint64) {
	panic("unreachable")
}

func repackChunkAVX512(kind int, dst *byte, src *byte, rb int, chunk int) { panic("unreachable") }

func repackScalesAVX512(signed int, dst *byte, rec *byte, dh *uint16, nd int) { panic("unreachable") }

func kStoreAVX512(c *float32, ldc int, acc *float32, rows int, mask int, mins int, addc int, beta float32) {
	panic("unreachable")
}
