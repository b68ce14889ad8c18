package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func BenchmarkKGemmParts(b *testing.B) {
	for _, f := range []Format{Q4_K, Q6_K} {
		k := 2048
		nb := k / qkK
		rng := rand.New(rand.NewPCG(1, 2))
		const m, n = 64, 256
		a := randSlice[float32](rng, m*k)
		w := randKRows(rng, f, n, k)
		acts := packActsK(f, 1, m, k, a, k, nil)
		tb := nb * kTileBlockBytes(f)
		buf := make([]byte, n/16*tb)
		b.Run(fmt.Sprintf("%v/repack", f), func(b *testing.B) {
			for range b.N {
				for t := range n / 16 {
					repackKTile(f, buf[t*tb:], w[t*16*f.RowBytes(k):], f.RowBytes(k), 16, nb)
				}
			}
			b.ReportMetric(float64(n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gval/s")
		})
		b.Run(fmt.Sprintf("%v/quant", f), func(b *testing.B) {
			for range b.N {
				acts = packActsK(f, 1, m, k, a, k, acts)
			}
			b.ReportMetric(float64(m*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gval/s")
		})
		b.Run(fmt.Sprintf("%v/kernel", f), func(b *testing.B) {
			var out [256]float32
			ab := nb * kActBlockBytes(f)
			for range b.N {
				for ib := range m / 8 {
					for t := range n / 16 {
						if f == Q6_K {
							gemmQ6KVNNI(&out[0], &acts[ib*ab], &buf[t*tb], nb, 1)
						} else {
							gemmQ4KVNNI(&out[0], &acts[ib*ab], &buf[t*tb], nb, 1)
						}
					}
				}
			}
			b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GOP/s")
		})
	}
}
