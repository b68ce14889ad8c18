// Package kernels holds loom's hot loops: GEMM (Sgemm for float32, Dgemm for
// float64) behind a registry of SGEMM implementations, and vectorised
// elementwise kernels (exp-sum for softmax, SiLU and tanh-GELU with their
// gradients, add/mul/axpy, norm statistics and updates, Adam).
//
// GEMM kernels:
//
//   - "avx512_6x64" and "avx2_6x16": generated Go-assembly micro-kernels
//     (gen/main.go; `go generate`) driven by a GotoBLAS/BLIS-style packed
//     loop nest (gemm_packed.go). The 6×64 AVX-512 tile is the default on
//     CPUs that have it; an untransposed A with alpha 1 is read in place
//     instead of packed. Registered only when golang.org/x/sys/cpu reports
//     the instructions.
//   - "go": a cache-blocked, packed, parallel GEMM in plain Go (no FMA),
//     always available, used on other CPUs and with -tags purego.
//   - "openblas": cblas_sgemm, only in builds with -tags openblas
//     (package openblas); the yardstick, never the default.
//
// The default is the first of avx512_6x64, avx2_6x16, go that is
// registered; LOOM_GEMM=name overrides it. Every loom kernel gives results
// that are bit-identical for any thread count (see SgemmKernel). The "go"
// kernel (and so Dgemm) also gives each element of C the same value
// whatever the size of the product it is computed in, and the same at every
// GOAMD64 level. The vector kernels fall back to plain Go with the same
// formulas when AVX-512 is missing.
//
// Mixed precision (gemm_bf16.go): GemmBF16 rounds both float32 operands to
// bfloat16 (nearest even) and sums the products in float32 — on CPUs with
// AVX512-BF16 with the generated 6×64 VDPBF16PS micro-kernel
// ("avx512bf16_6x64", the same packed loop nest on pairs of bfloat16),
// elsewhere by multiplying the rounded operands with the float32 kernel in
// use. PeakProbe times the cores' FMA and VDPBF16PS peaks for benchmarks.
//
// Low-precision weights (lowp.go): GemmLowT multiplies float32 activations by
// weight rows stored as bf16, f16 or q8_0 (Narrow/Widen convert), widening in
// registers for m ≤ 3 (AVX-512 dot kernels reading W once; q8_0 sums each
// block's int8 products before scaling them, in an order the plain-Go path
// repeats bit for bit) and through float32 tiles and Sgemm for larger m
// (q8_0 with AVX-512 VNNI: an int8 GEMM on quantised activations,
// gemm_q8.go).
//
// 2:4 sparse weights (sparse24.go): Packed24 holds a matrix with at most 2
// non-zeros in every 4 consecutive weights of a row as 16 values per row
// per 32 inputs and byte indices shared by quads of rows; MatMul24
// multiplies it with AVX-512 dot products (VPERMI2PS selects the inputs
// each stored value meets; up to 32 rows of activations) or, for more
// rows, unpacks it to dense in AVX-512 and runs Sgemm. The plain-Go
// fallback accumulates in the same lane order, bit for bit.
package kernels
