package decoder

// PHM projections for the decoder (arXiv 2102.08597, 2110.04176):
// loom.phm {"n": 4, "layers": ["attn", "ffn"]} builds the attention
// projections and/or the FFN projections as nn.PHM layers with n
// components (1/n of their parameters); embeddings, norms and the head stay
// dense.

import (
	"fmt"
	"slices"

	"github.com/loomml/loom/nn"
)

// PHMOptions is the loom.phm option.
type PHMOptions struct {
	N      int      `json:"n"`
	Layers []string `json:"layers"` // "attn", "ffn"
}

// PHMTargets are the sublayers loom.phm.layers may name.
var PHMTargets = []string{"attn", "ffn"}

func init() {
	RegisterOption(Option{Key: "loom.phm",
		Validate: func(c *Config) error { return c.Loom.PHM.validate() },
		Unsupported: func(c *Config, _ Format) string {
			return unless(c.Loom.PHM == nil, "loom.phm (PHM projections)")
		}})
}

func (o *PHMOptions) validate() error {
	if o == nil {
		return nil
	}
	if o.N < 2 {
		return fmt.Errorf("loom.phm.n is %d, want an integer ≥ 2", o.N)
	}
	if len(o.Layers) == 0 {
		return fmt.Errorf("loom.phm.layers is empty, want some of %v", PHMTargets)
	}
	for _, l := range o.Layers {
		if !slices.Contains(PHMTargets, l) {
			return fmt.Errorf("loom.phm.layers names %q, want some of %v", l, PHMTargets)
		}
	}
	return nil
}

// layerInit returns init with PHM projections when loom.phm covers target.
func (p Parts) layerInit(target string) nn.Init {
	in := p.Init
	if o := p.Config.Loom.PHM; o != nil && slices.Contains(o.Layers, target) {
		in.Layer = nn.PHMLayers(o.N)
	}
	return in
}
