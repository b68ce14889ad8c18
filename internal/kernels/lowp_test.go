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

var lowFormats = []Format{BF16, F16, Q8_0}

func TestFormatBasics(t *testing.T) {
	for _, tc := range []struct {
		f    Format
		name string
		k    int
		rb   int
	}{
		{BF16, "bf16", 17, 34}, {F16, "f16", 4096, 8192}, {Q8_0, "q8_0", 64, 68}, {Q8_0, "q8_0", 0, 0},
		{Q4_K, "q4_k", 512, 288}, {Q5_K, "q5_k", 256, 176}, {Q6_K, "q6_k", 256, 210},
		{Q4_0, "q4_0", 64, 36}, {Q4_1, "q4_1", 32, 20}, {Q5_0, "q5_0", 32, 22}, {Q5_1, "q5_1", 96, 72},
	} {
		if got := tc.f.String(); got != tc.name {
			t.Errorf("String() = %q, want %q", got, tc.name)
		}
		if err := tc.f.Valid(tc.k); err != nil {
			t.Errorf("%v.Valid(%d) = %v", tc.f, tc.k, err)
		}
		if got := tc.f.RowBytes(tc.k); got != tc.rb {
			t.Errorf("%v.RowBytes(%d) = %d, want %d", tc.f, tc.k, got, tc.rb)
		}
	}
	if Q8_0.Valid(33) == nil || Q4_K.Valid(32) == nil || Q4_0.Valid(16) == nil || Format(0).Valid(32) == nil || Format(99).Valid(32) == nil || BF16.Valid(-1) == nil {
		t.Error("Valid accepted an impossible row")
	}
	defer func() {
		if recover() == nil {
			t.Error("Q8_0.RowBytes(40) did not panic")
		}
	}()
	Q8_0.RowBytes(40)
}

// TestHalfNarrowKnown checks bf16 and f16 rounding on hand-picked values:
// ties to even, overflow, subnormals, signed zeros, infinities and NaNs.
func TestHalfNarrowKnown(t *testing.T) {
	for _, tc := range []struct {
		x    uint32 // float32 bits
		want uint16
	}{
		{0x3f800000, 0x3f80}, // 1
		{0x3f808000, 0x3f80}, // 1 + 2⁻⁸: tie, to even (down)
		{0x3f818000, 0x3f82}, // tie, to even (up)
		{0x3f808001, 0x3f81}, // just above the tie
		{0xbf80ffff, 0xbf81}, // −(1.0078…) rounds up in magnitude
		{0x7f7fffff, 0x7f80}, // max float32 rounds to +Inf
		{0xff7f7fff, 0xff7f}, // just below the tie at the top stays finite
		{0x00000001, 0x0000}, // smallest subnormal → +0
		{0x00018000, 0x0002}, // subnormal tie, to even (up)
		{0x00008000, 0x0000}, // subnormal tie, to even (down)
		{0x80000000, 0x8000}, // −0
		{0x7f800000, 0x7f80}, // +Inf
		{0xff800000, 0xff80}, // −Inf
		{0x7fc00000, 0x7fc0}, // quiet NaN
		{0x7f800001, 0x7fc0}, // signalling NaN → quiet
		{0xffa00000, 0xffe0}, // −NaN with payload: sign and top payload kept, quiet bit set
	} {
		if got := BF16FromFloat32(math.Float32frombits(tc.x)); got != tc.want {
			t.Errorf("bf16(%#08x) = %#04x, want %#04x", tc.x, got, tc.want)
		}
	}
	for _, tc := range []struct {
		x    float32
		want uint16
	}{
		{1, 0x3c00},
		{-2, 0xc000},
		{0.1, 0x2e66},
		{65504, 0x7bff},
		{65519.996, 0x7bff},
		{65520, 0x7c00}, // tie between 65504 and 2¹⁶, to even: +Inf
		{1e10, 0x7c00},
		{-1e10, 0xfc00},
		{0x1p-14, 0x0400},        // smallest normal
		{0x1p-24, 0x0001},        // smallest subnormal
		{0x1p-25, 0x0000},        // tie between 0 and 2⁻²⁴, to even
		{0x1.000002p-25, 0x0001}, // above the tie
		{0x3p-25, 0x0002},        // tie between 1 and 2 ulps, to even
		{0x5p-25, 0x0002},        // tie between 2 and 3 ulps, to even
		{0x1.ff8p-15, 0x03ff},    // largest subnormal
		{0x1.ffcp-15, 0x0400},    // tie above it rounds up into the normals
		{float32(math.Copysign(0, -1)), 0x8000},
		{1 + 0x1p-11, 0x3c00}, // tie, to even (down)
		{1 + 0x3p-11, 0x3c02}, // tie, to even (up)
		{float32(math.Inf(1)), 0x7c00},
		{float32(math.Inf(-1)), 0xfc00},
		{float32(math.NaN()), 0x7e00},
		{math.Float32frombits(0xff800001), 0xfe00},
	} {
		if got := F16FromFloat32(tc.x); got != tc.want {
			t.Errorf("f16(%g = %#08x) = %#04x, want %#04x", tc.x, math.Float32bits(tc.x), got, tc.want)
		}
	}
}

