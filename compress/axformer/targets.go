package axformer

import (
	"fmt"

	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/encoder"
	"github.com/loomml/loom/nn"
)

// slots is what both targets edit: per layer, a getter and setter of
// the attention and FFN slots.
type slots struct {
	n     int
	attn  func(l int) *nn.Mixer
	ffn   func(l int) *nn.FFN
	dense []nn.Mixer // the original attention of each layer
}

func (s *slots) NumLayers() int { return s.n }

func (s *slots) Present(u Unit) bool {
	switch u.Kind {
	case AttentionBlock:
		return *s.attn(u.Layer) != nil
	case FFNBlock:
		return *s.ffn(u.Layer) != nil
	}
	return *s.attn(u.Layer) != nil || *s.ffn(u.Layer) != nil
}

func (s *slots) Remove(u Unit) (func(), error) {
	if u.Layer < 0 || u.Layer >= s.n {
		return nil, fmt.Errorf("axformer: layer %d out of range [0, %d)", u.Layer, s.n)
	}
	a, f := s.attn(u.Layer), s.ffn(u.Layer)
	oa, of := *a, *f
	switch u.Kind {
	case AttentionBlock:
		*a = nil
	case FFNBlock:
		*f = nil
	case WholeLayer:
		*a, *f = nil, nil
	default:
		return nil, fmt.Errorf("axformer: unknown element kind %d", int(u.Kind))
	}
	return func() { *a, *f = oa, of }, nil
}

func (s *slots) SetTopK(l, k int) error {
	if l < 0 || l >= s.n {
		return fmt.Errorf("axformer: layer %d out of range [0, %d)", l, s.n)
	}
	a := s.attn(l)
	if *a == nil {
		return fmt.Errorf("axformer: layer %d has no attention", l)
	}
	if k == 0 {
		*a = s.dense[l]
		return nil
	}
	inner, ok := s.dense[l].(*nn.Attention)
	if !ok {
		return fmt.Errorf("axformer: layer %d's attention is a %T; top-k needs nn.Attention", l, s.dense[l])
	}
	t, err := NewTopK(inner, k)
	if err != nil {
		return err
	}
	*a = t
	return nil
}

// NewEncoder makes m's layers the target: an encoder.Layer computes
// neither a nil Attn nor a nil FFN (nor their residuals and norms), so the
// target edits the model's own layers. Layers that are not encoder.Layer
// (deep prompts) are an error.
func NewEncoder(m *encoder.Model) (Target, error) {
	ls := make([]*encoder.Layer, len(m.Layers))
	s := &slots{n: len(m.Layers)}
	for i, b := range m.Layers {
		l, ok := b.(*encoder.Layer)
		if !ok {
			return nil, fmt.Errorf("axformer: encoder layer %d is a %T; AxFormer prunes plain encoder layers", i, b)
		}
		ls[i] = l
		s.dense = append(s.dense, l.Attn)
	}
	s.attn = func(l int) *nn.Mixer { return &ls[l].Attn }
	s.ffn = func(l int) *nn.FFN { return &ls[l].FFN }
	return s, nil
}

// NewDecoder makes m's PreNorm blocks the target (a nil sublayer is the
// decoder's own removed sublayer; a layer with both removed computes
// nothing). Other layouts are an error.
func NewDecoder(m *decoder.Model) (Target, error) {
	bs := make([]*decoder.PreNorm, len(m.Layers))
	s := &slots{n: len(m.Layers)}
	for i, b := range m.Layers {
		p, ok := b.(*decoder.PreNorm)
		if !ok {
			return nil, fmt.Errorf("axformer: decoder layer %d is a %T; AxFormer prunes PreNorm (Llama/GPT-2) blocks", i, b)
		}
		bs[i] = p
		s.dense = append(s.dense, p.Attn)
	}
	s.attn = func(l int) *nn.Mixer { return &bs[l].Attn }
	s.ffn = func(l int) *nn.FFN { return &bs[l].FFN }
	return s, nil
}
