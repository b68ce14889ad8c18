//go:build !(openblas && cgo)

// Package openblas registers OpenBLAS's cblas_sgemm as a GEMM kernel in
// builds with -tags openblas (see openblas.go); otherwise it is empty.
package openblas
