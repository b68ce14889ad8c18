package decoder

import (
	"fmt"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// Model is a decoder-only transformer language model. Its parameters carry
// Hugging Face Llama names (model.embed_tokens.weight, model.layers.N.…,
// model.norm.weight, lm_head.weight).
type Model struct {
	Config    *Config
	Embed     *nn.Embedding // model.embed_tokens
	Positions *nn.Embedding // model.embed_positions (learned positions only)
	Layers    []Block       // model.layers.N
	Norm      nn.Norm       // model.norm
	Head      *nn.Linear    // lm_head (nil when tied to Embed)
}

// New builds a model from a validated config with weights drawn from
// N(0, initializer_range²) by a generator seeded with seed (norm gains 1,
// biases 0).
func New(c *Config, seed uint64) (*Model, error) {
	return build(c, nn.Init{RNG: tensor.NewRNG(seed), Std: c.InitializerRange})
}

// build makes c's model with weights from init.
func build(c *Config, init nn.Init) (*Model, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	m := &Model{Config: c, Embed: nn.NewEmbedding("model.embed_tokens", c.VocabSize, c.HiddenSize, init)}
	if c.PositionsName() == "learned" {
		m.Positions = nn.NewEmbedding("model.embed_positions", c.MaxPositionEmbeddings, c.HiddenSize, init)
	}
	for i := range c.NumHiddenLayers {
		b, err := newBlock(Parts{Config: c, Layer: i, Prefix: fmt.Sprintf("model.layers.%d", i), Init: init})
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
		m.Layers = append(m.Layers, b)
	}
	norm, err := nn.NewNorm(c.NormName(), nn.NormConfig{Prefix: "model.norm", Dim: c.HiddenSize, Eps: c.RMSNormEps, Bias: c.Loom.NormBias})
	if err != nil {
		return nil, err
	}
	m.Norm = norm
	if !c.TieWordEmbeddings {
		m.Head = nn.NewLinear("lm_head", c.HiddenSize, c.VocabSize, false, init)
	}
	return m, nil
}

// Params returns every parameter in checkpoint order.
func (m *Model) Params() []*autograd.Var {
	ps := nn.Collect(m.Embed)
	if m.Positions != nil {
		ps = append(ps, m.Positions.Params()...)
	}
	for _, b := range m.Layers {
		ps = append(ps, b.Params()...)
	}
	ps = append(ps, m.Norm.Params()...)
	if m.Head != nil {
		ps = append(ps, m.Head.Params()...)
	}
	return ps
}

// NumParams returns the number of parameters (tied embeddings counted once).
func (m *Model) NumParams() int { return autograd.NumParams(m.Params()) }

// Hidden runs the embedding and every layer on ids [B·T] (row-major [B, T])
// starting at position pos, and returns the final-normed hidden states
// [B, T, D]. caches (one per layer, or nil) make it incremental.
func (m *Model) Hidden(ids []int, B, T, pos int, caches []*nn.KVCache) *autograd.Var {
	if len(ids) != B*T {
		panic(fmt.Sprintf("decoder: %d ids for batch %d × %d", len(ids), B, T))
	}
	if pos+T > m.Config.MaxPositionEmbeddings && m.Positions != nil {
		panic(fmt.Sprintf("decoder: positions up to %d exceed max_position_embeddings %d", pos+T, m.Config.MaxPositionEmbeddings))
	}
	x := m.Embeddings(ids, B, T, pos)
	for i, b := range m.Layers {
		var c *nn.KVCache
		if caches != nil {
			c = caches[i]
		}
		x = b.Forward(x, pos, c)
	}
	return m.Norm.Forward(x)
}

// Embeddings returns the residual stream entering layer 0 for ids [B·T]
// at positions pos…pos+T−1: token embeddings (plus learned positions)
// [B, T, D].
func (m *Model) Embeddings(ids []int, B, T, pos int) *autograd.Var {
	x := m.Embed.Forward(ids, B, T) // [B, T, D]
	if m.Positions != nil {
		p := autograd.Slice(m.Positions.Weight, 0, pos, pos+T) // [T, D]
		x = autograd.Add(x, p)
	}
	return x
}

// Logits maps hidden states [..., D] to next-token logits [..., V].
func (m *Model) Logits(h *autograd.Var) *autograd.Var {
	if m.Head != nil {
		return m.Head.Forward(h)
	}
	return autograd.MatMul(h, m.Embed.Weight, false, true)
}

// Forward returns the logits [B, T, V] for ids [B·T].
func (m *Model) Forward(ids []int, B, T, pos int, caches []*nn.KVCache) *autograd.Var {
	return m.Logits(m.Hidden(ids, B, T, pos, caches))
}

// Loss returns the mean next-token cross-entropy of ids [B·T] against
// targets [B·T] (IgnoreIndex entries do not count).
func (m *Model) Loss(ids, targets []int, B, T int) *autograd.Var {
	logits := m.Forward(ids, B, T, 0, nil)
	return autograd.CrossEntropy(autograd.Reshape(logits, B*T, m.Config.VocabSize), targets, autograd.IgnoreIndex, 0)
}

// NewKVCaches returns one cache per layer for batch b and capacity
// positions.
func (m *Model) NewKVCaches(b, capacity int) []*nn.KVCache {
	out := make([]*nn.KVCache, len(m.Layers))
	for i, l := range m.Layers {
		out[i] = l.NewKVCache(b, capacity)
	}
	return out
}

// MaxPositions returns the longest context the model supports.
func (m *Model) MaxPositions() int { return m.Config.MaxPositionEmbeddings }