// f16Ref widens an IEEE half from its definition, in float64.
func f16Ref(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	e, m := int(h>>10)&0x1f, float64(h&0x3ff)
	switch e {
	case 0:
		return sign * m * 0x1p-24
	case 0x1f:
		if m != 0 {
			return math.NaN()
		}
		return sign * math.Inf(1)
	}
	return sign * (1 + m/1024) * math.Ldexp(1, e-15)
}

// TestHalfWidenExhaustive widens all 2¹⁶ bf16 and f16 patterns in plain Go
// (exact, payloads kept) and with Widen (the AVX-512 path when present, which
// sets the quiet bit of f16 signalling NaNs), and checks that narrowing
// gives back every non-NaN pattern.
func TestHalfWidenExhaustive(t *testing.T) {
	src := make([]byte, 2<<16)
	for h := range 1 << 16 {
		binary.LittleEndian.PutUint16(src[2*h:], uint16(h))
	}
	for _, f := range []Format{BF16, F16} {
		goOut, out := make([]float32, 1<<16), make([]float32, 1<<16)
		widenGo(f, goOut, src)
		Widen(f, out, src)
		for h := range 1 << 16 {
			var want uint32
			if f == BF16 {
				want = uint32(h) << 16
			} else {
				r := f16Ref(uint16(h))
				want = math.Float32bits(float32(r))
				if r != r {
					want = uint32(h&0x8000)<<16 | 0x7f800000 | uint32(h&0x3ff)<<13
				}
			}
			if got := math.Float32bits(goOut[h]); got != want {
				t.Fatalf("%v: widenGo(%#04x) = %#08x, want %#08x", f, h, got, want)
			}
			got := math.Float32bits(out[h])
			if f == F16 && useAVX512 && want&0x7fffffff > 0x7f800000 {
				want |= 0x400000 // VCVTPH2PS quiets signalling NaNs
			}
			if got != want {
				t.Fatalf("%v: Widen(%#04x) = %#08x, want %#08x", f, h, got, want)
			}
			if want&0x7fffffff > 0x7f800000 {
				continue
			}
			var back uint16
			if f == BF16 {
				back = BF16FromFloat32(goOut[h])
			} else {
				back = F16FromFloat32(goOut[h])
			}
			if back != uint16(h) {
				t.Fatalf("%v: %#04x → %g → %#04x", f, h, goOut[h], back)
			}
		}
	}
}

// TestHalfNarrowNearest checks on a large sample of float32 patterns (a
// stride through all of them plus the neighbourhood of every f16 and bf16
// rounding midpoint) that Narrow picks the nearest value, ties to even, by
// comparing with the two neighbouring patterns in float64.
func TestHalfNarrowNearest(t *testing.T) {
	var xs []float32
	for b := uint64(0); b < 1<<32; b += 0x10001 {
		xs = append(xs, math.Float32frombits(uint32(b)))
	}
	for h := range 0x7c00 { // midpoints above every finite positive f16
		mid := (f16Ref(uint16(h)) + f16Ref(uint16(h+1))) / 2
		for _, d := range []int32{-1, 0, 1} {
			b := int32(math.Float32bits(float32(mid))) + d
			xs = append(xs, math.Float32frombits(uint32(b)), -math.Float32frombits(uint32(b)))
		}
	}
	for h := range 0x7f80 { // bf16 midpoints are float32 patterns h<<16 | 0x8000
		for _, d := range []int32{-1, 0, 1} {
			b := int32(h<<16|0x8000) + d
			xs = append(xs, math.Float32frombits(uint32(b)), -math.Float32frombits(uint32(b)))
		}
	}
	bf, hf := make([]byte, 2*len(xs)), make([]byte, 2*len(xs))
	Narrow(BF16, bf, xs)
	Narrow(F16, hf, xs)
	bfVal := func(h uint16) float64 { return float64(math.Float32frombits(uint32(h) << 16)) }
	check := func(name string, x float32, h uint16, val func(uint16) float64, inf uint16) {
		xf := float64(x)
		if x != x {
			if v := val(h); v == v {
				t.Fatalf("%s(%#08x) = %#04x is not NaN", name, math.Float32bits(x), h)
			}
			return
		}
		mag := h & 0x7fff
		if mag > inf {
			t.Fatalf("%s(%g) = %#04x is NaN", name, x, h)
		}
		if (h&0x8000 != 0) != math.Signbit(xf) {
			t.Fatalf("%s(%g) = %#04x has the wrong sign", name, x, h)
		}
		// The neighbours of h in the direction of |x|: below and above.
		got := math.Abs(val(h))
		ax := math.Abs(xf)
		var lo, hi float64
		if got <= ax {
			lo, hi = got, math.Inf(1)
			if mag < inf {
				hi = math.Abs(val(mag + 1))
			}
		} else {
			hi, lo = got, 0
			if mag > 0 {
				lo = math.Abs(val(mag - 1))
			}
		}
		if mag == inf && got > ax {
			// Overflow: |x| must be at least the midpoint above the largest finite value.
			top := math.Abs(val(inf - 1))
			step := top - math.Abs(val(inf-2))
			if ax < top+step/2 {
				t.Fatalf("%s(%g) = Inf, but %g is nearer", name, x, top)
			}
			return
		}
		dl, dh := ax-lo, hi-ax
		want := got
		switch {
		case dl < dh:
			want = lo
		case dh < dl:
			want = hi
		default: // a tie: the even pattern
			if got == lo && mag&1 != 0 || got == hi && mag&1 != 0 {
				t.Fatalf("%s(%g) = %#04x: tie not to even", name, x, h)
			}
		}
		if want != got {
			t.Fatalf("%s(%g) = %#04x (%g), nearest is %g", name, x, h, got, want)
		}
	}
	for i, x := range xs {
		check("bf16", x, binary.LittleEndian.Uint16(bf[2*i:]), bfVal, 0x7f80)
		check("f16", x, binary.LittleEndian.Uint16(hf[2*i:]), f16Ref, 0x7c00)
	}
}

