// Package structured prunes whole structures of a decoder (models/decoder)
// or a BERT encoder (models/encoder; encoder.go): attention heads,
// feed-forward neurons, hidden (embedding) dimensions (decoders only) and
// layers. It scores them (first-order Taylor |w·∂L/∂w| summed over each
// structure's weights, as in Molchanov et al., arXiv 1906.10771, or the
// mean magnitude of their activations, or the norm of their weights) and
// removes the pruned rows and columns physically: the pruned model is a
// smaller decoder.Model whose config.json says what each layer keeps
// (loom.attention_heads, loom.intermediate_sizes, loom.removed, a smaller
// hidden_size), so it saves, loads and runs faster as any other.
//
// Removal computes what masking computes: Apply zeroes the same structures
// in place, and the tests check that both models give the same logits.
// Removing hidden dims keeps RMSNorm exact by rescaling its gains by
// √(D/D') and its epsilon by D/D' (the mean over D' kept values of the
// pruned model equals the mean over D values of the masked one, whose
// removed values are zero).
//
// VTrans (compress/vtrans, arXiv 2406.05276) chooses its masks by a
// variational information bottleneck and removes them with this package.
package structured

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/encoder"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// Mask says which structures a model keeps (true) and which it loses.
type Mask struct {
	Heads   [][]bool // [layer][head]
	Neurons [][]bool // [layer][neuron]
	Hidden  []bool   // [hidden dim], shared by every layer
	Layers  []bool   // [layer]
}

// Shape is what a model's structures number.
type Shape struct {
	Layers, Heads, HeadDim, Hidden int
	Neurons                        []int // FFN width per layer
	HasAttn, HasFFN                []bool
	// HeadsAt is each layer's present heads (the first HeadsAt[i] of
	// Heads).
	HeadsAt []int
	// Encoder is set for an encoder, whose hidden dims are not
	// removable.
	Encoder bool
}

// Model is a model this package prunes: a *decoder.Model or a BERT
// *encoder.Model.
type Model interface{ Params() []*autograd.Var }

// target is a model with its shape and the layout of its parameters.
type target struct {
	s      Shape
	layout func(name string, shape []int) (layout, error)
	dec    *decoder.Model
	enc    *encoder.Model
}

func targetOf(m Model) (*target, error) {
	switch m := m.(type) {
	case *decoder.Model:
		s, err := decoderShape(m)
		if err != nil {
			return nil, err
		}
		return &target{s: s, dec: m, layout: func(name string, shape []int) (layout, error) { return layoutOf(name, shape, s.Neurons) }}, nil
	case *encoder.Model:
		return encoderTarget(m)
	}
	return nil, fmt.Errorf("structured: a %T cannot be pruned by structure (want a decoder or a BERT encoder)", m)
}

// ShapeOf returns m's structures, or an error naming what this package
// cannot prune in m (decoderShape, encoderTarget).
func ShapeOf(m Model) (Shape, error) {
	t, err := targetOf(m)
	if err != nil {
		return Shape{}, err
	}
	return t.s, nil
}

