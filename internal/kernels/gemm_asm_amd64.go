//go:build amd64 && !purego

package kernels

//go:generate go run ./gen

import (
	"golang.org/x/sys/cpu"
)

// hasISA reports whether this CPU (and OS) supports the kernel's
// instructions.
func hasISA(isa string) bool {
	switch isa {
	case "AVX512":
		return cpu.X86.HasAVX512F
	case "AVX2":
		return cpu.X86.HasAVX2 && cpu.X86.HasFMA
	}
	return false
}

func init() {
	for _, k := range asmKernels {
		if !hasISA(k.isa) {
			continue
		}
		Register(&packedKernel{micro: k, kc: 1024, mc: k.mr * ceilDiv(48, k.mr), nc: 2048})
	}
	if HasBF16() {
		// The same blocking in bytes: a word holds two k steps.
		k := bf16Kernels[0]
		bf16Kernel = &packedKernel{micro: k, kc: 1024, mc: k.mr * ceilDiv(48, k.mr), nc: 2048}
	}
}