// TestQ8Known checks q8_0 quantisation on blocks with an obvious answer.
func TestQ8Known(t *testing.T) {
	x := make([]float32, 64)
	for j := range 32 {
		x[j] = float32(j - 16) // block 0: amax 16, d = 16/127
	}
	x[31] = 127 // now amax = 127, d = 1: q = x exactly
	x[32], x[33], x[34], x[35] = 2.5, -2.5, 0.5, -0.49
	x[36] = 127 // block 1: d = 1; halves round away from zero
	dst := make([]byte, Q8_0.RowBytes(64))
	Narrow(Q8_0, dst, x)
	if d := binary.LittleEndian.Uint16(dst); d != 0x3c00 {
		t.Fatalf("block 0 scale %#04x, want 1.0", d)
	}
	for j := range 32 {
		if q := int8(dst[2+j]); float32(q) != x[j] {
			t.Fatalf("block 0 q[%d] = %d, want %v", j, q, x[j])
		}
	}
	want := []int8{3, -3, 1, 0, 127}
	for j, w := range want {
		if q := int8(dst[34+2+j]); q != w {
			t.Fatalf("block 1 q[%d] = %d, want %d", j, q, w)
		}
	}
	zero := make([]byte, 34)
	Narrow(Q8_0, zero, make([]float32, 32))
	if !slices.Equal(zero, make([]byte, 34)) {
		t.Fatalf("zero block = %v", zero)
	}
}

