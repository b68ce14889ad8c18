package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// q8TestRow returns k activations over many binades: normal values scaled
// per block by 2^−30…2^20, with zeros, whole zero blocks and blocks so
// small that 127/amax overflows.
func q8TestRow(rng *rand.Rand, k int) []float32 {
	x := make([]float32, k)
	for b := 0; b < k; b += q8Block {
		kind := rng.IntN(12)
		scale := math.Ldexp(1, rng.IntN(51)-30)
		for e := b; e < b+q8Block; e++ {
			switch {
			case kind == 0:
				x[e] = 0
			case kind == 1:
				x[e] = float32(rng.NormFloat64() * 1e-38) // 127/amax = +Inf
			case rng.IntN(8) == 0:
				x[e] = 0
			default:
				x[e] = float32(rng.NormFloat64() * scale)
			}
		}
	}
	return x
}

// TestQ8QuantRow: the AVX-512 and plain-Go activation quantisers write the
// same bytes, and d·q are RoundQ8Act's values bit for bit (so the GEMM sees
// the activations the decode path and the older prefill path see).
func TestQ8QuantRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 1))
	for _, k := range []int{32, 64, 96, 2048} {
		for range 20 {
			x := q8TestRow(rng, k)
			nb := k / q8Block
			got := make([]byte, nb*q8ActBytes)
			q8QuantRowGo(got, x)
			want := slices.Clone(x)
			RoundQ8Act(want)
			for p := range k {
				b, e := p/q8Block, p%q8Block
				blk := got[b*q8ActBytes:]
				d := math.Float32frombits(binary.LittleEndian.Uint32(blk[36:]))
				v := d * float32(int8(blk[e]))
				if int8(blk[e]) == 0 {
					v = 0
				}
				if math.Float32bits(v) != math.Float32bits(want[p]) {
					t.Fatalf("k=%d element %d: d·q = %v (d %v q %d), RoundQ8Act %v", k, p, v, d, int8(blk[e]), want[p])
				}
			}
			for b := range nb {
				var s int32
				for e := range q8Block {
					s += int32(int8(got[b*q8ActBytes+e]))
				}
				if c := int32(binary.LittleEndian.Uint32(got[b*q8ActBytes+32:])); c != -128*s {
					t.Fatalf("k=%d block %d: stored %d, want −128·Σq = %d", k, b, c, -128*s)
				}
			}
			if useAVX512 && useVNNI {
				asm := make([]byte, len(got))
				q8QuantRow(true, asm, x)
				if i := slices.Compare(asm, got); i != 0 {
					for j := range asm {
						if asm[j] != got[j] {
							t.Fatalf("k=%d: AVX-512 byte %d (block %d offset %d) = %#x, plain Go %#x", k, j, j/q8ActBytes, j%q8ActBytes, asm[j], got[j])
						}
					}
				}
			}
		}
	}
}

// TestQ8PackPanel: the AVX-512 packing equals the plain-Go one for every
// number of rows in a panel, int8 −128 and f16 scales of all kinds
// included.
func TestQ8PackPanel(t *testing.T) {
	if !(useAVX512 && useVNNI) {
		t.Skip("no AVX-512 VNNI")
	}
	rng := rand.New(rand.NewPCG(52, 1))
	for _, nb := range []int{1, 3, 64} {
		rb := nb * q8BlockBytes
		for rows := 1; rows <= q8TileCols; rows++ {
			w := make([]byte, rows*rb)
			for i := range w {
				w[i] = byte(rng.Uint32())
			}
			got := make([]byte, nb*q8PanelBytes)
			want := make([]byte, nb*q8PanelBytes)
			for i := range got {
				got[i] = 0xee // every byte must be written
			}
			q8PackPanel(true, got, w, rb, rows, nb)
			q8PackPanel(false, want, w, rb, rows, nb)
			if !slices.Equal(got, want) {
				for j := range got {
					if got[j] != want[j] {
						t.Fatalf("nb=%d rows=%d: byte %d = %#x, want %#x", nb, rows, j, got[j], want[j])
					}
				}
			}
		}
	}
}

