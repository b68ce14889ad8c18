package decoder

// MatFormer (arXiv 2310.07707; official code RAIVNLab/MatFormer-OLMo,
// olmo/model.py and olmo/train.py) for the decoder: loom.matformer
// {"factor": 8} wraps every FFN in nn.Nested, and each training step runs
// forward and backward at the widths d_ff, d_ff/2, …, d_ff/factor and sums
// the losses before the optimizer step (Loss in training mode). Mix'n'Match picks a
// width per layer at inference (SetFFNWidths); Extract writes the chosen
// submodel out as a standalone model (per-layer widths in
// loom.intermediate_sizes, or a plain intermediate_size when they agree).

import (
	"fmt"
	"slices"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/data"
	"github.com/loomml/loom/nn"
)

// MatFormer is the loom.matformer option.
type MatFormer struct {
	// Factor is the largest divisor of the FFN width trained: the
	// granularities are d_ff/1, d_ff/2, …, d_ff/Factor (a power of two ≥ 2).
	Factor int `json:"factor"`
}

// Granularities returns the divisors 1, 2, 4, …, Factor.
func (m *MatFormer) Granularities() []int {
	var out []int
	for f := 1; f <= m.Factor; f *= 2 {
		out = append(out, f)
	}
	return out
}

func init() {
	RegisterOption(Option{Key: "loom.intermediate_sizes",
		Validate: func(c *Config) error {
			ws := c.Loom.IntermediateSizes
			if len(ws) > 0 && len(ws) != c.NumHiddenLayers {
				return fmt.Errorf("loom.intermediate_sizes has %d entries, want one per layer (%d)", len(ws), c.NumHiddenLayers)
			}
			for i, w := range ws {
				if w <= 0 {
					return fmt.Errorf("loom.intermediate_sizes[%d] is %d, want a positive integer", i, w)
				}
			}
			return nil
		},
		Unsupported: func(c *Config, _ Format) string {
			for _, w := range c.Loom.IntermediateSizes {
				if w != c.IntermediateSize {
					return "loom.intermediate_sizes (FFN width per layer)"
				}
			}
			return ""
		}})
	// A MatFormer checkpoint is an ordinary dense one: every format holds
	// it (at full width).
	RegisterOption(Option{Key: "loom.matformer", Validate: func(c *Config) error {
		mf := c.Loom.MatFormer
		if mf == nil {
			return nil
		}
		if mf.Factor < 2 || mf.Factor&(mf.Factor-1) != 0 {
			return fmt.Errorf("loom.matformer.factor is %d, want a power of two ≥ 2", mf.Factor)
		}
		for i := range c.NumHiddenLayers {
			if w := c.IntermediateSizeAt(i); w <= 0 || w%mf.Factor != 0 {
				return fmt.Errorf("loom.matformer.factor %d does not divide layer %d's FFN width %d", mf.Factor, i, w)
			}
		}
		return nil
	}})
}

// ffnLister is a block that can list its feed-forward networks.
type ffnLister interface{ FFNs() []nn.FFN }

// FFNs returns the block's FFN (none when removed).
func (b *PreNorm) FFNs() []nn.FFN {
	if b.FFN == nil {
		return nil
	}
	return []nn.FFN{b.FFN}
}

// nested returns the nested FFNs of each layer; an error if the model is
// not a MatFormer.
func (m *Model) nested() ([][]*nn.Nested, error) {
	out := make([][]*nn.Nested, len(m.Layers))
	for i, b := range m.Layers {
		l, ok := b.(ffnLister)
		if !ok {
			return nil, fmt.Errorf("layer %d (%T) does not expose its FFNs", i, b)
		}
		for _, f := range l.FFNs() {
			n, ok := f.(*nn.Nested)
			if !ok {
				return nil, fmt.Errorf("layer %d's FFN is not nested: the model was not built with loom.matformer", i)
			}
			out[i] = append(out[i], n)
		}
	}
	return out, nil
}