// decoderShape returns m's structures, or an error naming what this package
// cannot prune in m (grouped-query attention, mixtures of experts, shared
// layers, MatFormer, TokenFormer, PHM, µP, a layout other than prenorm,
// norms other than RMSNorm, Gemma's scaled embeddings).
func decoderShape(m *decoder.Model) (Shape, error) {
	c := m.Config
	switch {
	case c.MoE():
		return Shape{}, fmt.Errorf("structured: a mixture of experts cannot be pruned by structure (prune its experts instead)")
	case c.Loom.Share != "":
		return Shape{}, fmt.Errorf("structured: loom.share %q: shared layers cannot be pruned one by one", c.Loom.Share)
	case c.Loom.MatFormer != nil || c.Loom.TokenFormer != nil || c.Loom.PHM != nil:
		return Shape{}, fmt.Errorf("structured: loom.matformer, loom.tokenformer and loom.phm models cannot be pruned by structure")
	case c.MuP():
		return Shape{}, fmt.Errorf("structured: loom.param \"mup\" ties scales to widths; structured pruning needs \"sp\"")
	case c.LayoutName() != decoder.DefaultLayout || c.AttentionName() != decoder.DefaultAttention:
		return Shape{}, fmt.Errorf("structured: loom.layout %q / loom.attention %q: want prenorm / mha", c.LayoutName(), c.AttentionName())
	case c.NormName() != "rmsnorm":
		return Shape{}, fmt.Errorf("structured: loom.norm %q: hidden dims are removable exactly under rmsnorm only", c.NormName())
	case c.KVHeads() != c.NumAttentionHeads:
		return Shape{}, fmt.Errorf("structured: num_key_value_heads %d ≠ num_attention_heads %d: grouped-query attention is not supported", c.KVHeads(), c.NumAttentionHeads)
	case c.FFNName() != "gated" && c.FFNName() != "mlp":
		return Shape{}, fmt.Errorf("structured: loom.ffn %q: want gated or mlp", c.FFNName())
	}
	switch c.ModelType {
	case "", "llama", "mistral", "qwen2", "qwen3":
	default:
		return Shape{}, fmt.Errorf("structured: model_type %q is not supported (want llama, mistral, qwen2 or qwen3)", c.ModelType)
	}
	s := Shape{Layers: c.NumHiddenLayers, Heads: c.NumAttentionHeads, HeadDim: c.HeadDimOrDefault(), Hidden: c.HiddenSize}
	for i := range c.NumHiddenLayers {
		s.Neurons = append(s.Neurons, c.IntermediateSizeAt(i))
		s.HasAttn = append(s.HasAttn, m.HasSublayer(i, decoder.SublayerAttention))
		s.HasFFN = append(s.HasFFN, m.HasSublayer(i, decoder.SublayerFFN))
		s.HeadsAt = append(s.HeadsAt, c.HeadsAt(i))
	}
	return s, nil
}

// Full returns the mask keeping everything m has (structures of removed
// sublayers and heads a layer no longer has are false).
func Full(m Model) (*Mask, error) {
	s, err := ShapeOf(m)
	if err != nil {
		return nil, err
	}
	return s.full(), nil
}

func (s Shape) full() *Mask {
	k := &Mask{Hidden: ones(s.Hidden)}
	for i := range s.Layers {
		h := make([]bool, s.Heads)
		if s.HasAttn[i] {
			for j := range s.HeadsAt[i] {
				h[j] = true
			}
		}
		n := make([]bool, s.Neurons[i])
		if s.HasFFN[i] {
			n = ones(s.Neurons[i])
		}
		k.Heads = append(k.Heads, h)
		k.Neurons = append(k.Neurons, n)
		k.Layers = append(k.Layers, s.HasAttn[i] || s.HasFFN[i])
	}
	return k
}

func ones(n int) []bool {
	b := make([]bool, n)
	for i := range b {
		b[i] = true
	}
	return b
}

func count(b []bool) int {
	n := 0
	for _, v := range b {
		if v {
			n++
		}
	}
	return n
}

func kept(b []bool) []int {
	var out []int
	for i, v := range b {
		if v {
			out = append(out, i)
		}
	}
	return out
}

// attn and ffn report whether layer i keeps its attention / FFN under k.
func (k *Mask) attn(i int) bool { return k.Layers[i] && count(k.Heads[i]) > 0 }
func (k *Mask) ffn(i int) bool  { return k.Layers[i] && count(k.Neurons[i]) > 0 }

