package encoder

import "fmt"

// Per-layer widths: loom.attention_heads and loom.intermediate_sizes give
// each layer its own number of heads and FFN width, as the decoder's keys
// of the same names do. Structured pruning (compress/structured, VTrans in
// compress/vtrans) removes heads and neurons physically and records what
// each layer keeps here; a head keeps its size, head_dim =
// hidden_size/num_attention_heads. hidden_size stays that of every layer:
// structured pruning of an encoder removes heads, FFN neurons and layers,
// not hidden dims (LayerNorm's mean and variance over fewer dims are not
// what masking those dims computes).

// HeadDim returns the size of one attention head.
func (c *Config) HeadDim() int { return c.HiddenSize / c.NumAttentionHeads }

// HeadsAt returns layer i's number of attention heads.
func (c *Config) HeadsAt(i int) int {
	if i < len(c.Loom.AttentionHeads) {
		return c.Loom.AttentionHeads[i]
	}
	return c.NumAttentionHeads
}

// IntermediateSizeAt returns layer i's FFN width.
func (c *Config) IntermediateSizeAt(i int) int {
	if i < len(c.Loom.IntermediateSizes) {
		return c.Loom.IntermediateSizes[i]
	}
	return c.IntermediateSize
}

// validateWidths checks loom.attention_heads and loom.intermediate_sizes,
// naming the field.
func (c *Config) validateWidths() error {
	L := c.NumHiddenLayers
	if hs := c.Loom.AttentionHeads; hs != nil {
		if len(hs) != L {
			return fmt.Errorf("loom.attention_heads has %d entries, want one per layer (%d)", len(hs), L)
		}
		for i, h := range hs {
			if h <= 0 || h > c.NumAttentionHeads {
				return fmt.Errorf("loom.attention_heads[%d] is %d, want 1 to num_attention_heads (%d)", i, h, c.NumAttentionHeads)
			}
		}
	}
	if ws := c.Loom.IntermediateSizes; ws != nil {
		if len(ws) != L {
			return fmt.Errorf("loom.intermediate_sizes has %d entries, want one per layer (%d)", len(ws), L)
		}
		for i, w := range ws {
			if w <= 0 {
				return fmt.Errorf("loom.intermediate_sizes[%d] is %d, want a positive integer", i, w)
			}
		}
	}
	return nil
}
