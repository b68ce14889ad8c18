//go:build !amd64 || purego

package kernels

// HasBF16 reports whether this CPU runs AVX512-BF16; only amd64 builds
// have the kernels.
func HasBF16() bool { return false }

// PeakProbe has no probe loops on this architecture: it returns 0.
func PeakProbe(kind string, n int) float64 { return 0 }

func bf16WordsAVX512(dst *uint32, src *float32, groups int, alpha float32) {
	panic("kernels: no AVX512-BF16 on this architecture")
}

func bf16PairsAVX512(dst *uint32, r0, r1 *float32, groups int, alpha float32, perm *uint16) {
	panic("kernels: no AVX512-BF16 on this architecture")
}