// check validates k against m's shape.
func (k *Mask) check(s Shape) error {
	if len(k.Heads) != s.Layers || len(k.Neurons) != s.Layers || len(k.Layers) != s.Layers || len(k.Hidden) != s.Hidden {
		return fmt.Errorf("structured: mask for %d/%d/%d layers and %d hidden dims, model has %d layers and %d hidden dims",
			len(k.Heads), len(k.Neurons), len(k.Layers), len(k.Hidden), s.Layers, s.Hidden)
	}
	if count(k.Hidden) == 0 {
		return fmt.Errorf("structured: the mask removes every hidden dim")
	}
	if s.Encoder && count(k.Hidden) != s.Hidden {
		return fmt.Errorf("structured: the mask removes hidden dims of an encoder: %s", errEncoderHidden)
	}
	for i := range s.Layers {
		if len(k.Heads[i]) != s.Heads || len(k.Neurons[i]) != s.Neurons[i] {
			return fmt.Errorf("structured: layer %d: mask of %d heads and %d neurons, model has %d and %d", i, len(k.Heads[i]), len(k.Neurons[i]), s.Heads, s.Neurons[i])
		}
		if k.attn(i) && !s.HasAttn[i] || k.ffn(i) && !s.HasFFN[i] {
			return fmt.Errorf("structured: layer %d: the mask keeps a sublayer the model has already removed", i)
		}
	}
	return nil
}

// axis is what one dimension of a parameter indexes.
type axis int

const (
	axNone   axis = iota
	axHidden      // a hidden dim
	axHead        // head_dim values per head
	axNeuron      // an FFN neuron
)

// layout is how a parameter's dimensions map onto structures.
type layout struct {
	layer int    // -1: not in a layer
	sub   string // decoder.SublayerAttention, decoder.SublayerFFN or ""
	axes  []axis
	gain  bool // an RMSNorm gain over the hidden dims
}

// layoutOf classifies a parameter by its (Hugging Face Llama) name.
func layoutOf(name string, shape []int, neurons []int) (layout, error) {
	switch name {
	case "model.embed_tokens.weight", "model.embed_positions.weight", "lm_head.weight":
		return layout{layer: -1, axes: []axis{axNone, axHidden}}, nil
	case "model.norm.weight":
		return layout{layer: -1, axes: []axis{axHidden}, gain: true}, nil
	}
	rest, ok := strings.CutPrefix(name, "model.layers.")
	if !ok {
		return layout{}, fmt.Errorf("structured: parameter %s is not one this package knows how to prune", name)
	}
	num, rest, _ := strings.Cut(rest, ".")
	l, err := strconv.Atoi(num)
	if err != nil || l < 0 || l >= len(neurons) {
		return layout{}, fmt.Errorf("structured: parameter %s: bad layer", name)
	}
	matrix := len(shape) == 2
	lay := layout{layer: l}
	switch rest {
	case "input_layernorm.weight":
		lay.sub, lay.axes, lay.gain = decoder.SublayerAttention, []axis{axHidden}, true
	case "post_attention_layernorm.weight":
		lay.sub, lay.axes, lay.gain = decoder.SublayerFFN, []axis{axHidden}, true
	case "self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight":
		lay.sub, lay.axes = decoder.SublayerAttention, []axis{axHead, axHidden}
	case "self_attn.q_proj.bias", "self_attn.k_proj.bias", "self_attn.v_proj.bias":
		lay.sub, lay.axes = decoder.SublayerAttention, []axis{axHead}
	case "self_attn.o_proj.weight":
		lay.sub, lay.axes = decoder.SublayerAttention, []axis{axHidden, axHead}
	case "self_attn.o_proj.bias":
		lay.sub, lay.axes = decoder.SublayerAttention, []axis{axHidden}
	case "self_attn.q_norm.weight", "self_attn.k_norm.weight":
		lay.sub, lay.axes = decoder.SublayerAttention, make([]axis, len(shape))
	case "mlp.gate_proj.weight", "mlp.up_proj.weight":
		lay.sub, lay.axes = decoder.SublayerFFN, []axis{axNeuron, axHidden}
	case "mlp.gate_proj.bias", "mlp.up_proj.bias":
		lay.sub, lay.axes = decoder.SublayerFFN, []axis{axNeuron}
	case "mlp.down_proj.weight":
		lay.sub, lay.axes = decoder.SublayerFFN, []axis{axHidden, axNeuron}
	case "mlp.down_proj.bias":
		lay.sub, lay.axes = decoder.SublayerFFN, []axis{axHidden}
	default:
		if !strings.HasPrefix(rest, "mlp.act_fn.") {
			return layout{}, fmt.Errorf("structured: parameter %s is not one this package knows how to prune", name)
		}
		// A learnable activation's per-neuron parameters (last dim the
		// FFN width); scalars stay as they are.
		lay.sub, lay.axes = decoder.SublayerFFN, make([]axis, len(shape))
		if len(shape) > 0 && shape[len(shape)-1] == neurons[l] && neurons[l] > 1 {
			lay.axes[len(shape)-1] = axNeuron
		}
	}
	if len(lay.axes) != len(shape) || (strings.HasSuffix(rest, "proj.weight") && !matrix) {
		return layout{}, fmt.Errorf("structured: parameter %s has shape %v, unexpected", name, shape)
	}
	return lay, nil
}

