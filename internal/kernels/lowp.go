package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
	"sync"
)

// Low-precision weights: matrices whose rows are stored as bfloat16, IEEE
// half or ggml's q8_0, q4_K, q5_K, q6_K, q4_0, q4_1, q5_0 and q5_1,
// multiplied with float32 activations (GemmLowT). The k-quants work as q8_0
// does below, on activations quantised to Q8_K (kquant.go: formats,
// kernels, order and bounds; with AVX-512 VNNI their m > 3 path is an
// integer GEMM, kgemm.go), and so do the other 32-value formats, on
// activations quantised to 8 bits per block (legacy.go).
//
// The bf16 and f16 paths compute each element of C as the float32 dot
// product of a row of A with the widened row of W (Widen's values, exactly),
// so they differ only in the order of the float32 sums:
//
//   - m ≤ 3 (decoding) with AVX-512: lowp_amd64.s; each element is summed
//     exactly as the float32 matrix–vector kernel (dotRowsAVX512) would sum
//     it on the widened weights (with beta 0, GemmLowT equals SgemmWith on
//     Widen(W) bit for bit). W is read once for all m rows.
//   - m ≤ 3 in plain Go: four interleaved partial sums per dot product.
//   - m > 3 (q8_0 too, on CPUs without AVX-512 VNNI): tiles of W rows are
//     widened into float32 scratch and multiplied with SgemmWith (A·tileᵀ), so
//     results are those of the float32 GEMM in use on the widened tile
//     (q8_0's d·q is exact in float32).
//
// All of them are within the float32 summation bound
// (k+3)·2⁻²³·(Σ_p |A[i,p]·W[j,p]| + |beta·C[i,j]|) of the exact result on
// the widened weights.
//
// q8_0 works as llama.cpp does: the rows of A are quantised to q8_0 too
// (A', q8act.go), and the products are with A'. With m ≤ 3 each block's
// product is an integer sum scaled by the two scales (AVX-512 VNNI where
// the CPU has it, plain Go otherwise, bit for bit alike), within
// γ(k/32+7)·(Σ_p |A'[i,p]·W[j,p]| + |beta·C[i,j]|), u = 2⁻²⁴ and
// γ(n) = n·u/(1−n·u), of the exact product with A'. With m > 3 on CPUs
// with AVX-512 VNNI, gemm_q8.go's int8 GEMM (llama.cpp's tinyBLAS_Q0_AVX
// algorithm, in 6×32 register tiles) sums each element's blocks in one
// scalar chain, within γ(k/32+2)·(Σ_p |A'[i,p]·W[j,p]| + |beta·C[i,j]|)
// of the same; without VNNI the tiles above multiply A' (its values d·q
// are exact in float32).
//
// The tests check these bounds against float64, and each path is
// bit-identical for any thread count.

// Format is a storage format of a weight matrix's rows.
type Format uint8

const (
	BF16 Format = iota + 1 // bfloat16, little-endian uint16 per element
	F16                    // IEEE half, little-endian uint16
	Q8_0                   // ggml's q8_0: blocks of 32 elements, each block = f16 scale d (2 bytes LE) + 32 int8 q; value = d·q; 34 bytes per block
	Q4_K                   // ggml's q4_K: super-blocks of 256 elements, 144 bytes (kquant.go)
	Q5_K                   // ggml's q5_K: super-blocks of 256 elements, 176 bytes (kquant.go)
	Q6_K                   // ggml's q6_K: super-blocks of 256 elements, 210 bytes (kquant.go)
	Q4_0                   // ggml's q4_0: blocks of 32 elements, 18 bytes (legacy.go)
	Q4_1                   // ggml's q4_1: blocks of 32 elements, 20 bytes (legacy.go)
	Q5_0                   // ggml's q5_0: blocks of 32 elements, 22 bytes (legacy.go)
	Q5_1                   // ggml's q5_1: blocks of 32 elements, 24 bytes (legacy.go)
)

const (
	q8Block      = 32 // elements per q8_0 block
	q8BlockBytes = 34 // bytes per q8_0 block: f16 scale and 32 int8
)