// TestQ8RoundTrip bounds the q8_0 error. With d = amax/127 (float32),
// id = 1/d and q = round(x·id): |x·id − x/d| ≤ 127·3·2⁻²⁴ < 2⁻¹⁵, so
// |x − d·q| ≤ d·(½ + 2⁻¹⁵). The stored scale is d' = f16(d), so the widened
// value d'·q (exact in float32) is off by at most
//
//	|x − d'·q| ≤ d·(½ + 2⁻¹⁵) + |q|·|d' − d|,
//
// and |d' − d| ≤ 2⁻¹¹·d for d in f16's normal range (≤ 2⁻²⁵ below it), so
// the error is at most ≈ 0.5621·d = 0.004426·amax per element.
func TestQ8RoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 8))
	const blocks = 2000
	x := make([]float32, 32*blocks)
	for b := range blocks {
		scale := math.Ldexp(1, rng.IntN(40)-30) // d from subnormal f16 to 2⁹
		for j := range 32 {
			v := (rng.Float64()*2 - 1) * scale
			if b%7 == 0 && j%5 == 0 {
				v = math.Round(v/scale*127*2) / 2 * scale / 127 // near halfway steps
			}
			x[b*32+j] = float32(v)
		}
	}
	q := make([]byte, Q8_0.RowBytes(len(x)))
	Narrow(Q8_0, q, x)
	back, backGo := make([]float32, len(x)), make([]float32, len(x))
	Widen(Q8_0, back, q)
	widenGo(Q8_0, backGo, q)
	for b := range blocks {
		blk := x[b*32 : b*32+32]
		var amax float64
		for _, v := range blk {
			amax = max(amax, math.Abs(float64(v)))
		}
		d := float64(float32(amax) / 127)
		dh := float64(Float32FromF16(binary.LittleEndian.Uint16(q[b*34:])))
		if dh < 0x1p-14 && math.Abs(dh-d) > 0x1p-25 || dh >= 0x1p-14 && math.Abs(dh-d) > 0x1p-11*d {
			t.Fatalf("block %d: f16 scale %g for %g", b, dh, d)
		}
		for j, v := range blk {
			i := b*32 + j
			if math.Float32bits(back[i]) != math.Float32bits(backGo[i]) {
				t.Fatalf("element %d: Widen %g, widenGo %g", i, back[i], backGo[i])
			}
			qi := float64(int8(q[b*34+2+j]))
			if float64(back[i]) != dh*qi {
				t.Fatalf("element %d: widened %g, want d·q = %g", i, back[i], dh*qi)
			}
			bound := d*(0.5+0x1p-15) + math.Abs(qi)*math.Abs(dh-d)
			if err := math.Abs(float64(v) - float64(back[i])); err > bound {
				t.Fatalf("element %d: |%g − %g| = %g > %g (d %g, d' %g)", i, v, back[i], err, bound, d, dh)
			}
			if dh >= 0x1p-14 && math.Abs(float64(v)-float64(back[i])) > 0.5622*d {
				t.Fatalf("element %d: error above 0.5622·d", i)
			}
		}
	}
}

// TestWidenPaths compares Widen (AVX-512 when present) with plain Go on
// random data and lengths around the vector widths.
func TestWidenPaths(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, f := range lowFormats {
		for _, n := range []int{0, 1, 15, 16, 17, 31, 32, 33, 47, 64, 100, 1000, 4096} {
			if f.Valid(n) != nil {
				continue
			}
			x := randSlice[float32](rng, n)
			src := make([]byte, f.RowBytes(n))
			Narrow(f, src, x)
			got, want := make([]float32, n+1), make([]float32, n)
			got[n] = 42
			Widen(f, got[:n], src)
			widenGo(f, want, src)
			if got[n] != 42 {
				t.Fatalf("%v n=%d: wrote past the end", f, n)
			}
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%v n=%d: [%d] = %g, want %g", f, n, i, got[i], want[i])
				}
			}
		}
	}
}

// lowCase is one GemmLowT problem: A [m, k] (lda ≥ k), W narrowed to f and
// its widened float32 values, C [m, n] (ldc ≥ n, padding = cSentinel; NaN
// when beta is 0).
type lowCase struct {
	f        Format
	m, n, k  int
	lda, ldc int
	a, wf, c []float32
	w        []byte
	beta     float32
}

func newLowCase(rng *rand.Rand, f Format, m, n, k int, beta float32, pad bool) lowCase {
	g := lowCase{f: f, m: m, n: n, k: k, lda: k, ldc: n, beta: beta}
	if pad {
		g.lda += 1 + rng.IntN(5)
		g.ldc += 1 + rng.IntN(5)
	}
	g.a = randSlice[float32](rng, m*g.lda)
	wf := randSlice[float32](rng, n*k)
	for i := range wf {
		wf[i] *= float32(1 + i%7) // uneven magnitudes across q8_0 blocks
	}
	g.w = make([]byte, f.RowBytes(k)*n)
	Narrow(f, g.w, wf)
	g.wf = make([]float32, n*k)
	widenGo(f, g.wf, g.w)
	g.c = randSlice[float32](rng, m*g.ldc)
	for i := range m {
		for j := range g.ldc {
			if j >= n {
				g.c[i*g.ldc+j] = cSentinel
			} else if beta == 0 {
				g.c[i*g.ldc+j] = float32(math.NaN())
			}
		}
	}
	return g
}

func (g lowCase) String() string {
	return fmt.Sprintf("%v m=%d n=%d k=%d lda=%d ldc=%d beta=%v", g.f, g.m, g.n, g.k, g.lda, g.ldc, g.beta)
}

func (g lowCase) run(threads int) []float32 {
	c := slices.Clone(g.c)
	GemmLowT(g.f, threads, g.m, g.n, g.k, g.a, g.lda, g.w, g.beta, c, g.ldc)
	return c
}

