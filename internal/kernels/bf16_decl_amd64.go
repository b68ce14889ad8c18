//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

//go:noescape
func peakFMA(n int)

//go:noescape
func peakBF16(n int)

// HasBF16 reports whether this CPU runs AVX512-BF16 (VDPBF16PS) and the
// AVX512-BW word shuffles the conversions use.
func HasBF16() bool {
	return cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512BF16
}

// PeakProbe runs n iterations of a loop of independent multiply-adds and
// returns the floating-point operations it performed, or 0 when this CPU
// lacks the instructions: "fp32" is 24 VFMADD231PS on 16 float32 lanes
// (AVX-512), "bf16" 24 VDPBF16PS (two bfloat16 products per lane).
// Timing it gives the core's peak rate of that instruction.
func PeakProbe(kind string, n int) float64 {
	switch {
	case n <= 0:
		return 0
	case kind == "fp32" && cpu.X86.HasAVX512F:
		peakFMA(n)
		return float64(n) * 24 * 16 * 2
	case kind == "bf16" && HasBF16():
		peakBF16(n)
		return float64(n) * 24 * 16 * 4
	}
	return 0
}

//go:noescape
func bf16WordsAVX512(dst *uint32, src *float32, groups int, alpha float32)

//go:noescape
func bf16PairsAVX512(dst *uint32, r0, r1 *float32, groups int, alpha float32, perm *uint16)
