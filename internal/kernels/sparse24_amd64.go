//go:build amd64 && !purego

package kernels

// Assembly kernel of sparse24_amd64.s (AVX-512F, used when useAVX512).

//go:noescape
func dot24AVX512(y *float32, ldy int, x *float32, ldx int, m int, vals *float32, idx *uint32, nq, kc int, mask int)

//go:noescape
func unpack24AVX512(dst *float32, ldd int, vals *float32, idx *uint32, nq, kc int, mask int)
