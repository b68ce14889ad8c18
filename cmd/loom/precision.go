package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/loomml/loom/internal/kernels"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/tensor"
)

// precisionFlag is --precision of the training commands.
func precisionFlag(fs *flag.FlagSet) *string {
	return fs.String("precision", "", "arithmetic of training's matrix products: fp32, or bf16 (operands rounded to bfloat16, float32 sums, float32 master weights and optimizer state; AVX512-BF16 where the CPU has it) (default: the config's loom.precision, else fp32)")
}

// applyPrecision sets cfg's loom.precision from --precision when given,
// checks it, and says so when bf16 has no AVX512-BF16 kernel here.
func applyPrecision(cfg *decoder.Config, flagValue string, given bool, stderr io.Writer) error {
	if given {
		p, err := tensor.ParsePrecision(flagValue)
		if err != nil {
			return fmt.Errorf("--precision: %w", err)
		}
		cfg.Loom.Precision = p.String()
	}
	p, err := tensor.ParsePrecision(cfg.Loom.Precision)
	if err != nil {
		return fmt.Errorf("loom.precision: %w", err)
	}
	if p == tensor.BF16 && kernels.BF16Native() == "" {
		why := "this CPU has no AVX512-BF16"
		if kernels.HasBF16() {
			why = "LOOM_GEMM chose the " + kernels.Current() + " kernel"
		}
		fmt.Fprintf(stderr, "loom: %s: bf16 products are emulated (operands rounded to bfloat16, multiplied by the float32 kernel): the same arithmetic, no speed-up\n", why)
	}
	return nil
}