func (f Format) String() string {
	switch f {
	case BF16:
		return "bf16"
	case F16:
		return "f16"
	case Q8_0:
		return "q8_0"
	case Q4_K:
		return "q4_k"
	case Q5_K:
		return "q5_k"
	case Q6_K:
		return "q6_k"
	case Q4_0:
		return "q4_0"
	case Q4_1:
		return "q4_1"
	case Q5_0:
		return "q5_0"
	case Q5_1:
		return "q5_1"
	}
	return fmt.Sprintf("Format(%d)", uint8(f))
}

// Valid returns nil if rows of k elements can be stored in format f (q8_0
// needs k to be a multiple of 32).
func (f Format) Valid(k int) error {
	if k < 0 {
		return fmt.Errorf("kernels: %v row of %d elements", f, k)
	}
	switch f {
	case BF16, F16:
		return nil
	case Q8_0, Q4_0, Q4_1, Q5_0, Q5_1:
		if k%q8Block != 0 {
			return fmt.Errorf("kernels: %v rows need a multiple of %d elements, have %d", f, q8Block, k)
		}
		return nil
	case Q4_K, Q5_K, Q6_K:
		if k%qkK != 0 {
			return fmt.Errorf("kernels: %v rows need a multiple of %d elements, have %d", f, qkK, k)
		}
		return nil
	}
	return fmt.Errorf("kernels: unknown weight format %d", uint8(f))
}

// RowBytes returns the bytes of one row of k elements. It panics when
// f.Valid(k) is not nil.
func (f Format) RowBytes(k int) int {
	if err := f.Valid(k); err != nil {
		panic(err)
	}
	if f == Q8_0 {
		return k / q8Block * q8BlockBytes
	}
	if bb := kBlockBytes(f); bb != 0 {
		return k / qkK * bb
	}
	if bb := legacyBlockBytes(f); bb != 0 {
		return k / q8Block * bb
	}
	return 2 * k
}

// Narrow converts float32 values (rows one after another) to f in dst,
// which must hold f.RowBytes(len(src)) bytes (for q8_0 len(src) must be a
// multiple of 32; Narrow panics otherwise, and for the k-quants, whose
// quantisers are package quant's). bf16 and f16 round to
// nearest, ties to even, keep infinities and signed zeros and turn NaNs into
// quiet NaNs of the same sign (bit-identical to tensor.BF16FromFloat32 and
// tensor.F16FromFloat32); f16 overflows to infinity and produces
// subnormals. q8_0 is ggml's quantize_row_q8_0_ref: per block of 32,
// d = max|x|/127, q = round(x/d) (half away from zero, with x/d computed as
// x·(1/d)), d stored as f16. Blocks holding NaN or ±Inf, undefined in ggml,
// get deterministic but meaningless values here (q clamped to ±127, NaN → 0).
func Narrow(f Format, dst []byte, src []float32) {
	n := len(src)
	dst = dst[:f.RowBytes(n)]
	switch f {
	case BF16:
		for i, v := range src {
			binary.LittleEndian.PutUint16(dst[2*i:], BF16FromFloat32(v))
		}
	case F16:
		if useAVX512 && n > 0 {
			narrowF16AVX512(&dst[0], &src[0], n)
			return
		}
		for i, v := range src {
			binary.LittleEndian.PutUint16(dst[2*i:], F16FromFloat32(v))
		}
	case Q8_0:
		for b := range n / q8Block {
			narrowQ8Block(dst[b*q8BlockBytes:(b+1)*q8BlockBytes], src[b*q8Block:(b+1)*q8Block])
		}
	default:
		panic(fmt.Sprintf("kernels: no quantiser for %v here (package quant has ggml's)", f))
	}
}

// narrowQ8Block quantizes 32 values as quantize_row_q8_0_ref does.
func narrowQ8Block(dst []byte, x []float32) {
	x = x[:q8Block]
	dst = dst[:q8BlockBytes]
	var amax float32
	for _, v := range x {
		a := float32(math.Abs(float64(v)))
		if !(amax > a) { // ggml's MAX(amax, a) = amax > a ? amax : a
			amax = a
		}
	}
	d := amax / 127
	var id float32
	if d != 0 {
		id = 1 / d
	}
	binary.LittleEndian.PutUint16(dst, F16FromFloat32(d))
	for j, v := range x {
		r := math.Round(float64(v * id)) // roundf: half away from zero
		if !(r >= -128 && r <= 127) {
			// NaN or ±Inf (a block holding one, or amax so small that
			// 1/d overflows): C leaves the int8 conversion undefined;
			// ggml gives 0 on x86-64, and so does loom.
			r = 0
		}
		dst[2+j] = byte(int8(r))
	}
}

