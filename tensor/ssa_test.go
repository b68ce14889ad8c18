package tensor

import (
	"fmt"
	"math"
	"slices"
	"testing"
)

// TestSSA checks the subsampled kernel, forward and backward: with ratio 1
// it is the dense kernel bit for bit; with a smaller ratio it equals the
// composed attention masked to the plan's tiles (a dense reference).
func TestSSA(t *testing.T) {
	cases := []struct {
		B, H, Hkv, T, d int
		causal          bool
		ratio, loc      float64
	}{
		{2, 4, 2, 200, 16, true, 1, 1},
		{1, 2, 1, 320, 8, false, 1, 0},
		{2, 4, 2, 300, 16, true, 0.25, 1},
		{1, 2, 2, 257, 8, true, 0.5, 0},
		{1, 3, 1, 200, 8, false, 0.3, 2},
	}
	for _, c := range cases {
		for _, dt := range []DType{Float64, Float32} {
			t.Run(fmt.Sprintf("%+v/%v", c, dt), func(t *testing.T) {
				r := NewRNG(uint64(c.T))
				q := RandN(r, c.B, c.H, c.T, c.d).To(dt)
				k := RandN(r, c.B, c.Hkv, c.T, c.d).To(dt)
				v := RandN(r, c.B, c.Hkv, c.T, c.d).To(dt)
				g := RandN(r, c.B, c.H, c.T, c.d).To(dt)
				scale := 1 / math.Sqrt(float64(c.d))
				plan, err := SampleSSA(r, c.B, c.H, c.T, c.ratio, c.loc, c.causal)
				if err != nil {
					t.Fatal(err)
				}
				o := FlashOptions{Causal: c.causal, Scale: scale, SSA: plan}
				got, lse := FlashAttentionWith(q, k, v, o)
				dq, dk, dv := FlashAttentionWithBackward(q, k, v, got, lse, g, o)
				if c.ratio == 1 {
					d := FlashOptions{Causal: c.causal, Scale: scale}
					want, wl := FlashAttentionWith(q, k, v, d)
					wq, wk, wv := FlashAttentionWithBackward(q, k, v, want, wl, g, d)
					for i, pair := range [][2]*Tensor{{got, want}, {dq, wq}, {dk, wk}, {dv, wv}} {
						if !slices.Equal(pair[0].Float64s(), pair[1].Float64s()) {
							t.Fatalf("ratio 1: tensor %d differs from dense attention (max %g)", i, maxDiff(pair[0], pair[1]))
						}
					}
					return
				}
				want, p := Attention(q, k, v, plan.Mask().To(dt), c.causal, scale)
				tol := 1e-12
				if dt == Float32 {
					tol = 2e-5
				}
				if d := maxDiff(got, want); d > tol {
					t.Fatalf("output differs from the masked reference by %g", d)
				}
				wq, wk, wv := composedBackward(q, k, v, p, g, scale)
				for i, pair := range [][2]*Tensor{{dq, wq}, {dk, wk}, {dv, wv}} {
					if d := maxDiff(pair[0], pair[1]); d > 10*tol {
						t.Fatalf("gradient %d differs by %g", i, d)
					}
				}
			})
		}
	}
}

// TestSampleSSA checks the sampling rule: the budget ⌈ratio·visible⌉, the
// diagonal tile always kept, causal plans never looking ahead, the inverse
// map, the pair count, and that locality biases the draws towards near
// tiles (mean distance of the sampled off-diagonal tiles, 2000 draws).
func TestSampleSSA(t *testing.T) {
	r := NewRNG(7)
	for _, c := range []struct {
		T      int
		ratio  float64
		causal bool
	}{{1024, 0.25, true}, {1000, 0.125, true}, {640, 0.5, false}, {64, 0.1, true}} {
		p, err := SampleSSA(r, 2, 3, c.T, c.ratio, 1, c.causal)
		if err != nil {
			t.Fatal(err)
		}
		for b := range 2 {
			for h := range 3 {
				for i := range p.Tiles {
					vis := p.Tiles
					if c.causal {
						vis = i + 1
					}
					want := min(vis, max(1, int(math.Ceil(c.ratio*float64(vis)))))
					ks := p.KeyTiles(b, h, i)
					if len(ks) != want || !slices.Contains(ks, int32(i)) || !slices.IsSorted(ks) {
						t.Fatalf("%+v tile %d: kept %v, want %d tiles with the diagonal", c, i, ks, want)
					}
					if c.causal && ks[len(ks)-1] > int32(i) {
						t.Fatalf("causal tile %d attends the future tile %d", i, ks[len(ks)-1])
					}
					for _, j := range ks {
						if !slices.Contains(p.queries[(b*3+h)*p.Tiles+int(j)], int32(i)) {
							t.Fatalf("inverse map misses query tile %d of key tile %d", i, j)
						}
					}
				}
			}
		}
		s, d := p.Pairs()
		if s <= 0 || s > d {
			t.Fatalf("%+v: %d sampled pairs of %d", c, s, d)
		}
		if full, _ := SampleSSA(r, 2, 3, c.T, 1, 1, c.causal); true {
			if s1, d1 := full.Pairs(); s1 != d1 {
				t.Fatalf("ratio 1 counts %d pairs, dense %d", s1, d1)
			}
		}
	}
	mean := func(loc float64) float64 {
		var sum, n float64
		for range 2000 {
			p, _ := SampleSSA(r, 1, 1, 16*SSATile, 0.25, loc, true)
			for _, j := range p.KeyTiles(0, 0, 15) {
				if j != 15 {
					sum += float64(15 - j)
					n++
				}
			}
		}
		return sum / n
	}
	// Uniform over distances 1…15: mean 8; with locality 1 the weights
	// 1/(1+d) pull it well below.
	if u, l := mean(0), mean(1); math.Abs(u-8) > 0.3 || l > u-1.5 {
		t.Fatalf("mean sampled distance %.2f (uniform, want 8 ± 0.3) and %.2f (locality 1, want below %.2f)", u, l, u-1.5)
	}
	for _, bad := range []float64{0, -0.5, 1.5, math.NaN()} {
		if _, err := SampleSSA(r, 1, 1, 64, bad, 1, true); err == nil {
			t.Fatalf("ratio %v accepted", bad)
		}
	}
}