// tol returns the bound on |GemmLowT − exact| for an element whose
// Σ|A[i,p]·W[j,p]| + |beta·C[i,j]| is mag (W the widened weights). Every
// path is within the float32 summation bound (k+3)·2⁻²³·mag. The q8_0
// decode path (m ≤ 3) sums by blocks, and each product x·w = d·(x·q)
// goes through at most k/32 + 7 roundings: 2 in its block's lane sum
// (x·q, then the fma adding the lane's second product), k/32 in the fmas
// folding d·(block sum) into the lane accumulator (the first of them
// included), 4 in the 16-lane reduction, 1 in the fma adding beta·C (which
// goes through that one only). So its error is at most
// γ(k/32+7)·mag, γ(n) = n·u/(1−n·u), u = 2⁻²⁴.
//
// q8_0 works on quantised activations (q8act.go), so its exact value is the
// product with those (actRef); on the decode path (m ≤ 3) each term goes through
// k/64 + 6 roundings at most (the scales' product, the fmas folding block
// pairs into a lane, 4 in the reduction, 1 adding beta·C), within
// γ(k/32+7)·mag as before.
func (g lowCase) tol(mag float64) float64 {
	if g.f == Q8_0 && g.m <= 3 {
		n := float64(g.k/q8Block + 7)
		return n * 0x1p-24 / (1 - n*0x1p-24) * mag
	}
	return float64(g.k+3) * 0x1p-23 * mag
}

// actRef returns row i of A as the product sees it: itself, or for q8_0
// its quantised values d·q.
func (g lowCase) actRef(i int) []float64 {
	x := g.a[i*g.lda : i*g.lda+g.k]
	out := make([]float64, g.k)
	if g.f != Q8_0 {
		for p, v := range x {
			out[p] = float64(v)
		}
		return out
	}
	a := quantQ8Act(x)
	for p := range out {
		pair, e := p/64, p%64
		v := float64(a.abs[64*pair+e]) * float64(a.d[16*pair+e/4])
		if a.neg[pair]>>e&1 != 0 {
			v = -v
		}
		out[p] = v
	}
	return out
}

// check compares got with the float64 product of A and the widened W,
// within g.tol.
func (g lowCase) check(t *testing.T, what string, got []float32) {
	t.Helper()
	bad := 0
	for i := range g.m {
		for j := range g.ldc {
			idx := i*g.ldc + j
			if j >= g.n {
				if got[idx] != cSentinel {
					t.Fatalf("%v %s: C padding [%d,%d] overwritten: %v", g, what, i, j, got[idx])
				}
				continue
			}
			var s, mag float64
			x := g.actRef(i)
			for p := range g.k {
				v := x[p] * float64(g.wf[j*g.k+p])
				s += v
				mag += math.Abs(v)
			}
			if g.beta != 0 {
				s += float64(g.beta) * float64(g.c[idx])
				mag += math.Abs(float64(g.beta) * float64(g.c[idx]))
			}
			tol := g.tol(mag) + 1e-30
			if d := math.Abs(float64(got[idx]) - s); !(d <= tol) {
				bad++
				if bad <= 5 {
					t.Errorf("%v %s: C[%d,%d] = %v, want %v (|diff| %.3g > tol %.3g)", g, what, i, j, got[idx], s, d, tol)
				}
			}
		}
	}
	if bad > 5 {
		t.Fatalf("%v %s: %d elements wrong", g, what, bad)
	}
}

func sameBits(a, b []float32) int {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	return -1
}

// TestGemmLowT runs every format over shapes with k tails, m on both sides
// of the decode threshold and betas 0 and 1: each result against the
// float64 reference, threads 1, 2, 3 bit-identical, and the plain-Go path
// (useAVX512 off) against the reference and its own thread counts.
func TestGemmLowT(t *testing.T) {
	saved := useAVX512
	defer setAVX512(saved)
	rng := rand.New(rand.NewPCG(17, 1))
	ks := map[Format][]int{
		BF16: {1, 15, 16, 17, 33, 100, 4096},
		F16:  {1, 15, 16, 17, 33, 100, 4096},
		Q8_0: {32, 64, 96, 160, 4096},
	}
	ms := []int{1, 2, 3, 4, 7, 64}
	ns := []int{1, 3, 4, 5, 8, 37, 130}
	cases := 0
	for _, f := range lowFormats {
		for ki, k := range ks[f] {
			for mi, m := range ms {
				n := ns[(ki+mi)%len(ns)]
				if k == 4096 && m == 64 {
					n = 37
				}
				for bi, beta := range []float32{0, 1} {
					g := newLowCase(rng, f, m, n, k, beta, (ki+mi+bi)%2 == 1)
					paths := []bool{false}
					if saved {
						paths = []bool{true, false}
					}
					for _, vec := range paths {
						setAVX512(vec)
						what := fmt.Sprintf("avx512=%v", vec)
						ref := g.run(1)
						g.check(t, what, ref)
						for _, th := range []int{2, 3} {
							if i := sameBits(g.run(th), ref); i >= 0 {
								t.Fatalf("%v %s: threads=%d differs from threads=1 at %d", g, what, th, i)
							}
						}
						cases++
					}
					setAVX512(saved)
				}
			}
		}
	}
	// Wide enough to be split among threads on both paths: 11 tiles of 64
	// rows at m > 3, whole tiles per thread at 2 threads, tiles one after
	// another on all threads at 3 and 4; chunks of rows at m ≤ 3 ending in
	// a partial group of rows.
	for _, f := range lowFormats {
		for _, m := range []int{1, 3, 5} {
			g := newLowCase(rng, f, m, 701, 4096, 1, true)
			ref := g.run(1)
			g.check(t, "wide", ref)
			for _, th := range []int{2, 3, 4} {
				if i := sameBits(g.run(th), ref); i >= 0 {
					t.Fatalf("%v: threads=%d differs from threads=1 at %d", g, th, i)
				}
			}
		}
	}
	t.Logf("%d cases", cases)
}

