package structured

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/encoder"
	"github.com/loomml/loom/nn"
)

// Encoders. A BERT encoder (post-norm LayerNorm layers with biases,
// absolute positions, pooler and task head) prunes its heads, FFN neurons
// and layers as a decoder does: config.json records what each layer keeps
// (loom.attention_heads, loom.intermediate_sizes, loom.removed, the
// decoder's keys) and the smaller model saves, loads and runs as any
// other. Hidden dims are not removable: LayerNorm's mean and variance over
// fewer dims are not what masking them computes (unlike RMSNorm's, the
// mean subtraction mixes every dim into every other), so they stay.
// A layer that keeps no head (no neuron) loses its attention (FFN)
// sublayer with its residual and its norm, as loom.removed records.

const errEncoderHidden = "an encoder's hidden dims are not removable (LayerNorm's mean and variance over fewer dims are not masking); prune heads, neurons and layers"

// encoderTarget returns a BERT encoder's structures, or an error naming
// what this package cannot prune (AST, deep prompts).
func encoderTarget(m *encoder.Model) (*target, error) {
	c := m.Config
	if c.ModelType != encoder.TypeBERT {
		return nil, fmt.Errorf("structured: model_type %q: encoders are pruned by structure when they are BERT (post-norm text encoders)", c.ModelType)
	}
	s := Shape{Layers: c.NumHiddenLayers, Heads: c.NumAttentionHeads, HeadDim: c.HeadDim(), Hidden: c.HiddenSize, Encoder: true}
	for i, b := range m.Layers {
		l, ok := b.(*encoder.Layer)
		if !ok {
			return nil, fmt.Errorf("structured: encoder layer %d is a %T (deep prompts?), not an encoder.Layer", i, b)
		}
		if l.Attn != nil {
			if _, err := innerAttention(l, i); err != nil {
				return nil, err
			}
		}
		if _, ok := l.FFN.(*nn.MLP); l.FFN != nil && !ok {
			return nil, fmt.Errorf("structured: encoder layer %d's FFN is a %T, not an nn.MLP", i, l.FFN)
		}
		s.Neurons = append(s.Neurons, c.IntermediateSizeAt(i))
		s.HasAttn = append(s.HasAttn, l.Attn != nil)
		s.HasFFN = append(s.HasFFN, l.FFN != nil)
		s.HeadsAt = append(s.HeadsAt, c.HeadsAt(i))
	}
	return &target{s: s, enc: m, layout: func(name string, shape []int) (layout, error) { return encoderLayout(name, shape, s.Neurons) }}, nil
}

// innerAttention returns layer i's nn.Attention (inside top-k attention).
func innerAttention(l *encoder.Layer, i int) (*nn.Attention, error) {
	switch a := l.Attn.(type) {
	case *nn.Attention:
		return a, nil
	case *nn.TopKAttention:
		return a.Inner, nil
	}
	return nil, fmt.Errorf("structured: encoder layer %d's attention is a %T, not an nn.Attention", i, l.Attn)
}