// keepOf returns, for each dimension of a parameter with layout lay, the
// kept indices (nil: all).
func (k *Mask) keepOf(lay layout, headDim int) [][]int {
	out := make([][]int, len(lay.axes))
	for d, a := range lay.axes {
		switch a {
		case axHidden:
			out[d] = kept(k.Hidden)
		case axHead:
			for _, h := range kept(k.Heads[lay.layer]) {
				for j := range headDim {
					out[d] = append(out[d], h*headDim+j)
				}
			}
		case axNeuron:
			out[d] = kept(k.Neurons[lay.layer])
		}
	}
	return out
}

// present reports whether the parameter's sublayer survives k.
func (k *Mask) present(lay layout) bool {
	switch lay.sub {
	case decoder.SublayerAttention:
		return k.attn(lay.layer)
	case decoder.SublayerFFN:
		return k.ffn(lay.layer)
	}
	return true
}

// strides returns row-major strides of shape.
func strides(shape []int) []int {
	st := make([]int, len(shape))
	s := 1
	for d := len(shape) - 1; d >= 0; d-- {
		st[d] = s
		s *= shape[d]
	}
	return st
}

// gather returns the sub-tensor of v at the kept indices (nil: all) of
// each dimension.
func gather(v []float32, shape []int, keep [][]int) ([]float32, []int) {
	idx := make([][]int, len(shape))
	newShape := make([]int, len(shape))
	for d := range shape {
		idx[d] = keep[d]
		if idx[d] == nil {
			idx[d] = make([]int, shape[d])
			for i := range idx[d] {
				idx[d][i] = i
			}
		}
		newShape[d] = len(idx[d])
	}
	st := strides(shape)
	n := 1
	for _, s := range newShape {
		n *= s
	}
	out := make([]float32, 0, n)
	var rec func(d, off int)
	rec = func(d, off int) {
		if d == len(shape) {
			out = append(out, v[off])
			return
		}
		for _, i := range idx[d] {
			rec(d+1, off+i*st[d])
		}
	}
	if n > 0 {
		rec(0, 0)
	}
	return out, newShape
}

// zeroOutside zeroes v's entries outside the kept indices of some
// dimension.
func zeroOutside(v []float32, shape []int, keep [][]int) {
	st := strides(shape)
	for d := range shape {
		if keep[d] == nil {
			continue
		}
		in := make([]bool, shape[d])
		for _, i := range keep[d] {
			in[i] = true
		}
		for off := range v {
			if !in[(off/st[d])%shape[d]] {
				v[off] = 0
			}
		}
	}
}

// Apply zeroes in place the weights of the structures k removes: the
// masking whose function Remove reproduces with a smaller model.
//
// On an encoder, a sublayer k removes (a layer, or every head or neuron of
// one) is skipped, its residual and its norm with it, as loom.removed
// does: post-norm makes a zeroed branch Norm(x + 0) ≠ x, so removal, not
// zeroing, is what the pruned encoder computes.
func Apply(m Model, k *Mask) error {
	t, err := targetOf(m)
	if err != nil {
		return err
	}
	s := t.s
	if err := k.check(s); err != nil {
		return err
	}
	for _, p := range m.Params() {
		lay, err := t.layout(p.Name, p.Shape())
		if err != nil {
			return err
		}
		v := p.Value.Float32s()
		if !k.present(lay) {
			clear(v)
		} else {
			zeroOutside(v, p.Shape(), k.keepOf(lay, s.HeadDim))
		}
		p.Value = tensor.FromFloat32(v, p.Shape()...)
	}
	if t.enc != nil {
		skipSublayers(t.enc, k)
	}
	return nil
}

