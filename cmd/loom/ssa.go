package main

import (
	"flag"

	"github.com/loomml/loom/models/decoder"
)

// ssaFlag defines --ssa: stochastically subsampled attention in training
// (arXiv 2306.01705; models/decoder/ssa.go), the share of key tiles each
// query tile keeps. Its default 0 means "not given" (the config's own
// loom.ssa, if any) and is outside the valid range, so a typed 0 is refused.
func ssaFlag(fs *flag.FlagSet) *float64 {
	return floatFlag(fs, "ssa", 0, "train with stochastically subsampled attention (arXiv 2306.01705): each query tile of 64 positions keeps this share of the key tiles, locally biased (sets the config's loom.ssa.ratio; 1 computes dense attention, e.g. for the dense fine-tune after SSA training)", span{lo: 0, hi: 1, loOpen: true})
}

// applySSA sets c's loom.ssa.ratio to ratio when --ssa was given, and
// re-attaches the sampler of an already built model m (nil: none).
func applySSA(c *decoder.Config, m *decoder.Model, ratio float64, given bool) {
	if !given {
		return
	}
	if c.Loom.SSA == nil {
		c.Loom.SSA = &decoder.SSAOptions{}
	}
	c.Loom.SSA.Ratio = ratio
	if m != nil {
		m.AttachSSA()
	}
}
