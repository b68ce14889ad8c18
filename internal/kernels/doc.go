// Package kernels holds loom's hot loops: GEMM (Sgemm for float32, Dgemm for
// float64) and the registry of SGEMM implementations.
//
// The kernel registered here, "go", is a cache-blocked, packed, parallel
// GEMM in plain Go (no cgo, no assembly, no FMA), which is always available
// as the plain-Go fallback; assembly kernels (AVX2/AVX-512) come later and
// register themselves through Register. Every kernel gives results that are
// bit-identical for any thread count (see SgemmKernel). The "go" kernel
// (and so Dgemm) also gives each element of C the same value whatever the
// size of the product it is computed in, and the same at every GOAMD64
// level.
package kernels
