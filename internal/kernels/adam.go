package kernels

import "math"

// AdamParams are the per-step constants of an Adam(W) update.
type AdamParams struct {
	B1, C1, B2, C2 float32 // β1, 1−β1, β2, 1−β2
	BC2            float32 // √(1−β2ᵗ)
	Eps            float32
	Step           float32 // lr/(1−β1ᵗ)
	Decay          float32 // 1 − lr·wd for AdamW, else 1
	WD             float32 // wd for Adam's L2 term, else 0
}

// Adam applies one Adam(W) update to w with gradient g and moments m, v:
// with d = g + WD·w: w ← w·Decay; m ← m·β1 + d·(1−β1); v ← v·β2 + d²·(1−β2);
// w ← w − Step·m/(√v/BC2 + Eps), the order of PyTorch's implementation.
func Adam(w, g, m, v []float32, p *AdamParams) {
	n := len(w)
	g, m, v = g[:n], m[:n], v[:n]
	if n >= 2*adamChunk && Threads() > 1 {
		// Elements are independent: large tensors are split across threads.
		Parallel((n+adamChunk-1)/adamChunk, func(c int) {
			lo, hi := c*adamChunk, min(n, (c+1)*adamChunk)
			adamSerial(w[lo:hi], g[lo:hi], m[lo:hi], v[lo:hi], p)
		})
		return
	}
	adamSerial(w, g, m, v, p)
}

// adamChunk is the slice of a large tensor one thread updates at a time.
const adamChunk = 1 << 16

func adamSerial(w, g, m, v []float32, p *AdamParams) {
	n := len(w)
	if n > 0 && useAVX512 {
		adamAVX512(&w[0], &g[0], &m[0], &v[0], n, p)
		return
	}
	for i := range w {
		d := g[i]
		if p.WD != 0 {
			d += p.WD * w[i]
		}
		w[i] *= p.Decay
		m[i] = m[i]*p.B1 + d*p.C1
		v[i] = v[i]*p.B2 + d*d*p.C2
		denom := float32(math.Sqrt(float64(v[i])))/p.BC2 + p.Eps
		w[i] -= p.Step * (m[i] / denom)
	}
}