// Remove returns the smaller model that computes what m masked by k
// computes (m itself is unchanged): the kept heads, neurons, hidden dims
// and layers, with config.json saying how many each layer keeps.
func Remove(m *decoder.Model, k *Mask) (*decoder.Model, error) {
	s, err := decoderShape(m)
	if err != nil {
		return nil, err
	}
	if err := k.check(s); err != nil {
		return nil, err
	}
	c := *m.Config
	c.HeadDim = s.HeadDim
	c.Loom.Removed = &decoder.Removed{}
	heads := make([]int, s.Layers)
	widths := make([]int, s.Layers)
	sameHeads, sameWidths := true, true
	for i := range s.Layers {
		heads[i], widths[i] = s.Heads, s.Neurons[i]
		if k.attn(i) {
			heads[i] = count(k.Heads[i])
		} else {
			c.Loom.Removed.Attention = append(c.Loom.Removed.Attention, i)
		}
		if k.ffn(i) {
			widths[i] = count(k.Neurons[i])
		} else {
			c.Loom.Removed.FFN = append(c.Loom.Removed.FFN, i)
		}
		sameHeads = sameHeads && heads[i] == s.Heads
		sameWidths = sameWidths && widths[i] == c.IntermediateSize
	}
	c.Loom.AttentionHeads, c.Loom.IntermediateSizes = nil, nil
	if !sameHeads {
		c.Loom.AttentionHeads = heads
	}
	if !sameWidths {
		c.Loom.IntermediateSizes = widths
	}
	if c.Loom.Removed.Count() == 0 {
		c.Loom.Removed = nil
	}
	d := count(k.Hidden)
	scale := float32(math.Sqrt(float64(s.Hidden) / float64(d)))
	c.HiddenSize = d
	c.RMSNormEps = m.Config.RMSNormEps * float64(s.Hidden) / float64(d)
	out, err := decoder.Build(&c, nn.Init{Empty: true})
	if err != nil {
		return nil, fmt.Errorf("structured: the pruned config: %w", err)
	}
	layoutFn := func(name string, shape []int) (layout, error) { return layoutOf(name, shape, s.Neurons) }
	err = fillPruned(out.Params(), m.Params(), k, s.HeadDim, layoutFn, func(lay layout, v []float32) {
		if lay.gain && d != s.Hidden {
			for i := range v {
				v[i] *= scale
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// fillPruned gives each parameter of the pruned model (dst) the values of
// the parameter of the same name in the model (src) that k keeps, laid
// out as layoutFn says; adjust, when not nil, changes them before they are
// stored.
func fillPruned(dst, src []*autograd.Var, k *Mask, headDim int, layoutFn func(name string, shape []int) (layout, error), adjust func(layout, []float32)) error {
	old, err := nn.ParamMap(src)
	if err != nil {
		return err
	}
	for _, p := range dst {
		q, ok := old[p.Name]
		if !ok {
			return fmt.Errorf("structured: the pruned model has %s, the model does not", p.Name)
		}
		lay, err := layoutFn(q.Name, q.Shape())
		if err != nil {
			return err
		}
		v, shape := gather(q.Value.Float32s(), q.Shape(), k.keepOf(lay, headDim))
		if !slices.Equal(shape, p.Shape()) {
			return fmt.Errorf("structured: %s pruned to %v, the pruned config wants %v", p.Name, shape, p.Shape())
		}
		if adjust != nil {
			adjust(lay, v)
		}
		p.Value = tensor.FromFloat32(v, shape...)
	}
	return nil
}

// NumParams counts a model's parameter values.
func NumParams(m interface{ Params() []*autograd.Var }) int {
	n := 0
	for _, p := range m.Params() {
		n += p.Value.Numel()
	}
	return n
}
