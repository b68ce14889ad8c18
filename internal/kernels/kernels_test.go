package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// TestAllKernelsConformance runs every registered SGEMM kernel through the
// same random shapes, transposes, leading dimensions, alpha and beta as the
// plain-Go kernel, and checks thread-count determinism.
func TestAllKernelsConformance(t *testing.T) {
	for _, name := range Names() {
		kern := Get(name)
		t.Run(name, func(t *testing.T) {
			for ti, tc := range transCombos {
				rng := rand.New(rand.NewPCG(11, uint64(ti)))
				shapes := append(gemmShapes(uint64(20+ti), 16), [3]int{513, 255, 600}, [3]int{130, 1030, 70}, [3]int{900, 40, 8}, [3]int{8, 900, 40})
				for si, s := range shapes {
					alpha := []float32{1, 0.5}[si%2]
					beta := []float32{0, 1, -0.7}[(si/2)%3]
					g := newGemmCase(rng, tc.transA, tc.transB, s[0], s[1], s[2], alpha, beta, si%3 != 0)
					for _, th := range []int{1, 2} {
						g.check(t, func(c []float32) {
							kern.Sgemm(th, g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, c, g.ldc)
						})
					}
				}
			}
		})
	}
}

func BenchmarkKernels(b *testing.B) {
	shapes := [][3]int{{256, 256, 256}, {1024, 1024, 1024}, {4096, 2048, 512}}
	for _, name := range Names() {
		kern := Get(name)
		for _, s := range shapes {
			for _, th := range []int{1, 2} {
				m, n, k := s[0], s[1], s[2]
				b.Run(fmt.Sprintf("%s/%dx%dx%d/t%d", name, m, n, k, th), func(b *testing.B) {
					rng := rand.New(rand.NewPCG(1, 2))
					a, bb, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
					for i := range a {
						a[i] = rng.Float32()
					}
					for i := range bb {
						bb[i] = rng.Float32()
					}
					b.ResetTimer()
					start := time.Now()
					for range b.N {
						kern.Sgemm(th, false, false, m, n, k, 1, a, k, bb, n, 0, c, n)
					}
					b.ReportMetric(2*float64(m*n*k)*float64(b.N)/time.Since(start).Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}

// TestAllKernelsDeterministic: every loom kernel gives bit-identical results
// at 1, 2 and 3 threads (tiles of C are computed independently, each with a
// fixed k order).
func TestAllKernelsDeterministic(t *testing.T) {
	for _, name := range Names() {
		if name == "openblas" {
			continue // the yardstick makes no such promise
		}
		kern := Get(name)
		for ti, tc := range transCombos {
			rng := rand.New(rand.NewPCG(31, uint64(ti)))
			g := newGemmCase[float32](rng, tc.transA, tc.transB, 301, 259, 1100, 1, 0, false)
			var ref []float32
			for _, th := range []int{1, 2, 3} {
				c := append([]float32(nil), g.c...)
				kern.Sgemm(th, g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, c, g.ldc)
				if ref == nil {
					ref = c
					continue
				}
				for i := range c {
					if math.Float32bits(c[i]) != math.Float32bits(ref[i]) {
						t.Fatalf("%s %s: threads=%d differs at %d", name, tc.name, th, i)
					}
				}
			}
		}
	}
}
