package decoder

import "fmt"

// Per-layer attention heads (loom.attention_heads): structured head
// pruning (compress/structured) removes whole heads layer by layer, and
// the pruned model's config lists what each layer keeps. Each head keeps
// head_dim values; the layers are multi-head (as many key/value heads as
// heads), so a model with grouped-query attention cannot take the option.

// HeadsAt returns layer i's number of query heads.
func (c *Config) HeadsAt(i int) int {
	if i < len(c.Loom.AttentionHeads) {
		return c.Loom.AttentionHeads[i]
	}
	return c.NumAttentionHeads
}

// KVHeadsAt returns layer i's number of key/value heads.
func (c *Config) KVHeadsAt(i int) int {
	if i < len(c.Loom.AttentionHeads) {
		return c.Loom.AttentionHeads[i]
	}
	return c.KVHeads()
}

func init() {
	RegisterOption(Option{Key: "loom.attention_heads",
		Validate: func(c *Config) error {
			hs := c.Loom.AttentionHeads
			if len(hs) == 0 {
				return nil
			}
			if len(hs) != c.NumHiddenLayers {
				return fmt.Errorf("loom.attention_heads has %d entries, want one per layer (%d)", len(hs), c.NumHiddenLayers)
			}
			if c.KVHeads() != c.NumAttentionHeads {
				return fmt.Errorf("loom.attention_heads needs multi-head attention (num_key_value_heads %d = num_attention_heads %d)", c.KVHeads(), c.NumAttentionHeads)
			}
			if c.Loom.Share != "" {
				return fmt.Errorf("loom.attention_heads cannot vary across layers that share weights (loom.share %q)", c.Loom.Share)
			}
			if c.HeadDim <= 0 {
				return fmt.Errorf("loom.attention_heads needs an explicit head_dim (have %d)", c.HeadDim)
			}
			for i, h := range hs {
				if h <= 0 || h > c.NumAttentionHeads {
					return fmt.Errorf("loom.attention_heads[%d] is %d, want 1 to num_attention_heads (%d)", i, h, c.NumAttentionHeads)
				}
			}
			return nil
		},
		Unsupported: func(c *Config, _ Format) string {
			for _, h := range c.Loom.AttentionHeads {
				if h != c.NumAttentionHeads {
					return "loom.attention_heads (attention heads per layer)"
				}
			}
			return ""
		}})
}
