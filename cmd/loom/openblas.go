//go:build openblas && cgo

package main

// Builds with -tags openblas also register OpenBLAS's cblas_sgemm (kernel
// "openblas"), so `loom bench gemm` times it in the same run.
import _ "github.com/loomml/loom/internal/kernels/openblas"