// TestGemmLowTMatchesSgemm: on the AVX-512 decode path each bf16 or f16
// element is summed exactly as the float32 matrix–vector kernel sums it, so
// with beta 0 GemmLowT equals SgemmWith on the widened weights bit for bit.
// (q8_0 sums by blocks instead: TestGemmLowTQ8Order.)
func TestGemmLowTMatchesSgemm(t *testing.T) {
	kern := Get("avx512_6x64")
	if !useAVX512 || kern == nil {
		t.Skip("no AVX-512")
	}
	rng := rand.New(rand.NewPCG(23, 2))
	for _, f := range []Format{BF16, F16} {
		for _, k := range []int{32, 64, 96, 1024, 4096, 17, 100, 1000} {
			for m := 1; m <= 3; m++ {
				g := newLowCase(rng, f, m, 41, k, 0, false)
				got := g.run(2)
				want := slices.Clone(g.c)
				kern.Sgemm(1, false, true, m, g.n, k, 1, g.a, g.lda, g.wf, k, 0, want, g.ldc)
				if i := sameBits(got, want); i >= 0 {
					t.Fatalf("%v: element %d = %v, Sgemm on widened weights %v", g, i, got[i], want[i])
				}
			}
		}
	}
}

// q8ActRef computes one q8_0 decode element from the definition of the
// order in q8act.go, each float32 operation rounded through big.Float
// (exact at 1200 bits, then rounded once), independently of fma32 and of
// the kernels' lane layout.
func q8ActRef(x []float32, row []byte, k int, beta, c float32) float32 {
	round := func(v *big.Float) float32 { f, _ := v.Float32(); return f }
	fma := func(a, b, z float32) float32 {
		p := new(big.Float).SetPrec(1200).SetFloat64(float64(a))
		p.Mul(p, new(big.Float).SetFloat64(float64(b)))
		return round(p.Add(p, new(big.Float).SetFloat64(float64(z))))
	}
	nb := k / 32
	// Quantise as ggml's quantize_row_q8_0 (x86): d = amax/127 as f16,
	// q = round-half-even(x·127/amax).
	qs := make([]int, k)
	ds := make([]float32, nb)
	for b := range nb {
		var amax float32
		for _, v := range x[32*b : 32*b+32] {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		ds[b] = Float32FromF16(F16FromFloat32(amax / 127))
		if amax != 0 {
			id := 127 / amax
			for p := 32 * b; p < 32*b+32; p++ {
				qs[p] = int(math.RoundToEven(float64(x[p] * id)))
			}
		}
	}
	var acc [16]float32
	for p := range (nb + 1) / 2 {
		for l := range 16 {
			b := 2*p + l/8
			var s int
			var scale float32
			if b < nb {
				for t := range 4 {
					e := 32*b + 4*(l%8) + t
					s += qs[e] * int(int8(row[34*b+2+4*(l%8)+t]))
				}
				scale = round(new(big.Float).SetPrec(1200).Mul(
					new(big.Float).SetFloat64(float64(Float32FromF16(binary.LittleEndian.Uint16(row[34*b:])))),
					new(big.Float).SetFloat64(float64(ds[b]))))
			}
			acc[l] = fma(scale, float32(s), acc[l])
		}
	}
	v := hsum16(&acc)
	if beta != 0 {
		v = fma(beta, c, v)
	}
	return v
}

// TestFma32 checks fma32 against big.Float on random operands of all
// magnitudes, on sums whose float64 rounding lands on a float32 midpoint
// (where rounding twice would be wrong) and on subnormal results.
func TestFma32(t *testing.T) {
	ref := func(x, y, z float32) float32 { // exact at 1200 bits, rounded once
		p := new(big.Float).SetPrec(1200).SetFloat64(float64(x))
		p.Mul(p, new(big.Float).SetFloat64(float64(y)))
		f, _ := p.Add(p, new(big.Float).SetFloat64(float64(z))).Float32()
		return f
	}
	rng := rand.New(rand.NewPCG(31, 7))
	randF := func(emin, emax int) float32 {
		v := float32(math.Ldexp(1+rng.Float64(), emin+rng.IntN(emax-emin+1)))
		if rng.IntN(2) == 0 {
			v = -v
		}
		return v
	}
	type triple struct{ x, y, z float32 }
	var cases []triple
	for range 200000 {
		cases = append(cases, triple{randF(-70, 60), randF(-70, 60), randF(-140, 120)})
	}
	for range 20000 { // subnormal results
		cases = append(cases, triple{randF(-80, -60), randF(-80, -60), randF(-149, -127)})
	}
	// x·y = 2^(2e)·(1 − i²·2⁻⁴⁶) is just below 2^(2e), and z = ±2^(2e+1)·o
	// with o odd in [2²³, 2²⁴) has float32 neighbours 2^(2e+1) away, so
	// x·y + z lies i²·2^(2e−46) from the float32 midpoint z ± 2^(2e), less
	// than half a float64 ulp: the float64 sum is the midpoint, which rounds
	// to even, away from the right answer z.
	hard := 0
	for i := 1; i < 64; i++ {
		for e := -20; e <= 20; e += 5 {
			x := float32(math.Ldexp(1+float64(i)*0x1p-23, e))
			y := float32(math.Ldexp(1-float64(i)*0x1p-23, e))
			for j := range 8 {
				for _, sz := range []float64{1, -1} {
					z := float32(sz * math.Ldexp(float64(1<<23+2*j+1), 2*e+1))
					cases = append(cases, triple{x, y, z}, triple{-x, y, -z})
					if s := float64(x)*float64(y) + float64(z); float32(s) != ref(x, y, z) {
						hard++
					}
				}
			}
		}
	}
	if hard == 0 {
		t.Fatal("no case where rounding the float64 sum is wrong: the hard cases test nothing")
	}
	for _, c := range cases {
		if got, want := fma32(c.x, c.y, c.z), ref(c.x, c.y, c.z); math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("fma32(%g, %g, %g) = %g, want %g", c.x, c.y, c.z, got, want)
		}
	}
	t.Logf("%d cases, %d where rounding the float64 sum to float32 is wrong", len(cases), hard)
}