// BF16FromFloat32 returns the bfloat16 bit pattern nearest to f (ties to
// even; NaN stays a quiet NaN of the same sign). package tensor exposes it.
func BF16FromFloat32(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 { // NaN: keep the sign, force a quiet NaN
		return uint16(b>>16) | 0x0040
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// F16FromFloat32 returns the IEEE half nearest to f: round to nearest even, overflow to
// infinity, subnormals produced exactly, NaN → quiet NaN of the same sign.
func F16FromFloat32(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	switch {
	case e >= 0x1f:
		return sign | 0x7c00
	case e <= 0:
		if e < -10 {
			return sign // below half the smallest subnormal
		}
		m := mant | 0x800000
		s := uint(14 - e)
		h := m >> s
		rem := m & (1<<s - 1)
		half := uint32(1) << (s - 1)
		if rem > half || (rem == half && h&1 == 1) {
			h++
		}
		return sign | uint16(h)
	}
	h := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && h&1 == 1) {
		h++ // a carry into the exponent is the correct result, up to infinity
	}
	return sign | uint16(h)
}

// Float32FromF16 widens an IEEE half exactly: the
// exponent is rebiased, subnormals are normalised through one float32
// subtraction (exact), infinities and NaNs keep their payload.
func Float32FromF16(h uint16) float32 {
	o := uint32(h&0x7fff) << 13
	switch o & (0x1f << 23) {
	case 0x1f << 23: // Inf or NaN
		o += (255 - 31) << 23
	case 0: // zero or subnormal: (1.m − 1)·2⁻¹⁴
		o += 113 << 23
		o = math.Float32bits(math.Float32frombits(o) - 1.0/(1<<14))
	default:
		o += (127 - 15) << 23
	}
	return math.Float32frombits(o | uint32(h&0x8000)<<16)
}

// f16Table holds the float32 value of every f16 pattern (256 KiB), built
// on first use by the plain-Go paths: a lookup is about twice as fast as
// Float32FromF16.
var f16Table = sync.OnceValue(func() *[1 << 16]float32 {
	t := new([1 << 16]float32)
	for h := range t {
		t[h] = Float32FromF16(uint16(h))
	}
	return t
})

// Widen converts len(dst) elements stored in format f (src holds
// f.RowBytes(len(dst)) bytes) to float32, exactly. With AVX-512, f16
// signalling NaNs come out quiet (the hardware conversion sets the quiet
// bit); the plain-Go path keeps them as they are.
func Widen(f Format, dst []float32, src []byte) {
	n := len(dst)
	src = src[:f.RowBytes(n)]
	if n == 0 {
		return
	}
	if useAVX512 {
		switch f {
		case BF16:
			widenBF16AVX512(&dst[0], &src[0], n)
			return
		case F16:
			widenF16AVX512(&dst[0], &src[0], n)
			return
		case Q8_0:
			widenQ8AVX512(&dst[0], &src[0], n/q8Block)
			return
		}
	}
	widenGo(f, dst, src)
}

func widenGo(f Format, dst []float32, src []byte) {
	n := len(dst)
	switch f {
	case BF16:
		i := 0
		for ; i+4 <= n; i += 4 {
			u := binary.LittleEndian.Uint64(src[2*i:])
			d := dst[i : i+4 : i+4]
			d[0] = math.Float32frombits(uint32(u) << 16)
			d[1] = math.Float32frombits(uint32(u) &^ 0xffff)
			d[2] = math.Float32frombits(uint32(u>>32) << 16)
			d[3] = math.Float32frombits(uint32(u>>32) &^ 0xffff)
		}
		for ; i < n; i++ {
			dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(src[2*i:])) << 16)
		}
	case F16:
		t := f16Table()
		for i := range dst {
			dst[i] = t[binary.LittleEndian.Uint16(src[2*i:])]
		}
	case Q8_0:
		for b := range n / q8Block {
			blk := (*[q8BlockBytes]byte)(src[b*q8BlockBytes:])
			d := Float32FromF16(binary.LittleEndian.Uint16(blk[:]))
			out := (*[q8Block]float32)(dst[b*q8Block:])
			for j := range out {
				out[j] = float32(int8(blk[2+j])) * d
			}
		}
	case Q4_K, Q5_K, Q6_K:
		widenK(f, dst, src)
	case Q4_0, Q4_1, Q5_0, Q5_1:
		widenLegacy(f, dst, src)
	}
}

