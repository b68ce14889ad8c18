package main

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/loomml/loom/internal/kernels"
)

// lookupKernel returns the float32 kernel or the bf16 kernel named name.
func lookupKernel(name string) kernels.SgemmKernel {
	if name == kernels.BF16KernelName {
		return kernels.BF16Kernel()
	}
	return kernels.Get(name)
}

// peakKind is the peak-probe instruction a kernel is measured against:
// "bf16" for the AVX512-BF16 kernel, "fp32" (AVX-512 FMA) for the AVX-512
// float32 kernels, "" for others (no probe).
func peakKind(name string) string {
	switch {
	case name == kernels.BF16KernelName:
		return "bf16"
	case strings.HasPrefix(name, "avx512"):
		return "fp32"
	}
	return ""
}

// measurePeak times the kind's probe loop on threads goroutines at once
// (7.7 GFLOP per goroutine for fp32, 15.4 for bf16: tens of
// milliseconds), five times, and returns the best rate in GFLOP/s (a
// peak: interference on a shared machine only lowers a run), or 0 when
// this CPU lacks the instruction.
func measurePeak(kind string, threads int) float64 {
	const n = 10_000_000
	if kernels.PeakProbe(kind, 1000) == 0 {
		return 0
	}
	var rates []float64
	for range 5 {
		var wg sync.WaitGroup
		flops := make([]float64, threads)
		t := time.Now()
		for i := range threads {
			wg.Go(func() { flops[i] = kernels.PeakProbe(kind, n) })
		}
		wg.Wait()
		d := time.Since(t).Seconds()
		total := 0.0
		for _, f := range flops {
			total += f
		}
		rates = append(rates, total/d/1e9)
	}
	return slices.Max(rates)
}
