//go:build amd64 && !purego

package kernels

import (
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"
)

// BenchmarkTune sweeps block sizes of the default packed kernel (set
// LOOM_TUNE=1 to run it).
func BenchmarkTune(b *testing.B) {
	if os.Getenv("LOOM_TUNE") == "" {
		b.Skip("set LOOM_TUNE=1")
	}
	var base *packedKernel
	for _, k := range asmKernels {
		if k.name == "sgemmAVX512_6x64" {
			base = &packedKernel{micro: k}
		}
	}
	for _, s := range [][3]int{{1024, 1024, 1024}, {2048, 2048, 2048}} {
		m, n, k := s[0], s[1], s[2]
		rng := rand.New(rand.NewPCG(1, 2))
		a, bb, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
		for i := range a {
			a[i] = rng.Float32()
		}
		for i := range bb {
			bb[i] = rng.Float32()
		}
		for _, kc := range []int{256, 512, 1024} {
			for _, mc := range []int{24, 48, 96} {
				for _, nc := range []int{1024, 2048} {
					p := *base
					p.kc, p.mc, p.nc = kc, mc, nc
					b.Run(fmt.Sprintf("%d/kc%d/mc%d/nc%d", m, kc, mc, nc), func(b *testing.B) {
						start := time.Now()
						for range b.N {
							p.Sgemm(1, false, false, m, n, k, 1, a, k, bb, n, 0, c, n)
						}
						b.ReportMetric(2*float64(m*n*k)*float64(b.N)/time.Since(start).Seconds()/1e9, "GFLOP/s")
					})
				}
			}
		}
	}
}
