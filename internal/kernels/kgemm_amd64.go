//go:build amd64 && !purego

package kernels

// Assembly kernels of kgemm_amd64.s (AVX-512 VNNI and BW, used when
// useVNNI).

//go:noescape
func gemmQ4KVNNI(acc *float32, a *byte, w *byte, nb, init int)

//go:noescape
func gemmQ6KVNNI(acc *float32, a *byte, w *byte, nb, init int)

//go:noescape
func quantQ8KAVX512(q *byte, d *byte, stride int, x *float32, nb int, sad *uint64)

//go:noescape
func repackChunkAVX512(kind int, dst *byte, src *byte, rb int, chunk int)

//go:noescape
func repackScalesAVX512(signed int, dst *byte, rec *byte, dh *uint16, nd int)

//go:noescape
func kStoreAVX512(c *float32, ldc int, acc *float32, rows int, mask int, mins int, addc int, beta float32)