// TestGemmLowTQ8Order: the q8_0 decode paths (AVX-512 VNNI and plain Go)
// quantise the activations and sum by blocks in one fixed order, so they
// agree bit for bit with each other, for every thread count, and with
// q8ActRef, on operands spanning many binades (activations from 2⁻³⁰ to 2²⁰
// and zeros, scales down to f16 subnormals).
func TestGemmLowTQ8Order(t *testing.T) {
	saved := useAVX512
	defer setAVX512(saved)
	rng := rand.New(rand.NewPCG(41, 3))
	for _, k := range []int{32, 64, 96, 2048, 4096} {
		for m := 1; m <= 3; m++ {
			for _, n := range []int{1, 5, 37, 130} {
				for bi, beta := range []float32{0, 1, -0.75} {
					g := newLowCase(rng, Q8_0, m, n, k, beta, (m+bi)%2 == 1)
					for i := range g.a {
						switch rng.IntN(8) {
						case 0:
							g.a[i] = 0
						case 1:
							g.a[i] = float32(math.Ldexp(rng.NormFloat64(), rng.IntN(51)-30))
						}
					}
					// Scales over the whole f16 range, subnormals included.
					for b := 0; b < len(g.w); b += q8BlockBytes {
						if rng.IntN(4) == 0 {
							binary.LittleEndian.PutUint16(g.w[b:], uint16(rng.IntN(0x7c00)))
						}
					}
					widenGo(Q8_0, g.wf, g.w)
					var ref []float32
					for _, vec := range []bool{false, true} {
						if vec && !saved {
							continue
						}
						setAVX512(vec)
						got := g.run(1)
						g.check(t, fmt.Sprintf("avx512=%v", vec), got)
						if ref == nil {
							ref = got
							rb := Q8_0.RowBytes(k)
							for i := range m {
								for j := range min(n, 6) {
									want := q8ActRef(g.a[i*g.lda:], g.w[j*rb:], k, beta, g.c[i*g.ldc+j])
									if got := ref[i*g.ldc+j]; math.Float32bits(got) != math.Float32bits(want) {
										t.Fatalf("%v: dotQ8ActGo C[%d,%d] = %v, q8ActRef %v", g, i, j, got, want)
									}
								}
							}
						} else if i := sameBits(got, ref); i >= 0 {
							t.Fatalf("%v: AVX-512 element %d = %v, plain Go %v", g, i, got[i], ref[i])
						}
						if i := sameBits(g.run(3), got); i >= 0 {
							t.Fatalf("%v avx512=%v: threads=3 differs at %d", g, vec, i)
						}
					}
					setAVX512(saved)
				}
			}
		}
	}
}