// SetFFNWidths selects Mix'n'Match widths: the first widths[i] hidden units
// of layer i's FFN(s). Full widths restore the whole model.
func (m *Model) SetFFNWidths(widths []int) error {
	if len(widths) != len(m.Layers) {
		return fmt.Errorf("%d FFN widths for %d layers", len(widths), len(m.Layers))
	}
	ns, err := m.nested()
	if err != nil {
		return err
	}
	for i, l := range ns {
		for _, n := range l {
			if err := n.SetWidth(widths[i]); err != nil {
				return fmt.Errorf("layer %d: %w", i, err)
			}
		}
	}
	return nil
}

// FFNWidths returns the active FFN width of each layer (the configured one
// for a model that is not a MatFormer).
func (m *Model) FFNWidths() []int {
	out := make([]int, len(m.Layers))
	ns, err := m.nested()
	for i := range out {
		out[i] = m.Config.IntermediateSizeAt(i)
		if err == nil && len(ns[i]) > 0 {
			out[i] = ns[i][0].Width
		}
	}
	return out
}

// matformerLoss is a MatFormer's training objective: the sum of the
// losses at every granularity (all layers at d_ff/f for f = 1, 2, …,
// factor), as MatFormer-OLMo's train step accumulates them. The widths are
// full again afterwards.
func (m *Model) matformerLoss(ctx *nn.Ctx, b data.Batch) *autograd.Var {
	full := make([]int, len(m.Layers))
	for i := range full {
		full[i] = m.Config.IntermediateSizeAt(i)
	}
	defer m.SetFFNWidths(full)
	var total *autograd.Var
	for _, f := range m.Config.Loom.MatFormer.Granularities() {
		ws := make([]int, len(full))
		for i, w := range full {
			ws[i] = w / f
		}
		if err := m.SetFFNWidths(ws); err != nil {
			panic(err) // the config was validated: widths divide
		}
		l := m.crossEntropy(ctx, b)
		if total == nil {
			total = l
		} else {
			total = autograd.Add(total, l)
		}
	}
	return total
}

// Extract returns the submodel with FFN width widths[i] in layer i as a
// standalone model: the first widths[i] hidden units of every FFN, the
// other weights shared (copied). Its config has no loom.matformer; the
// widths go to intermediate_size when they agree, to
// loom.intermediate_sizes otherwise. m may be any model whose FFN widths are
// at least widths (slicing a conventionally trained model works too).
func Extract(m *Model, widths []int) (*Model, error) {
	if len(widths) != len(m.Layers) {
		return nil, fmt.Errorf("%d FFN widths for %d layers", len(widths), len(m.Layers))
	}
	c := *m.Config
	c.Loom.MatFormer = nil
	c.Loom.IntermediateSizes = nil
	for i, w := range widths {
		if w < 1 || w > m.Config.IntermediateSizeAt(i) {
			return nil, fmt.Errorf("layer %d: FFN width %d, want 1 … %d", i, w, m.Config.IntermediateSizeAt(i))
		}
	}
	if c.LayoutName() != "prenorm" {
		return nil, fmt.Errorf("extract: only pre-norm blocks (loom.layout prenorm), not %s", c.LayoutName())
	}
	if slices.Max(widths) == slices.Min(widths) {
		c.IntermediateSize = widths[0]
	} else {
		c.Loom.IntermediateSizes = slices.Clone(widths)
	}
	out, err := Build(&c, nn.Init{Empty: true})
	if err != nil {
		return nil, err
	}
	src, err := nn.ParamMap(m.Params())
	if err != nil {
		return nil, err
	}
	for _, p := range out.Params() {
		s, ok := src[p.Name]
		if !ok {
			return nil, fmt.Errorf("extract: the source model has no %s", p.Name)
		}
		// Every weight of the submodel is the leading block of the
		// source's: rows of gate/up, columns of down, the rest whole.
		v := s.Value
		for d, n := range p.Shape() {
			if v.Dim(d) < n {
				return nil, fmt.Errorf("extract: %s is %v in the source, %v wanted", p.Name, s.Shape(), p.Shape())
			}
			v = v.Slice(d, 0, n)
		}
		p.Value = v.Contiguous().Clone()
	}
	return out, nil
}
