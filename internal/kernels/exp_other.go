//go:build !amd64 || purego

package kernels

func expSum(dst, src []float32, scale, shift float32) float32 {
	return expSumGo(dst, src, scale, shift)
}

const useAVX512 = false

func siluAVX512(dst, x *float32, n int)             { panic("unreachable") }
func siluGradAVX512(dst, x, gr *float32, n int)     { panic("unreachable") }
func geluTanhAVX512(dst, x *float32, n int)         { panic("unreachable") }
func geluTanhGradAVX512(dst, x, gr *float32, n int) { panic("unreachable") }
