//go:build amd64 && !purego

package kernels

func addAsmExpPaths(paths map[string]func(dst, src []float32, scale, shift float32) float32) {
	if useAVX512 {
		paths["avx512"] = func(dst, src []float32, scale, shift float32) float32 {
			if len(src) == 0 {
				return 0
			}
			return expSumAVX512(&dst[0], &src[0], len(src), scale, shift)
		}
	}
	if useAVX2 {
		paths["avx2"] = func(dst, src []float32, scale, shift float32) float32 {
			v := len(src) &^ 7
			var s float32
			if v > 0 {
				s = expSumAVX2(&dst[0], &src[0], v, scale, shift)
			}
			return s + expSumGo(dst[v:], src[v:], scale, shift)
		}
	}
}

func setAVX512(v bool) { useAVX512 = v }