// q8GemmRef computes one element of the q8_0 GEMM from the definition of
// the order at the top of gemm_q8.go, every float32 operation rounded once
// through big.Float, from quantQ8Act's quantisation and the raw q8_0 row,
// independently of the packed layouts.
func q8GemmRef(x []float32, row []byte, k int, beta, c float32) float32 {
	round := func(v *big.Float) float32 { f, _ := v.Float32(); return f }
	bf := func(v float32) *big.Float { return new(big.Float).SetPrec(1200).SetFloat64(float64(v)) }
	act := quantQ8Act(x[:k])
	var acc float32
	for b := range k / q8Block {
		var s int64
		for e := range q8Block {
			p := b*q8Block + e
			pair, pe := p/64, p%64
			q := int64(act.abs[64*pair+pe])
			if act.neg[pair]>>pe&1 != 0 {
				q = -q
			}
			s += q * int64(int8(row[b*q8BlockBytes+2+e]))
		}
		da := act.d[16*(b/2)+8*(b%2)]
		dw := Float32FromF16(binary.LittleEndian.Uint16(row[b*q8BlockBytes:]))
		scale := round(bf(da).Mul(bf(da), bf(dw)))
		acc = round(bf(scale).Add(bf(scale).Mul(bf(scale), bf(float32(s))), bf(acc)))
	}
	if beta != 0 {
		acc = round(bf(beta).Add(bf(beta).Mul(bf(beta), bf(c)), bf(acc)))
	}
	return acc
}

// q8GemmCase is a product for gemmQ8: A with activations over many
// binades, W q8_0 rows with random int8 (−128 included) and scales
// anywhere in f16's finite range, subnormals included.
func q8GemmCase(rng *rand.Rand, m, n, k int, beta float32, pad bool) lowCase {
	g := newLowCase(rng, Q8_0, m, n, k, beta, pad)
	for i := range m {
		copy(g.a[i*g.lda:i*g.lda+k], q8TestRow(rng, k))
	}
	for b := 0; b < len(g.w); b += q8BlockBytes {
		switch rng.IntN(4) {
		case 0:
			binary.LittleEndian.PutUint16(g.w[b:], uint16(rng.IntN(0x7c00)))
		case 1:
			for e := 2; e < q8BlockBytes; e++ {
				g.w[b+e] = byte(rng.Uint32())
			}
		}
	}
	widenGo(Q8_0, g.wf, g.w)
	return g
}

// runQ8 runs gemmQ8 on g.
func (g lowCase) runQ8(vnni bool, threads int) []float32 {
	c := slices.Clone(g.c)
	gemmQ8(vnni, threads, g.m, g.n, g.k, g.a, g.lda, g.w, Q8_0.RowBytes(g.k), g.beta, c, g.ldc)
	return c
}

