package decoder

// Cross-layer parameter sharing, as WideNet ("Go Wider Instead of Deeper",
// arXiv 2107.11817; official code XueFuzhao/WideNet_Code) and ALBERT
// (arXiv 1909.11942) use it. loom.share:
//
//	"attention+ffn": every layer uses layer 0's attention and FFN and keeps
//	                 its own norms (WideNet: with a mixture-of-experts FFN,
//	                 model_type mixtral, "the MoE layer is shared but the
//	                 LayerNorms are not");
//	"all":           the norms are layer 0's too (ALBERT's cross-layer
//	                 sharing).
//
// The shared weights are layer 0's parameters, saved once under layer 0's
// names; the other layers' blocks hold the same modules (the attention as
// a copy of layer 0's that shares its projections but keeps its own layer
// index, so that each layer has its own key/value cache). A checkpoint of
// a shared model is loom's own: Hugging Face and GGUF have no sharing.

import (
	"fmt"
	"slices"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
)

// Sharing choices of loom.share.
const (
	ShareAttentionFFN = "attention+ffn"
	ShareAll          = "all"
)

// shareLayers makes m's layers 1… use layer 0's attention and FFN (and
// norms with ShareAll).
func shareLayers(m *Model) error {
	c := m.Config
	share := c.Loom.Share
	if share == "" || len(m.Layers) < 2 {
		return nil
	}
	first, ok := m.Layers[0].(*PreNorm)
	if !ok {
		return fmt.Errorf("loom.share %q needs loom.layout %q", share, DefaultLayout)
	}
	attn, ok := first.Attn.(*nn.Attention)
	if !ok || first.FFN == nil {
		return fmt.Errorf("loom.share %q needs loom.attention %q and every sublayer present", share, DefaultAttention)
	}
	for i, l := range m.Layers[1:] {
		b := l.(*PreNorm)
		a := *attn
		a.Layer = i + 1 // its own key/value store; the projections are layer 0's
		b.Attn, b.FFN = &a, first.FFN
		if share == ShareAll {
			b.AttnNorm, b.FFNNorm = first.AttnNorm, first.FFNNorm
		}
	}
	return nil
}

// uniqueParams drops repeated parameters (a shared module's, listed by
// every layer using it), keeping the first.
func uniqueParams(ps []*autograd.Var) []*autograd.Var {
	seen := make(map[*autograd.Var]bool, len(ps))
	return slices.DeleteFunc(ps, func(p *autograd.Var) bool {
		if seen[p] {
			return true
		}
		seen[p] = true
		return false
	})
}

func init() {
	RegisterOption(Option{Key: "loom.share",
		Validate: func(c *Config) error {
			switch c.Loom.Share {
			case "":
				return nil
			case ShareAttentionFFN, ShareAll:
			default:
				return fmt.Errorf("loom.share is %q, want %q or %q", c.Loom.Share, ShareAttentionFFN, ShareAll)
			}
			if c.LayoutName() != DefaultLayout || c.AttentionName() != DefaultAttention {
				return fmt.Errorf("loom.share %q needs loom.layout %q and loom.attention %q", c.Loom.Share, DefaultLayout, DefaultAttention)
			}
			if c.Loom.Removed.Count() > 0 || len(c.Loom.IntermediateSizes) > 0 || c.Loom.MatFormer != nil {
				return fmt.Errorf("loom.share %q: the layers must be alike (no removed sublayers, per-layer widths or MatFormer)", c.Loom.Share)
			}
			for i := range c.NumHiddenLayers {
				if c.WindowAt(i) != c.WindowAt(0) || c.RopeThetaAt(i) != c.RopeThetaAt(0) || c.MoEAt(i) != c.MoEAt(0) {
					return fmt.Errorf("loom.share %q: layer %d's attention window, rotary base or FFN kind differs from layer 0's", c.Loom.Share, i)
				}
			}
			return nil
		},
		Unsupported: func(c *Config, f Format) string {
			return unless(c.Loom.Share == "", "loom.share="+c.Loom.Share)
		}})
}