// GemmLowT computes C[i, j] = Σ_p A[i, p]·W[j, p] (+ beta·C[i, j]) for A
// [m, k] float32 with row stride lda, W [n, k] stored row after row in
// format f (row j at w[j·f.RowBytes(k):]) and C [m, n] with row stride ldc,
// on at most threads goroutines. When beta is 0, C is not read. Results are
// bit-identical for any thread count. See the top of lowp.go for the paths
// and their tolerance.
func GemmLowT(f Format, threads, m, n, k int, a []float32, lda int, w []byte, beta float32, c []float32, ldc int) {
	if m <= 0 || n <= 0 {
		return
	}
	if err := f.Valid(k); err != nil {
		panic(err)
	}
	rb := f.RowBytes(k)
	checkGemm(false, true, m, n, k, len(a), lda, n*k, k, len(c), ldc)
	if len(w) < n*rb {
		panic(fmt.Sprintf("kernels: GemmLowT: len(w) = %d < %d", len(w), n*rb))
	}
	if k == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	threads = max(threads, 1)
	if m <= 3 {
		gemvLow(f, threads, m, n, k, a, lda, w, rb, beta, c, ldc)
		return
	}
	if f == Q8_0 && useQ8Gemm() { // int8 products with VNNI (gemm_q8.go)
		gemmQ8(true, threads, m, n, k, a, lda, w, rb, beta, c, ldc)
		return
	}
	if kBlockBytes(f) != 0 && useVNNI { // k-quants: integer products on Q8_K activations (kgemm.go)
		gemmK(f, threads, m, n, k, a, lda, w, rb, beta, c, ldc)
		return
	}
	if round := actRounding(f); round != nil { // on quantised activations, as m ≤ 3 (q8act.go, kquant.go, legacy.go)
		q := make([]float32, m*k)
		for i := range m {
			copy(q[i*k:(i+1)*k], a[i*lda:i*lda+k])
			round(q[i*k : (i+1)*k])
		}
		a, lda = q, k
	}
	gemmLowTiles(f, threads, m, n, k, a, lda, w, rb, beta, c, ldc)
}

// actRounding returns how products with weights of format f round their
// activations (nil: not at all): as llama.cpp quantises them, to q8_0 for
// q8_0 weights and to Q8_K for the k-quants.
func actRounding(f Format) func([]float32) {
	switch f {
	case Q8_0, Q4_0, Q4_1, Q5_0, Q5_1:
		return RoundQ8Act
	case Q4_K, Q5_K, Q6_K:
		return RoundQ8K
	}
	return nil
}

// gemvLow is the m ≤ 3 path: dot products of the rows of A with each row of
// W, the n rows handed out to threads in chunks of a multiple of four rows
// (each element's sum does not depend on the chunk).
func gemvLow(f Format, threads, m, n, k int, a []float32, lda int, w []byte, rb int, beta float32, c []float32, ldc int) {
	run := func(j0, j1 int) {
		dotLow(f, c[j0:], ldc, a, lda, m, w[j0*rb:j1*rb], rb, j1-j0, k, beta)
	}
	switch f { // on quantised activations, each row of A quantised once
	case Q8_0: // q8act.go
		run = quantRows(m, a, lda, k, c, ldc, quantQ8Act, func(c []float32, x *q8Act, j0, j1 int) {
			dotQ8Act(c, x, w[j0*rb:j1*rb], rb, j1-j0, beta)
		})
	case Q4_0, Q4_1, Q5_0, Q5_1: // legacy.go
		run = quantRows(m, a, lda, k, c, ldc, quantQ8LAct, func(c []float32, x *q8LAct, j0, j1 int) {
			dotLegacy(f, c, x, w[j0*rb:j1*rb], rb, j1-j0, beta)
		})
	case Q4_K, Q5_K, Q6_K: // Q8_K, kquant.go
		run = quantRows(m, a, lda, k, c, ldc, quantQ8KAct, func(c []float32, x *q8KAct, j0, j1 int) {
			dotK(f, c, x, w[j0*rb:j1*rb], rb, j1-j0, beta)
		})
	}
	if threads == 1 || n < 32 || int64(m)*int64(n)*int64(k) < 1<<17 {
		run(0, n)
		return
	}
	// Four chunks per thread balance the load when a core is busy.
	chunk := max(16, (ceilDiv(n, 4*threads)+3)&^3)
	items := ceilDiv(n, chunk)
	parallelItems(min(threads, items), items, func(t int) { run(t*chunk, min(n, (t+1)*chunk)) })
}

