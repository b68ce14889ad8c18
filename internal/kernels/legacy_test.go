package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

var legacyFormats = []Format{Q4_0, Q4_1, Q5_0, Q5_1}

// randLegacyRows returns n random rows of k values in format f: random
// level bytes and f16 scales and mins of varied magnitude and sign.
func randLegacyRows(rng *rand.Rand, f Format, n, k int) []byte {
	bb := legacyBlockBytes(f)
	w := make([]byte, n*f.RowBytes(k))
	for i := range w {
		w[i] = byte(rng.Uint32())
	}
	scale := func() uint16 {
		if rng.IntN(16) == 0 {
			return uint16(rng.IntN(0x400)) // subnormal
		}
		return F16FromFloat32(float32(math.Ldexp(rng.Float64()-0.3, -rng.IntN(12))))
	}
	for b := 0; b < len(w); b += bb {
		binary.LittleEndian.PutUint16(w[b:], scale())
		if hasMin(f) {
			binary.LittleEndian.PutUint16(w[b+2:], scale())
		}
	}
	return w
}

// legacyExact returns a row's values in float64 exactly (d·(q−o) or
// d·q + m) and the magnitudes of their parts.
func legacyExact(f Format, row []byte, k int) (v, dpart, mpart []float64) {
	bb := legacyBlockBytes(f)
	v, dpart, mpart = make([]float64, k), make([]float64, k), make([]float64, k)
	var lv [32]uint8
	for b := range k / q8Block {
		blk := row[b*bb:]
		legacyLevels(f, blk, &lv)
		d := float64(Float32FromF16(binary.LittleEndian.Uint16(blk)))
		for i := range 32 {
			p := b*q8Block + i
			dpart[p] = d * float64(int32(lv[i])-legacyOffset(f))
			if hasMin(f) {
				mpart[p] = float64(Float32FromF16(binary.LittleEndian.Uint16(blk[2:])))
			}
			v[p] = dpart[p] + mpart[p]
		}
	}
	return v, dpart, mpart
}

// TestLegacyProducts runs GemmLowT on q4_0 … q5_1 weights as
// TestKQuantProducts does on the k-quants: Widen within one rounding of
// the exact values, the decode path within γ(k/64+9) of the exact product
// of the rounded activations (the mins' part with the activations' sums as
// llama.cpp's Q8_1 rounds them), VNNI bit-identical to plain Go, the m > 3
// path within the float32 GEMM bound, any thread count.
func TestLegacyProducts(t *testing.T) {
	saved := useVNNI
	defer func() { useVNNI = saved }()
	rng := rand.New(rand.NewPCG(21, 4))
	for _, f := range legacyFormats {
		for _, k := range []int{32, 64, 96, 160, 2048} {
			for _, m := range []int{1, 3, 5} {
				for _, n := range []int{1, 6, 37} {
					for _, beta := range []float32{0, 1, -0.75} {
						name := fmt.Sprintf("%v m=%d n=%d k=%d beta=%v", f, m, n, k, beta)
						a := randSlice[float32](rng, m*k)
						for i := range a {
							if rng.IntN(8) == 0 {
								a[i] = 0
							}
						}
						w := randLegacyRows(rng, f, n, k)
						c0 := randSlice[float32](rng, m*n)
						run := func(th int) []float32 {
							c := slices.Clone(c0)
							GemmLowT(f, th, m, n, k, a, k, w, beta, c, n)
							return c
						}
						useVNNI = false
						ref := run(1)
						if saved && m <= 3 {
							useVNNI = true
							if got := run(1); sameBits(got, ref) >= 0 {
								i := sameBits(got, ref)
								t.Fatalf("%s: VNNI element %d = %v, plain Go %v", name, i, got[i], ref[i])
							}
						}
						if i := sameBits(run(3), ref); i >= 0 {
							t.Fatalf("%s: threads=3 differs at %d", name, i)
						}
						useVNNI = saved
						xr := slices.Clone(a)
						RoundQ8Act(xr)
						wf := make([]float32, n*k)
						Widen(f, wf, w)
						for i := range m {
							var act q8LAct
							if m <= 3 {
								act = quantQ8LAct(a[i*k : (i+1)*k])
							}
							for j := range n {
								v, dp, mp := legacyExact(f, w[j*f.RowBytes(k):], k)
								if i == 0 {
									for p := range k {
										if d := math.Abs(float64(wf[j*k+p]) - v[p]); d > 0x1p-23*(math.Abs(dp[p])+math.Abs(mp[p])) {
											t.Fatalf("%s: Widen value %d = %v, exact %v", name, p, wf[j*k+p], v[p])
										}
									}
								}
								var s, mag float64
								for p := range k {
									x := float64(xr[i*k+p])
									if m > 3 {
										s += x * float64(wf[j*k+p])
										mag += math.Abs(x * float64(wf[j*k+p]))
									} else {
										s += x * dp[p]
										mag += math.Abs(x * dp[p])
									}
								}
								if m <= 3 && hasMin(f) {
									// Σ m·s_a, with the activations' sums as llama.cpp's Q8_1 rounds them.
									for b := range k / q8Block {
										mw := mp[b*q8Block]
										s += mw * float64(act.s[b])
										mag += math.Abs(mw * float64(act.s[b]))
									}
								}
								bc := float64(beta) * float64(c0[i*n+j])
								s += bc
								mag += math.Abs(bc)
								tol := float64(k+3) * 0x1p-23 * mag
								if m <= 3 {
									g := float64(k/64 + 9)
									tol = g * 0x1p-24 / (1 - g*0x1p-24) * mag
								}
								if d := math.Abs(float64(ref[i*n+j]) - s); !(d <= tol+1e-30) {
									t.Fatalf("%s: C[%d,%d] = %v, want %v (|diff| %.3g > %.3g)", name, i, j, ref[i*n+j], s, d, tol)
								}
							}
						}
					}
				}
			}
		}
	}
}

func BenchmarkLegacyDot(b *testing.B) {
	for _, f := range legacyFormats {
		rng := rand.New(rand.NewPCG(1, 2))
		n, k := 2048, 2048
		a := randSlice[float32](rng, k)
		w := randLegacyRows(rng, f, n, k)
		c := make([]float32, n)
		b.Run(fmt.Sprintf("%v/%dx%d", f, n, k), func(b *testing.B) {
			for range b.N {
				GemmLowT(f, 1, 1, n, k, a, k, w, 0, c, n)
			}
			b.ReportMetric(float64(len(w))*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
	}
}