// TestGemmQ8 checks the q8_0 GEMM on shapes whose m and n are not
// multiples of the 6×32 tile and whose k is 32·odd: the VNNI and plain-Go
// paths bit-identical, each the same for 1, 2 and 3 threads, equal to
// q8GemmRef (every float32 rounding of the stated order, via big.Float)
// on a sample of elements, and within γ(k/32+2)·(Σ|A'·W| + |beta·C|) of
// the float64 product with the quantised activations.
func TestGemmQ8(t *testing.T) {
	rng := rand.New(rand.NewPCG(53, 1))
	vnniOK := useAVX512 && useVNNI
	type shape struct{ m, n, k int }
	shapes := []shape{
		{4, 1, 32}, {5, 33, 96}, {7, 17, 160}, {6, 32, 64}, {13, 70, 32},
		{12, 64, 2080}, {19, 45, 1056}, {64, 100, 352}, {37, 130, 224},
	}
	cases := 0
	for si, s := range shapes {
		for bi, beta := range []float32{0, 1, -0.75} {
			g := q8GemmCase(rng, s.m, s.n, s.k, beta, (si+bi)%2 == 1)
			ref := g.runQ8(false, 1)
			nb := float64(s.k/q8Block + 2)
			gam := nb * 0x1p-24 / (1 - nb*0x1p-24)
			bad := 0
			rb := Q8_0.RowBytes(s.k)
			for i := range s.m {
				x := g.actRef(i)
				for j := range g.ldc {
					idx := i*g.ldc + j
					if j >= s.n {
						if ref[idx] != cSentinel {
							t.Fatalf("%v: C padding [%d,%d] overwritten", g, i, j)
						}
						continue
					}
					var sum, mag float64
					for p := range s.k {
						v := x[p] * float64(g.wf[j*s.k+p])
						sum += v
						mag += math.Abs(v)
					}
					if beta != 0 {
						sum += float64(beta) * float64(g.c[idx])
						mag += math.Abs(float64(beta) * float64(g.c[idx]))
					}
					if d := math.Abs(float64(ref[idx]) - sum); !(d <= gam*mag+1e-300) {
						bad++
						if bad < 5 {
							t.Errorf("%v: C[%d,%d] = %v, float64 %v, |diff| %.3g > %.3g", g, i, j, ref[idx], sum, d, gam*mag)
						}
					}
					if (i*7+j*3)%11 == 0 {
						want := q8GemmRef(g.a[i*g.lda:], g.w[j*rb:], s.k, beta, g.c[idx])
						if math.Float32bits(ref[idx]) != math.Float32bits(want) {
							t.Fatalf("%v: C[%d,%d] = %v, q8GemmRef %v", g, i, j, ref[idx], want)
						}
					}
				}
			}
			if bad > 0 {
				t.Fatalf("%v: %d elements outside the bound", g, bad)
			}
			for _, vnni := range []bool{false, true} {
				if vnni && !vnniOK {
					continue
				}
				for _, th := range []int{1, 2, 3} {
					if i := sameBits(g.runQ8(vnni, th), ref); i >= 0 {
						t.Fatalf("%v vnni=%v threads=%d: element %d differs from plain Go, 1 thread", g, vnni, th, i)
					}
				}
			}
			cases++
		}
	}
	// Large enough to be split by panels (n = 8·32+5 at 2 threads) and by
	// rows within panels (n = 40 at 3 threads).
	for _, s := range []shape{{50, 261, 96}, {70, 40, 64}} {
		g := q8GemmCase(rng, s.m, s.n, s.k, 1, true)
		ref := g.runQ8(false, 1)
		for _, vnni := range []bool{false, true} {
			if vnni && !vnniOK {
				continue
			}
			for _, th := range []int{1, 2, 3, 4} {
				if i := sameBits(g.runQ8(vnni, th), ref); i >= 0 {
					t.Fatalf("%v vnni=%v threads=%d: element %d differs", g, vnni, th, i)
				}
			}
		}
	}
	t.Logf("%d cases (vnni: %v)", cases, vnniOK)
}

// TestGemmLowTQ8Prefill: GemmLowT's q8_0 products with m > 3 are gemmQ8's
// where the CPU has AVX-512 VNNI.
func TestGemmLowTQ8Prefill(t *testing.T) {
	if !useQ8Gemm() {
		t.Skip("no AVX-512 VNNI: GemmLowT keeps the float32 path")
	}
	rng := rand.New(rand.NewPCG(54, 1))
	for _, m := range []int{4, 9, 40} {
		g := q8GemmCase(rng, m, 67, 320, 0.5, true)
		want := g.runQ8(false, 1)
		for _, th := range []int{1, 2} {
			if i := sameBits(g.run(th), want); i >= 0 {
				t.Fatalf("%v threads=%d: GemmLowT element %d differs from gemmQ8", g, th, i)
			}
		}
	}
}