// quantRows quantises each of the m rows of A (row i at a[i·lda:], k
// values) once with quant, and returns gemvLow's run over weight rows
// j0…j1−1: dot of each row's activations into C's row i (at c[i·ldc+j0:]).
func quantRows[A any](m int, a []float32, lda, k int, c []float32, ldc int, quant func([]float32) A, dot func(c []float32, x *A, j0, j1 int)) func(j0, j1 int) {
	acts := make([]A, m)
	for i := range acts {
		acts[i] = quant(a[i*lda : i*lda+k])
	}
	return func(j0, j1 int) {
		for i := range acts {
			dot(c[i*ldc+j0:], &acts[i], j0, j1)
		}
	}
}

// parallelItems runs f(0…items−1) on workers goroutines (the caller's among
// them: the pool of pool.go), handing items out in order from a shared
// counter.
func parallelItems(workers, items int, f func(int)) { run(items, workers-1, f) }

// dotLow sets c[i·ldc + j] = Σ_p x[i·ldx + p]·W[j][p] (+ beta·c[i·ldc + j])
// for i < m ≤ 3 and the n rows of W in w (rb bytes each).
func dotLow(f Format, c []float32, ldc int, x []float32, ldx, m int, w []byte, rb, n, k int, beta float32) {
	if useAVX512 {
		switch f {
		case BF16:
			dotHalfAVX512(0, &c[0], ldc, &x[0], ldx, m, &w[0], rb, n, k, beta)
		case F16:
			dotHalfAVX512(1, &c[0], ldc, &x[0], ldx, m, &w[0], rb, n, k, beta)
		}
		return
	}
	dotLowGo(f, c, ldc, x, ldx, m, w, rb, n, k, beta)
}

// hsum16 adds 16 lanes in the order of the AVX-512 reductions (HSUM in
// vec_amd64.s, RED4 in lowp_amd64.s): halves, quarters, then
// (l0+l2)+(l1+l3).
func hsum16(a *[16]float32) float32 {
	var h [8]float32
	for l := range h {
		h[l] = a[l] + a[l+8]
	}
	return hsum8(&h)
}

// fma32 returns x·y + z rounded once to float32, as VFMADD does for finite
// results. The product is exact in float64 (48 bits at most) and the sum
// there is off by at most half a float64 ulp, which cannot change the
// float32 rounding unless the float64 sum lands on a float32 midpoint (low
// 29 bits 1 followed by zeros) or below 2⁻¹²⁶ (where float32's precision
// is less than 24 bits). Those rare cases go to fma32Slow.
func fma32(x, y, z float32) float32 {
	if s := float64(float64(x)*float64(y)) + float64(z); fma32Exact(s) {
		return float32(s)
	}
	return fma32Slow(x, y, z)
}

// fma32Exact reports whether rounding s, the float64 sum x·y + z of fma32,
// to float32 gives fma32's result.
func fma32Exact(s float64) bool {
	b := math.Float64bits(s)
	return b&(1<<29-1) != 1<<28 && b&(0x7ff<<52) >= (1023-126)<<52
}

// fma32Slow is fma32 by rounding to odd (Boldo and Melquiond): the float64
// sum's error is recovered exactly (TwoSum), and when it is not 0 and the
// sum's last bit is even, the sum is moved one float64 ulp towards the
// exact value; then a single rounding to float32 is correct.
func fma32Slow(x, y, z float32) float32 {
	p := float64(float64(x) * float64(y))
	zf := float64(z)
	s := p + zf
	zz := s - p
	e := (p - (s - zz)) + (zf - zz)
	if bits := math.Float64bits(s); e != 0 && e == e && bits&1 == 0 {
		if (e > 0) == (s > 0) {
			bits++
		} else {
			bits--
		}
		s = math.Float64frombits(bits)
	}
	return float32(s)
}