func TestGemmLowTEdges(t *testing.T) {
	// k = 0: C = beta·C (zeros for beta 0, NaN not read).
	c := []float32{float32(math.NaN()), 2, 3, 4}
	GemmLowT(BF16, 1, 2, 2, 0, nil, 0, nil, 0, c, 2)
	if !slices.Equal(c, []float32{0, 0, 0, 0}) {
		t.Fatalf("k=0 beta=0: %v", c)
	}
	c = []float32{1, 2, 3, 4}
	GemmLowT(Q8_0, 1, 2, 2, 0, nil, 0, nil, 0.5, c, 2)
	if !slices.Equal(c, []float32{0.5, 1, 1.5, 2}) {
		t.Fatalf("k=0 beta=0.5: %v", c)
	}
	GemmLowT(F16, 1, 0, 5, 5, nil, 5, nil, 0, nil, 5) // m = 0: nothing
	for _, bad := range []func(){
		func() {
			GemmLowT(Q8_0, 1, 1, 1, 31, make([]float32, 31), 31, make([]byte, 64), 0, make([]float32, 1), 1)
		},
		func() { GemmLowT(BF16, 1, 1, 2, 4, make([]float32, 4), 4, make([]byte, 15), 0, make([]float32, 2), 2) },
		func() { GemmLowT(BF16, 1, 2, 2, 4, make([]float32, 7), 4, make([]byte, 16), 0, make([]float32, 4), 2) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("no panic on a bad argument")
				}
			}()
			bad()
		}()
	}
}

// BenchmarkGemmLowT compares y = x·Wᵀ with W in bf16, f16 and q8_0 against
// float32 W (SgemmWith, transB) at decode (m = 1) and batch (m = 64) sizes.
// GB/s counts the bytes of W read per product (the activations and output
// are small in comparison), GFLOP/s 2·m·n·k per product. Run with e.g.
//
//	go test -run '^$' -bench GemmLowT -count 5 -benchtime 2s ./internal/kernels/
func BenchmarkGemmLowT(b *testing.B) {
	shapes := []struct{ m, n, k int }{{1, 4096, 4096}, {1, 11008, 4096}, {64, 4096, 4096}}
	for _, s := range shapes {
		rng := rand.New(rand.NewPCG(1, 2))
		a := randSlice[float32](rng, s.m*s.k)
		wf := randSlice[float32](rng, s.n*s.k)
		c := make([]float32, s.m*s.n)
		for _, name := range []string{"f32", "bf16", "f16", "q8_0"} {
			var w []byte
			var f Format
			bytes := 4 * len(wf)
			if name != "f32" {
				f = map[string]Format{"bf16": BF16, "f16": F16, "q8_0": Q8_0}[name]
				w = make([]byte, f.RowBytes(s.k)*s.n)
				Narrow(f, w, wf)
				bytes = len(w)
			}
			for _, th := range []int{1, 2} {
				b.Run(fmt.Sprintf("%dx%dx%d/%s/t%d", s.m, s.n, s.k, name, th), func(b *testing.B) {
					run := func() { SgemmWith(th, false, true, s.m, s.n, s.k, 1, a, s.k, wf, s.k, 0, c, s.n) }
					if w != nil {
						run = func() { GemmLowT(f, th, s.m, s.n, s.k, a, s.k, w, 0, c, s.n) }
					}
					run()
					b.ResetTimer()
					start := time.Now()
					for range b.N {
						run()
					}
					sec := time.Since(start).Seconds()
					b.ReportMetric(float64(bytes)*float64(b.N)/sec/1e9, "GB/s")
					b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/sec/1e9, "GFLOP/s")
				})
			}
		}
	}
}

// BenchmarkWiden measures Widen (AVX-512 when present) and the plain-Go
// conversion on 1 Mi elements.
func BenchmarkWiden(b *testing.B) {
	const n = 1 << 20
	rng := rand.New(rand.NewPCG(1, 2))
	x := randSlice[float32](rng, n)
	dst := make([]float32, n)
	for _, f := range lowFormats {
		src := make([]byte, f.RowBytes(n))
		Narrow(f, src, x)
		for _, path := range []string{"Widen", "go"} {
			b.Run(f.String()+"/"+path, func(b *testing.B) {
				b.SetBytes(int64(len(src)))
				for range b.N {
					if path == "go" {
						widenGo(f, dst, src)
					} else {
						Widen(f, dst, src)
					}
				}
			})
		}
	}
}