// encoderLayout classifies a BERT parameter by its Hugging Face name
// (bert. prefix optional): the embeddings, pooler and heads are outside
// the layers and keep every value.
func encoderLayout(name string, shape []int, neurons []int) (layout, error) {
	rest, ok := strings.CutPrefix(strings.TrimPrefix(name, "bert."), "encoder.layer.")
	if !ok {
		return layout{layer: -1, axes: make([]axis, len(shape))}, nil
	}
	num, rest, _ := strings.Cut(rest, ".")
	l, err := strconv.Atoi(num)
	if err != nil || l < 0 || l >= len(neurons) {
		return layout{}, fmt.Errorf("structured: parameter %s: bad layer", name)
	}
	const attn, ffn = decoder.SublayerAttention, decoder.SublayerFFN
	lay := layout{layer: l, axes: make([]axis, len(shape))}
	switch rest {
	case "attention.self.query.weight", "attention.self.key.weight", "attention.self.value.weight":
		lay.sub, lay.axes = attn, []axis{axHead, axNone}
	case "attention.self.query.bias", "attention.self.key.bias", "attention.self.value.bias":
		lay.sub, lay.axes = attn, []axis{axHead}
	case "attention.output.dense.weight":
		lay.sub, lay.axes = attn, []axis{axNone, axHead}
	case "attention.output.dense.bias", "attention.output.LayerNorm.weight", "attention.output.LayerNorm.bias":
		lay.sub, lay.axes = attn, []axis{axNone}
	case "intermediate.dense.weight":
		lay.sub, lay.axes = ffn, []axis{axNeuron, axNone}
	case "intermediate.dense.bias":
		lay.sub, lay.axes = ffn, []axis{axNeuron}
	case "output.dense.weight":
		lay.sub, lay.axes = ffn, []axis{axNone, axNeuron}
	case "output.dense.bias", "output.LayerNorm.weight", "output.LayerNorm.bias":
		lay.sub, lay.axes = ffn, []axis{axNone}
	default:
		if !strings.HasPrefix(rest, "intermediate.act.") {
			return layout{}, fmt.Errorf("structured: parameter %s is not one this package knows how to prune", name)
		}
		// A learnable activation's per-neuron parameters.
		lay.sub = ffn
		if len(shape) > 0 && shape[len(shape)-1] == neurons[l] && neurons[l] > 1 {
			lay.axes[len(shape)-1] = axNeuron
		}
	}
	if len(lay.axes) != len(shape) {
		return layout{}, fmt.Errorf("structured: parameter %s has shape %v, unexpected", name, shape)
	}
	return lay, nil
}

// skipSublayers removes from m's layers the sublayers k does not keep.
func skipSublayers(m *encoder.Model, k *Mask) {
	for i, b := range m.Layers {
		l := b.(*encoder.Layer) // encoderTarget checked
		if !k.attn(i) {
			l.Attn = nil
		}
		if !k.ffn(i) {
			l.FFN = nil
		}
	}
}

// encoderHooks puts recorders on an encoder's attention output and FFN
// output projections.
func encoderHooks(m *encoder.Model) ([]hook, error) {
	var hooks []hook
	for i, b := range m.Layers {
		l := b.(*encoder.Layer) // encoderTarget checked
		if l.Attn != nil {
			a, err := innerAttention(l, i)
			if err != nil {
				return hooks, err
			}
			hooks = hookAttn(hooks, a, i)
		}
		if l.FFN != nil {
			hooks = hookMLP(hooks, l.FFN.(*nn.MLP), i)
		}
	}
	return hooks, nil
}

// RemoveEncoder returns the smaller encoder that computes what m masked
// by k (Apply) computes; m is unchanged. Its config records each layer's
// heads and FFN width and the removed sublayers; a layer's top-k
// attention stays with its attention.
func RemoveEncoder(m *encoder.Model, k *Mask) (*encoder.Model, error) {
	t, err := encoderTarget(m)
	if err != nil {
		return nil, err
	}
	s := t.s
	if err := k.check(s); err != nil {
		return nil, err
	}
	c := *m.Config
	c.Loom.Removed = &encoder.Removed{}
	heads := make([]int, s.Layers)
	widths := make([]int, s.Layers)
	topk := make([]int, s.Layers)
	sameHeads, sameWidths, anyK := true, true, false
	for i := range s.Layers {
		heads[i], widths[i] = s.Heads, s.Neurons[i]
		if k.attn(i) {
			heads[i] = count(k.Heads[i])
			if a, ok := m.Layers[i].(*encoder.Layer).Attn.(*nn.TopKAttention); ok {
				topk[i], anyK = a.K, true
			}
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
	c.Loom.AttentionHeads, c.Loom.IntermediateSizes, c.Loom.AttentionTopK = nil, nil, nil
	if !sameHeads {
		c.Loom.AttentionHeads = heads
	}
	if !sameWidths {
		c.Loom.IntermediateSizes = widths
	}
	if anyK {
		c.Loom.AttentionTopK = topk
	}
	if c.Loom.Removed.Count() == 0 {
		c.Loom.Removed = nil
	}
	out, err := encoder.New(&c, 0)
	if err != nil {
		return nil, fmt.Errorf("structured: the pruned config: %w", err)
	}
	if err := fillPruned(out.Params(), m.Params(), k, s.HeadDim, t.layout, nil); err != nil {
		return nil, err
	}
	return out, nil
}