// dotLowGo is dotLow in plain Go for bf16 and f16: each row of W is
// widened into a small float32 buffer one block at a time and dotted with
// the rows of x, four partial sums per dot product.
func dotLowGo(f Format, c []float32, ldc int, x []float32, ldx, m int, w []byte, rb, n, k int, beta float32) {
	const blk = 256 // elements widened at a time
	var buf [blk]float32
	var s [3][4]float32
	for j := range n {
		row := w[j*rb : (j+1)*rb]
		s = [3][4]float32{}
		for p0 := 0; p0 < k; p0 += blk {
			p1 := min(k, p0+blk)
			wv := buf[:p1-p0]
			widenGo(f, wv, row[2*p0:2*p1])
			for i := range m {
				xv := x[i*ldx+p0 : i*ldx+p1]
				xv = xv[:len(wv)]
				si := &s[i]
				p := 0
				for ; p+4 <= len(wv); p += 4 {
					si[0] += xv[p] * wv[p]
					si[1] += xv[p+1] * wv[p+1]
					si[2] += xv[p+2] * wv[p+2]
					si[3] += xv[p+3] * wv[p+3]
				}
				for ; p < len(wv); p++ {
					si[p&3] += xv[p] * wv[p]
				}
			}
		}
		for i := range m {
			v := (s[i][0] + s[i][1]) + (s[i][2] + s[i][3])
			if beta != 0 {
				v += beta * c[i*ldc+j]
			}
			c[i*ldc+j] = v
		}
	}
}

// lowTileBytes is the size of the float32 scratch a tile of W rows is
// widened into on the m > 3 path.
const lowTileBytes = 1 << 20

// lowTileRows is the number of W rows per tile: about lowTileBytes of
// float32, a multiple of 64 (the AVX-512 GEMM's register tile is 64 columns
// wide) and at least 64, and no more than n needs. It depends on the shape
// only, never on the thread count.
func lowTileRows(n, k int) int {
	nb := max(64, lowTileBytes/4/k&^63)
	if n <= nb {
		return n
	}
	return nb
}

var lowScratch sync.Pool // *[]float32

func getLowScratch(n int) *[]float32 {
	if p, ok := lowScratch.Get().(*[]float32); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	s := make([]float32, n)
	return &s
}

// gemmLowTiles is the m > 3 path: tiles of nb rows of W are widened and
// multiplied with the float32 GEMM. Tiles are independent (disjoint columns
// of C); with enough of them each thread takes whole tiles, otherwise the
// tiles run one after another, each widened and multiplied on all threads.
// Either way a tile's result is that of SgemmWith, which does not depend on
// its thread count.
func gemmLowTiles(f Format, threads, m, n, k int, a []float32, lda int, w []byte, rb int, beta float32, c []float32, ldc int) {
	nb := lowTileRows(n, k)
	tiles := ceilDiv(n, nb)
	if threads > 1 && tiles >= 4*threads {
		parallelItems(threads, tiles, func(t int) {
			j0, j1 := t*nb, min(n, (t+1)*nb)
			p := getLowScratch(nb * k)
			tile := (*p)[:(j1-j0)*k]
			Widen(f, tile, w[j0*rb:j1*rb])
			SgemmWith(1, false, true, m, j1-j0, k, 1, a, lda, tile, k, beta, c[j0:], ldc)
			lowScratch.Put(p)
		})
		return
	}
	p := getLowScratch(nb * k)
	defer lowScratch.Put(p)
	for j0 := 0; j0 < n; j0 += nb {
		j1 := min(n, j0+nb)
		tile := (*p)[:(j1-j0)*k]
		widenRows(f, threads, tile, w[j0*rb:j1*rb], j1-j0, k, rb)
		SgemmWith(threads, false, true, m, j1-j0, k, 1, a, lda, tile, k, beta, c[j0:], ldc)
	}
}

// widenRows widens rows of k elements (rb bytes each) into dst on up to
// threads goroutines.
func widenRows(f Format, threads int, dst []float32, src []byte, rows, k, rb int) {
	parts := min(threads, rows, ceilDiv(rows*k, 1<<16))
	if parts <= 1 {
		Widen(f, dst, src)
		return
	}
	parallelItems(parts, parts, func(t int) {
		r0, r1 := t*rows/parts, (t+1)*rows/parts
		Widen(f, dst[r0*k:r1*k], src[r0*rb:r1*rb])
	})
}