// BenchmarkGemmQ8Prefill measures the q8_0 prefill product C = A·Wᵀ
// (m = 512 tokens, n rows of W, k) through GemmLowT ("vnni", gemmQ8 with
// the VNNI kernels) and through the older path ("f32tiles": RoundQ8Act on
// A, tiles of W widened and multiplied with the float32 GEMM). GOP/s counts
// 2·m·n·k operations per product. Run with e.g.
//
//	go test -run '^$' -bench GemmQ8Prefill -count 5 ./internal/kernels/
func BenchmarkGemmQ8Prefill(b *testing.B) {
	shapes := []struct{ m, n, k int }{{512, 2048, 2048}, {512, 8192, 2048}, {512, 2048, 8192}, {512, 512, 2048}}
	for _, s := range shapes {
		rng := rand.New(rand.NewPCG(1, 2))
		a := randSlice[float32](rng, s.m*s.k)
		wf := randSlice[float32](rng, s.n*s.k)
		w := make([]byte, Q8_0.RowBytes(s.k)*s.n)
		Narrow(Q8_0, w, wf)
		c := make([]float32, s.m*s.n)
		rb := Q8_0.RowBytes(s.k)
		for _, path := range []string{"vnni", "f32tiles"} {
			if path == "vnni" && !useQ8Gemm() {
				continue
			}
			for _, th := range []int{1, 2} {
				b.Run(fmt.Sprintf("%dx%dx%d/%s/t%d", s.m, s.n, s.k, path, th), func(b *testing.B) {
					run := func() { gemmQ8(true, th, s.m, s.n, s.k, a, s.k, w, rb, 0, c, s.n) }
					if path == "f32tiles" {
						run = func() { gemmQ8Old(th, s.m, s.n, s.k, a, s.k, w, rb, 0, c, s.n) }
					}
					run()
					b.ResetTimer()
					start := time.Now()
					for range b.N {
						run()
					}
					sec := time.Since(start).Seconds()
					b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/sec/1e9, "GOP/s")
				})
			}
		}
	}
}

// gemmQ8Old is GemmLowT's q8_0 path for m > 3 before gemmQ8: the rows of A
// rounded with RoundQ8Act, then gemmLowTiles.
func gemmQ8Old(threads, m, n, k int, a []float32, lda int, w []byte, rb int, beta float32, c []float32, ldc int) {
	q := make([]float32, m*k)
	for i := range m {
		copy(q[i*k:(i+1)*k], a[i*lda:i*lda+k])
		RoundQ8Act(q[i*k : (i+1)*k])
	}
	gemmLowTiles(Q8_0, threads, m, n, k, q, k, w, rb, beta, c, ldc)
}

// TestGemmQ8Extremes: blocks whose integer sums are the largest the
// formats allow (activations ±127 against weights −128 and 127, 32·127·128
// in magnitude), and activations so small that 127/amax is +Inf, against
// q8GemmRef, VNNI and plain Go alike.
func TestGemmQ8Extremes(t *testing.T) {
	const m, n, k = 7, 35, 96
	rb := Q8_0.RowBytes(k)
	for _, wq := range []int8{-128, 127, -1} {
		for _, av := range []float32{3.5, -3.5, 1e-30} {
			g := newLowCase(rand.New(rand.NewPCG(55, 1)), Q8_0, m, n, k, 0.5, true)
			for i := range m {
				for p := range k {
					g.a[i*g.lda+p] = av
				}
			}
			for j := range n {
				for b := range k / q8Block {
					blk := g.w[j*rb+b*q8BlockBytes:]
					binary.LittleEndian.PutUint16(blk, 0x3c00+uint16(j)) // 1 + j/1024
					for e := range q8Block {
						blk[2+e] = byte(wq)
					}
				}
			}
			ref := g.runQ8(false, 1)
			for i := range m {
				for j := range n {
					want := q8GemmRef(g.a[i*g.lda:], g.w[j*rb:], k, g.beta, g.c[i*g.ldc+j])
					if got := ref[i*g.ldc+j]; math.Float32bits(got) != math.Float32bits(want) {
						t.Fatalf("w=%d a=%v: C[%d,%d] = %v, q8GemmRef %v", wq, av, i, j, got, want)
					}
				}
			}
			if useAVX512 && useVNNI {
				if i := sameBits(g.runQ8(true, 2), ref); i >= 0 {
					t.Fatalf("w=%d a=%v: VNNI element %d = %v, plain Go %v", wq, av, i, g.runQ8(true, 2)[i], ref[i])
				}
			}
		}
	}
}
