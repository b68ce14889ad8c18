//go:build !amd64 || purego

package kernels

func expSum(dst, src []float32, scale, shift float32) float32 {
	return expSumGo(dst, src, scale, shift)
}
