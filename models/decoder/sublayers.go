package decoder

import (
	"fmt"
	"slices"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// Sublayer kinds: the two residual branches of a block, named as their
// checkpoint prefixes are.
const (
	SublayerAttention = "self_attn"
	SublayerFFN       = "mlp"
)

// SublayerKinds lists the kinds in block order.
var SublayerKinds = []string{SublayerAttention, SublayerFFN}

// Sublayer names one sublayer: layer Layer's residual branch of Kind.
type Sublayer struct {
	Layer int    `json:"layer"`
	Kind  string `json:"kind"` // SublayerAttention or SublayerFFN
}

// Removed is the map of pruned sublayers saved under config.json's "loom"
// key: for each kind, the sorted layer indices whose residual branch is
// gone (the stream passes through; nothing is computed or stored). It is
// how sublayer pruning (FinerCut, arXiv 2405.18218) is recorded.
type Removed struct {
	Attention []int `json:"self_attn,omitempty"`
	FFN       []int `json:"mlp,omitempty"`
}

func (r *Removed) list(kind string) *[]int {
	switch kind {
	case SublayerAttention:
		return &r.Attention
	case SublayerFFN:
		return &r.FFN
	}
	return nil
}

// Has reports whether layer's sublayer of kind is removed.
func (r *Removed) Has(layer int, kind string) bool {
	if r == nil {
		return false
	}
	l := r.list(kind)
	return l != nil && slices.Contains(*l, layer)
}

// Count returns the number of removed sublayers.
func (r *Removed) Count() int {
	if r == nil {
		return 0
	}
	return len(r.Attention) + len(r.FFN)
}

// Removed sublayers are exported as zero weights (FullParams), which
// compute the same function: every format holds them.
func init() {
	RegisterOption(Option{Key: "loom.removed", Validate: func(c *Config) error { return c.Loom.Removed.validate(c.NumHiddenLayers) }})
}

func (r *Removed) validate(layers int) error {
	if r == nil {
		return nil
	}
	for _, kind := range SublayerKinds {
		l := *r.list(kind)
		for i, v := range l {
			if v < 0 || v >= layers {
				return fmt.Errorf("loom.removed.%s lists layer %d; the model has layers 0 to %d", kind, v, layers-1)
			}
			if i > 0 && l[i-1] >= v {
				return fmt.Errorf("loom.removed.%s must list layers in increasing order without repeats, have %v", kind, l)
			}
		}
	}
	return nil
}

// Present reports whether layer's sublayer of kind is part of the model
// (layouts skip building removed ones).
func (p Parts) Present(kind string) bool { return !p.Config.Loom.Removed.Has(p.Layer, kind) }

// Pruner is a block whose sublayers can be removed in place.
type Pruner interface {
	// RemoveSublayer drops the residual branch of kind; an error if the
	// block has no such sublayer or it is already gone.
	RemoveSublayer(kind string) error
	// HasSublayer reports whether the block still has a sublayer of kind.
	HasSublayer(kind string) bool
	// ForwardSkipping is Forward with the sublayer of kind skipped (as if
	// removed), without changing the block: pruning searches score
	// candidates with it, concurrently.
	ForwardSkipping(ctx *nn.Ctx, x *autograd.Var, kind string) *autograd.Var
}

// RemoveSublayer removes layer's sublayer of kind from the model and
// records it in the config, so forward passes skip it and Save writes a
// checkpoint (and config.json) without it.
func (m *Model) RemoveSublayer(layer int, kind string) error {
	if layer < 0 || layer >= len(m.Layers) {
		return fmt.Errorf("decoder: layer %d out of range [0, %d)", layer, len(m.Layers))
	}
	p, ok := m.Layers[layer].(Pruner)
	if !ok {
		return fmt.Errorf("decoder: layer %d (%s layout) cannot remove sublayers", layer, m.Config.LayoutName())
	}
	if m.Config.Loom.Removed == nil {
		m.Config.Loom.Removed = &Removed{}
	}
	l := m.Config.Loom.Removed.list(kind)
	if l == nil {
		return fmt.Errorf("decoder: unknown sublayer kind %q (want %v)", kind, SublayerKinds)
	}
	if err := p.RemoveSublayer(kind); err != nil {
		return fmt.Errorf("decoder: layer %d: %w", layer, err)
	}
	*l = append(*l, layer)
	slices.Sort(*l)
	return nil
}

// HasSublayer reports whether layer still has its sublayer of kind.
func (m *Model) HasSublayer(layer int, kind string) bool {
	p, ok := m.Layers[layer].(Pruner)
	return ok && p.HasSublayer(kind)
}

// RemoveSublayer drops the attention or FFN branch.
func (b *PreNorm) RemoveSublayer(kind string) error {
	switch {
	case kind == SublayerAttention && b.Attn != nil:
		b.Attn, b.AttnNorm = nil, nil
	case kind == SublayerFFN && b.FFN != nil:
		b.FFN, b.FFNNorm = nil, nil
	case kind == SublayerAttention || kind == SublayerFFN:
		return fmt.Errorf("its %s sublayer is already removed", kind)
	default:
		return fmt.Errorf("unknown sublayer kind %q (want %v)", kind, SublayerKinds)
	}
	return nil
}

// ForwardSkipping applies the block without its sublayer of kind ("":
// the whole block).
func (b *PreNorm) ForwardSkipping(ctx *nn.Ctx, x *autograd.Var, kind string) *autograd.Var {
	// Without gradients each branch's temporaries are reused for the next
	// (autograd.Recycle); never the x given, which the caller may hold.
	in := x
	if b.Attn != nil && kind != SublayerAttention {
		h := b.AttnNorm.Forward(x)
		a := b.Attn.Forward(ctx, h)
		autograd.Recycle(h, x, a)
		y := autograd.Add(x, a)
		autograd.Recycle(a, x, y)
		x = y
	}
	if b.FFN != nil && kind != SublayerFFN {
		h := b.FFNNorm.Forward(x)
		f := nn.ApplyFFN(ctx, b.FFN, h)
		autograd.Recycle(h, x, f)
		y := autograd.Add(x, f)
		autograd.Recycle(f, x, y)
		if x != in {
			autograd.Recycle(x, in, y) // the residual stream between the branches
		}
		x = y
	}
	return x
}

// HasSublayer reports whether the branch is present.
func (b *PreNorm) HasSublayer(kind string) bool {
	switch kind {
	case SublayerAttention:
		return b.Attn != nil
	case SublayerFFN:
		return b.FFN != nil
	}
	return false
}

// FullParams returns the parameters a model of m's config would have with
// no sublayer removed: m's own, and stand-ins for removed sublayers (zero
// weights and biases, unit norm gains) that make each removed branch add
// exactly zero. Exporters to runtimes that cannot skip a sublayer write
// these; the second result counts the stand-in sublayers.
func (m *Model) FullParams() ([]*autograd.Var, int, error) {
	if m.Config.Loom.Removed.Count() == 0 {
		return m.Params(), 0, nil
	}
	c := *m.Config
	c.Loom.Removed = nil
	full, err := Build(&c, nn.Init{Empty: true})
	if err != nil {
		return nil, 0, err
	}
	have, err := nn.ParamMap(m.Params())
	if err != nil {
		return nil, 0, err
	}
	var out []*autograd.Var
	for _, p := range full.Params() {
		if q, ok := have[p.Name]; ok {
			out = append(out, q)
			continue
		}
		v := tensor.Zeros(p.Shape()...)
		if p.Role == autograd.RoleNorm {
			v = tensor.Ones(p.Shape()...) // a gain of 1 on a branch whose output weights are 0
		}
		out = append(out, &autograd.Var{Name: p.Name, Role: p.Role, Value: v})
	}
	return out, m.Config.Loom.Removed.Count(), nil
}
