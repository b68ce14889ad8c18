package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestKGemm runs the k-quant GEMM (kgemm.go; GemmLowT's m > 3 path with
// AVX-512 VNNI): the VNNI kernels bit-identical to gemmKGo and GemmLowT
// to them, both paths independent of the thread count (1, 2, 3: splits
// over tiles, panels and activation rows), and within γ(k/256+3) of the
// exact product of the Q8_K activations with the exact weights, summed by
// parts (as TestKQuantProducts bounds the m ≤ 3 path). m and n are not
// multiples of the kernels' 8×16 tiles; n = 421 with k = 768 spans
// several panels, and k = 2560 two chunks of k.
func TestKGemm(t *testing.T) {
	saved := useVNNI
	defer func() { useVNNI = saved }()
	rng := rand.New(rand.NewPCG(21, 4))
	type shape struct{ m, n, k int }
	shapes := []shape{{4, 16, 256}, {5, 1, 256}, {7, 17, 512}, {13, 37, 768}, {4, 50, 256}, {9, 421, 768}, {33, 20, 256}, {9, 40, 2560}}
	for _, f := range kFormats {
		for _, s := range shapes {
			for _, beta := range []float32{0, 1, -0.75} {
				m, n, k := s.m, s.n, s.k
				lda, ldc := k+3, n+2
				name := fmt.Sprintf("%v m=%d n=%d k=%d beta=%v", f, m, n, k, beta)
				a := randSlice[float32](rng, m*lda)
				for i := range a {
					switch rng.IntN(8) {
					case 0:
						a[i] = 0
					case 1:
						a[i] *= 100
					}
				}
				if m > 5 { // a super-block of zeros (d_a = 0)
					clear(a[5*lda : 5*lda+qkK])
				}
				w := randKRows(rng, f, n, k)
				c0 := randSlice[float32](rng, m*ldc)
				run := func(th int) []float32 {
					c := slices.Clone(c0)
					gemmK(f, th, m, n, k, a, lda, w, f.RowBytes(k), beta, c, ldc)
					return c
				}
				useVNNI = false
				ref := run(1)
				if i := sameBits(run(3), ref); i >= 0 {
					t.Fatalf("%s: plain Go, threads=3 differs at %d", name, i)
				}
				if saved {
					useVNNI = true
					for _, th := range []int{1, 2, 3} {
						if got := run(th); sameBits(got, ref) >= 0 {
							i := sameBits(got, ref)
							t.Fatalf("%s: VNNI threads=%d element %d = %v, plain Go %v", name, th, i, got[i], ref[i])
						}
					}
					c := slices.Clone(c0) // GemmLowT takes this path
					GemmLowT(f, 2, m, n, k, a, lda, w, beta, c, ldc)
					if i := sameBits(c, ref); i >= 0 {
						t.Fatalf("%s: GemmLowT element %d = %v, gemmK %v", name, i, c[i], ref[i])
					}
				}
				useVNNI = saved
				xr := make([]float64, m*k) // the Q8_K activations d_a·q, exactly
				var q [qkK]int8
				for i := range m {
					for b := 0; b < k; b += qkK {
						d := QuantizeQ8K(q[:], a[i*lda+b:])
						for p, v := range q {
							xr[i*k+b+p] = float64(d) * float64(v)
						}
					}
				}
				g := float64(k/qkK + 3)
				gam := g * 0x1p-24 / (1 - g*0x1p-24)
				for j := range n {
					v, dp, mp := kExact(f, w[j*f.RowBytes(k):], k)
					for i := range m {
						var sum, mag float64
						for p := range k {
							x := xr[i*k+p]
							sum += x * v[p]
							mag += math.Abs(x*dp[p]) + math.Abs(x*mp[p])
						}
						if beta != 0 {
							bc := float64(beta) * float64(c0[i*ldc+j])
							sum += bc
							mag += math.Abs(bc)
						}
						got := float64(ref[i*ldc+j])
						if d := math.Abs(got - sum); !(d <= gam*mag+1e-30) {
							t.Fatalf("%s: C[%d,%d] = %v, want %v (|diff| %.3g > %.3g)", name, i, j, got, sum, d, gam*mag)
						}
					}
				}
				for i := range m { // the padding of C is untouched
					for j := n; j < ldc && i*ldc+j < len(c0); j++ {
						if math.Float32bits(ref[i*ldc+j]) != math.Float32bits(c0[i*ldc+j]) {
							t.Fatalf("%s: C[%d,%d] (padding) written", name, i, j)
						}
					}
				}
			}
		}
	}
}

// BenchmarkKQuantPrefill times GemmLowT with m = 512 rows of activations on
// k-quant weights (Q4_K and Q6_K on the shapes of a 1.2B Llama's matrices,
// Q6_K on its 128256-row output layer, Q5_K on one shape; path "int8":
// kgemm.go with AVX-512 VNNI; "old": the activations rounded
// to Q8_K and tiles of W widened for the float32 GEMM, the m > 3 path
// before it), reporting GOP/s (2·m·n·k per product).
func BenchmarkKQuantPrefill(b *testing.B) {
	const m = 512
	type shape struct {
		f    Format
		n, k int
	}
	var shapes []shape
	for _, f := range []Format{Q4_K, Q6_K} {
		for _, s := range [][2]int{{2048, 2048}, {8192, 2048}, {2048, 8192}} {
			shapes = append(shapes, shape{f, s[0], s[1]})
		}
	}
	shapes = append(shapes, shape{Q6_K, 128256, 2048}, shape{Q5_K, 2048, 2048})
	for _, s := range shapes {
		b.Run(fmt.Sprintf("%v/%dx%d", s.f, s.n, s.k), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			a := randSlice[float32](rng, m*s.k)
			w := randKRows(rng, s.f, s.n, s.k)
			c := make([]float32, m*s.n)
			for _, path := range []string{"int8", "old"} {
				for _, th := range []int{1, 2} {
					b.Run(fmt.Sprintf("%s/t%d", path, th), func(b *testing.B) {
						for range b.N {
							if path == "int8" {
								GemmLowT(s.f, th, m, s.n, s.k, a, s.k, w, 0, c, s.n)
								continue
							}
							q := slices.Clone(a)
							RoundQ8K(q)
							gemmLowTiles(s.f, th, m, s.n, s.k, q, s.k, w, s.f.RowBytes(s.k), 0, c, s.n)
						}
						b.ReportMetric(2*float64(m)*float64(s.n)*float64(s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GOP/s")
					})
				}
			}
		})
	}
}

// BenchmarkKGemmParts times the parts of the VNNI path on 64 rows of
// activations and 256 weight rows, k = 2048: repacking the tiles
// (values/s), quantising the activations (values/s) and the kernels alone
// on the repacked data (GOP/s).
func BenchmarkKGemmParts(b *testing.B) {
	if !useVNNI {
		b.Skip("no AVX-512 VNNI")
	}
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
			var out [2 * kActRows * kTile]float32
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

// TestQuantQ8KAVX512 checks the VNNI path's activation quantiser against
// QuantizeQ8K bit for bit (q, d and the sums of 8) on super-blocks with
// ties of opposite signs, zeros, subnormals, NaNs and infinities.
func TestQuantQ8KAVX512(t *testing.T) {
	if !useVNNI {
		t.Skip("no AVX-512 VNNI")
	}
	rng := rand.New(rand.NewPCG(8, 1))
	const nb = 40
	x := make([]float32, nb*qkK)
	for b := range nb {
		blk := x[b*qkK : (b+1)*qkK]
		for i := range blk {
			blk[i] = float32(rng.NormFloat64())
		}
		switch b % 8 {
		case 1: // the largest magnitude twice, negative first
			blk[rng.IntN(100)] = -9
			blk[100+rng.IntN(100)] = 9
		case 2:
			clear(blk)
		case 3:
			for i := range blk {
				blk[i] *= 1e-40 // subnormal
			}
		case 4:
			blk[rng.IntN(qkK)] = float32(math.NaN())
		case 5:
			blk[rng.IntN(qkK)] = float32(math.Inf(-1))
		case 6:
			for i := range blk {
				blk[i] = float32(math.NaN())
			}
		}
	}
	const stride = 300
	q := make([]byte, nb*stride)
	sad := make([]uint64, 32*nb)
	quantQ8KAVX512(&q[0], &q[256], stride, &x[0], nb, &sad[0])
	var want [qkK]int8
	for b := range nb {
		d := QuantizeQ8K(want[:], x[b*qkK:])
		got := math.Float32frombits(binary.LittleEndian.Uint32(q[b*stride+256:]))
		if math.Float32bits(got) != math.Float32bits(d) {
			t.Fatalf("block %d: d = %v, want %v", b, got, d)
		}
		for i, v := range want {
			if int8(q[b*stride+i]) != v {
				t.Fatalf("block %d: q[%d] = %d, want %d (x = %v)", b, i, int8(q[b*stride+i]), v, x[b*qkK+i])
			}
		}
		for j := range 32 {
			var s int64
			for _, v := range want[8*j : 8*j+8] {
				s += int64(v)
			}
			if int64(sad[32*b+j])-1024 != s {
				t.Fatalf("block %d: sum %d = %d, want %d", b, j, int64(sad[32*b+j])-1024, s)
			}
		}
	}
}
