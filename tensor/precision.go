package tensor

import (
	"fmt"
	"strings"
)

// Precision is the arithmetic of a float32 matrix product.
type Precision uint8

const (
	// FP32 multiplies float32 operands, summing in float32.
	FP32 Precision = iota
	// BF16 rounds both operands to bfloat16 (to nearest even) and sums the
	// products in float32 (kernels.GemmBF16): AVX512-BF16 where the CPU
	// has it, the same rounding on the float32 kernel elsewhere. Float64
	// tensors ignore it.
	BF16
)

// String returns "fp32" or "bf16".
func (p Precision) String() string {
	switch p {
	case FP32:
		return "fp32"
	case BF16:
		return "bf16"
	}
	return fmt.Sprintf("Precision(%d)", uint8(p))
}

// ParsePrecision reads "fp32" (also "float32" and "") or "bf16" (also
// "bfloat16").
func ParsePrecision(s string) (Precision, error) {
	switch strings.ToLower(s) {
	case "", "fp32", "float32":
		return FP32, nil
	case "bf16", "bfloat16":
		return BF16, nil
	}
	return FP32, fmt.Errorf("precision %q: want fp32 or bf16", s)
}
