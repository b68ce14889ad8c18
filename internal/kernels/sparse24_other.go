//go:build !amd64 || purego

package kernels

func dot24AVX512(y *float32, ldy int, x *float32, ldx int, m int, vals *float32, idx *uint32, nq, kc int, mask int) {
	panic("unreachable")
}

func unpack24AVX512(dst *float32, ldd int, vals *float32, idx *uint32, nq, kc int, mask int) {
	panic("unreachable")
}
