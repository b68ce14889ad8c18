package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

var kFormats = []Format{Q4_K, Q5_K, Q6_K}

// randKRows returns n random rows of k values in format f: random level
// bytes and scales, and f16 super-block scales of varied magnitude (now and
// then subnormal or zero).
func randKRows(rng *rand.Rand, f Format, n, k int) []byte {
	bb := kBlockBytes(f)
	w := make([]byte, n*f.RowBytes(k))
	for i := range w {
		w[i] = byte(rng.Uint32())
	}
	scale := func() uint16 {
		switch rng.IntN(16) {
		case 0:
			return 0
		case 1:
			return uint16(rng.IntN(0x400)) // subnormal
		}
		return F16FromFloat32(float32(math.Ldexp(rng.Float64()+0.5, -rng.IntN(12))))
	}
	for b := 0; b < len(w); b += bb {
		if f == Q6_K {
			binary.LittleEndian.PutUint16(w[b+208:], scale())
		} else {
			binary.LittleEndian.PutUint16(w[b:], scale())
			binary.LittleEndian.PutUint16(w[b+2:], scale())
		}
	}
	return w
}

// kExact returns the values of a row of f in float64, exactly as the
// format defines them (d·sc·q − dmin·m, d·sc·(q−32)), and the two parts'
// magnitudes |d·sc·q| and |dmin·m| (Q6_K: |d·sc·(q−32)| and 0).
func kExact(f Format, row []byte, k int) (v, dpart, mpart []float64) {
	bb := kBlockBytes(f)
	v, dpart, mpart = make([]float64, k), make([]float64, k), make([]float64, k)
	var lv [qkK]uint8
	for b := range k / qkK {
		blk := row[b*bb:]
		kLevels(f, blk, &lv)
		for i := range qkK {
			p := b*qkK + i
			if f == Q6_K {
				d := float64(Float32FromF16(binary.LittleEndian.Uint16(blk[208:])))
				dpart[p] = d * float64(int8(blk[192+i/16])) * float64(int(lv[i])-32)
				v[p] = dpart[p]
				continue
			}
			d := float64(Float32FromF16(binary.LittleEndian.Uint16(blk)))
			dmin := float64(Float32FromF16(binary.LittleEndian.Uint16(blk[2:])))
			sc, m := ScaleMinK4(i/32, blk[4:16])
			dpart[p] = d * float64(sc) * float64(lv[i])
			mpart[p] = dmin * float64(m)
			v[p] = dpart[p] - mpart[p]
		}
	}
	return v, dpart, mpart
}

// TestKQuantWiden: Widen gives ggml's dequantised values, within one
// rounding of the exact ones (the bit-exact check against llama.cpp is
// package quant's fixture test).
func TestKQuantWiden(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 7))
	for _, f := range kFormats {
		k := 512
		w := randKRows(rng, f, 3, k)
		got := make([]float32, 3*k)
		Widen(f, got, w)
		for j := range 3 {
			v, dp, mp := kExact(f, w[j*f.RowBytes(k):], k)
			for p := range k {
				tol := 2 * 0x1p-24 * (math.Abs(dp[p]) + math.Abs(mp[p]))
				if d := math.Abs(float64(got[j*k+p]) - v[p]); d > tol {
					t.Fatalf("%v row %d value %d: %v, exact %v", f, j, p, got[j*k+p], v[p])
				}
			}
		}
	}
}

// TestKQuantProducts runs GemmLowT on k-quant weights: the decode path
// (m ≤ 3, on Q8_K activations) within γ(k/256+8) of the exact product of
// the rounded activations with the exact weights, the AVX-512 VNNI kernels
// bit-identical to dotKGo, the m > 3 path within the float32 GEMM bound of
// the rounded activations times the widened weights, and every path
// independent of the thread count.
func TestKQuantProducts(t *testing.T) {
	saved := useVNNI
	defer func() { useVNNI = saved }()
	rng := rand.New(rand.NewPCG(9, 11))
	for _, f := range kFormats {
		for _, k := range []int{256, 768, 2048} {
			for _, m := range []int{1, 2, 3, 5} {
				for _, n := range []int{1, 6, 37} {
					for _, beta := range []float32{0, 1, -0.75} {
						name := fmt.Sprintf("%v m=%d n=%d k=%d beta=%v", f, m, n, k, beta)
						a := randSlice[float32](rng, m*k)
						for i := range a {
							switch rng.IntN(8) {
							case 0:
								a[i] = 0
							case 1:
								a[i] *= 100
							}
						}
						w := randKRows(rng, f, n, k)
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
							if i := sameBits(run(1), ref); i >= 0 {
								t.Fatalf("%s: VNNI element %d = %v, plain Go %v", name, i, run(1)[i], ref[i])
							}
						}
						if i := sameBits(run(3), ref); i >= 0 {
							t.Fatalf("%s: threads=3 differs at %d", name, i)
						}
						useVNNI = saved
						xr := slices.Clone(a)
						RoundQ8K(xr)
						wf := make([]float32, n*k)
						Widen(f, wf, w)
						for i := range m {
							for j := range n {
								v, dp, mp := kExact(f, w[j*f.RowBytes(k):], k)
								var s, mag float64
								for p := range k {
									x := float64(xr[i*k+p])
									if m > 3 {
										s += x * float64(wf[j*k+p])
										mag += math.Abs(x * float64(wf[j*k+p]))
									} else {
										s += x * v[p]
										mag += math.Abs(x*dp[p]) + math.Abs(x*mp[p])
									}
								}
								bc := float64(beta) * float64(c0[i*n+j])
								s += bc
								mag += math.Abs(bc)
								tol := float64(k+3) * 0x1p-23 * mag
								if m <= 3 {
									g := float64(k/qkK + 8)
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

// TestQuantizeQ8K checks the Q8_K quantiser against its definition on
// blocks with ties, zeros and a negative maximum.
func TestQuantizeQ8K(t *testing.T) {
	x := make([]float32, qkK)
	var q [qkK]int8
	if d := QuantizeQ8K(q[:], x); d != 0 || slices.ContainsFunc(q[:], func(v int8) bool { return v != 0 }) {
		t.Fatalf("zeros: d=%v q=%v", d, q)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	for range 50 {
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		x[rng.IntN(qkK)] = -8 // the maximum magnitude, negative
		d := QuantizeQ8K(q[:], x)
		if d != 1/(-127/float32(-8)) {
			t.Fatalf("d = %v", d)
		}
		for i, v := range x {
			want := math.RoundToEven(float64(float32(-127/float32(-8)) * v))
			if float64(q[i]) != min(127, want) {
				t.Fatalf("q[%d] = %d for %v, want %v", i, q[i], v, want)
			}
		}
	}
}

func BenchmarkKQuantDot(b *testing.B) {
	for _, f := range kFormats {
		for _, s := range []struct{ n, k int }{{2048, 2048}, {8192, 2048}} {
			rng := rand.New(rand.NewPCG(1, 2))
			a := randSlice[float32](rng, s.k)
			w := randKRows(rng, f, s.n, s.k)
			c := make([]float32, s.n)
			for _, th := range []int{1, 2} {
				b.Run(fmt.Sprintf("%v/%dx%d/t%d", f, s.n, s.k, th), func(b *testing.B) {
					for range b.N {
						GemmLowT(f, th, 1, s.n, s.k, a, s.k, w, 0, c, s.n)
					}
					b.ReportMetric(float64(len(w))*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
				})
			}
		}
	}
}
