package decoder

import (
	"fmt"
	"math"
	"slices"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/data"
	"github.com/loomml/loom/dtype"
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

	tied *nn.Linear // the tied head's packed form (PackWeights)
}

// New builds a model from a validated config with weights drawn from
// N(0, initializer_range²) by a generator seeded with seed (norm gains 1,
// biases 0).
func New(c *Config, seed uint64) (*Model, error) {
	return Build(c, nn.Init{RNG: tensor.NewRNG(seed), Std: c.InitializerRange})
}

// Build makes c's model with weights from init; with init.Empty the weight
// matrices are storage-less placeholders for a loader to fill.
func Build(c *Config, init nn.Init) (*Model, error) {
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
		m.Head.Weight.Role = autograd.RoleHead
	}
	if err := shareLayers(m); err != nil { // WideNet, ALBERT (share.go)
		return nil, err
	}
	applyMuP(m)  // mup.go
	attachSSA(m) // ssa.go
	return m, nil
}

// ReadoutParams are the parameters of the output layer, which a linear
// probe trains (petl.Readout): lm_head, or the embedding table it is tied
// to.
func (m *Model) ReadoutParams() []*autograd.Var {
	if m.Head != nil {
		return m.Head.Params()
	}
	return m.Embed.Params()
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
	if m.Config.Loom.Share != "" {
		ps = uniqueParams(ps) // layers sharing layer 0's modules (share.go)
	}
	return ps
}

// NumParams returns the number of parameters (tied embeddings counted once).
func (m *Model) NumParams() int { return autograd.NumParams(m.Params()) }

// NonEmbeddingParams returns the parameters left without the token and
// position embeddings and an untied output head (Kaplan et al.'s N).
func (m *Model) NonEmbeddingParams() int {
	emb := autograd.NumParams(m.Embed.Params())
	if m.Positions != nil {
		emb += autograd.NumParams(m.Positions.Params())
	}
	if m.Head != nil {
		emb += autograd.NumParams(m.Head.Params())
	}
	return m.NumParams() - emb
}

// Hidden runs the embedding and every layer on ids [B·T] (row-major
// [B, T]) starting at position ctx.Pos, and returns the final-normed hidden
// states [B, T, D]. With ctx.Cache it is incremental. With ctx.Positions
// the rows are separate sequences, one token each (T = 1), row b at
// position ctx.Positions[b] with its own cache in an nn.SeqCaches (each a
// NewCache(1, capacity)): one decode step of continuous batching; with
// ctx.Lengths as well, ids [1·T] are several tokens of each sequence in
// turn (nn.Ctx.RowLayout): prompt chunks and decode tokens in one pass.
func (m *Model) Hidden(ctx *nn.Ctx, ids []int, B, T int) *autograd.Var {
	if len(ids) != B*T {
		panic(fmt.Sprintf("decoder: %d ids for batch %d × %d", len(ids), B, T))
	}
	pos := ctx.Position()
	if ctx.RowPositions() != nil {
		rows, _ := ctx.RowLayout(B, T)
		pos = slices.Max(rows) + 1 - T
	}
	if pos+T > m.Config.MaxPositionEmbeddings && m.Positions != nil {
		panic(fmt.Sprintf("decoder: positions up to %d exceed max_position_embeddings %d", pos+T, m.Config.MaxPositionEmbeddings))
	}
	x := m.Embeddings(ctx, ids, B, T)
	for _, b := range m.Layers {
		x = b.Forward(ctx, x)
	}
	return m.Norm.Forward(x)
}

// Embeddings returns the residual stream entering layer 0 for ids [B·T]
// at positions ctx.Pos…ctx.Pos+T−1: token embeddings (plus learned
// positions) [B, T, D].
func (m *Model) Embeddings(ctx *nn.Ctx, ids []int, B, T int) *autograd.Var {
	x := m.Embed.Forward(ids, B, T) // [B, T, D]
	if m.Config.arch().embedScale {
		// Gemma3TextScaledWordEmbedding: √hidden_size as a float32.
		x = autograd.MulScalar(x, float64(float32(math.Sqrt(float64(m.Config.HiddenSize)))))
	}
	if ctx.RowPositions() != nil && m.Positions != nil {
		rows, _ := ctx.RowLayout(B, T)
		return autograd.Add(x, autograd.Embedding(m.Positions.Weight, rows, B, T)) // [B, T, D]
	}
	if m.Positions != nil {
		// Gathered rather than sliced: a table held as bf16/f16/q8_0 has
		// no views.
		rows := make([]int, T)
		for i := range rows {
			rows[i] = ctx.Position() + i
		}
		x = autograd.Add(x, autograd.Embedding(m.Positions.Weight, rows, 1, T)) // + [1, T, D]
	}
	return x
}

// Logits maps hidden states [..., D] to next-token logits [..., V],
// soft-capped as c·tanh(x/c) with final_logit_softcapping (Gemma 2).
func (m *Model) Logits(h *autograd.Var) *autograd.Var {
	l := m.logits(h)
	if c := m.Config.FinalLogitSoftcapping; c != nil {
		l = autograd.MulScalar(autograd.Tanh(autograd.MulScalar(l, 1 / *c)), *c)
	}
	return l
}

func (m *Model) logits(h *autograd.Var) *autograd.Var {
	if m.Head != nil {
		l := m.Head.Forward(h)
		if w := m.Config.WidthMult(); w != 1 { // μP's readout multiplier (mup.go)
			l = autograd.MulScalar(l, 1/w)
		}
		return l
	}
	if m.tied != nil && m.tied.Weight == m.Embed.Weight {
		return m.tied.Forward(h)
	}
	return autograd.MatMul(h, m.Embed.Weight, false, true)
}

// ForwardLast returns the logits [B, 1, V] of the last of the T positions
// of each row of ids [B·T], as Forward's would be (a prompt's prefill needs
// no others; the output layer over a large vocabulary is a fifth of the
// work of a 1B model's prefill, and [T, V] logits a quarter of its memory).
func (m *Model) ForwardLast(ctx *nn.Ctx, ids []int, B, T int) *autograd.Var {
	h := m.Hidden(ctx, ids, B, T)
	if T > 1 {
		h = autograd.Slice(h, 1, T-1, T)
	}
	return m.Logits(h)
}

// Forward returns the logits [B, T, V] for ids [B·T].
func (m *Model) Forward(ctx *nn.Ctx, ids []int, B, T int) *autograd.Var {
	return m.Logits(m.Hidden(ctx, ids, B, T))
}

// Loss returns the objective of a batch: the mean next-token
// cross-entropy of b.IDs against b.Targets (IgnoreIndex entries do not
// count), and in training (ctx.Train) the objective the model trains on,
// which for a MatFormer sums the losses at every granularity
// (matformer.go).
func (m *Model) Loss(ctx *nn.Ctx, b data.Batch) *autograd.Var {
	if ctx.Training() && m.Config.Loom.MatFormer != nil {
		return m.matformerLoss(ctx, b)
	}
	return m.crossEntropy(ctx, b)
}

func (m *Model) crossEntropy(ctx *nn.Ctx, b data.Batch) *autograd.Var {
	logits := m.Forward(ctx, b.IDs, b.B, b.T)
	return autograd.CrossEntropy(autograd.Reshape(logits, b.B*b.T, m.Config.VocabSize), b.Targets, autograd.IgnoreIndex, 0)
}

// NewCache returns one key/value store per layer for batch b and capacity
// positions (nil for layers without attention), as nn.KVCaches.
func (m *Model) NewCache(b, capacity int) nn.Cache {
	out := make(nn.KVCaches, len(m.Layers))
	for i, l := range m.Layers {
		out[i] = l.NewKVCache(b, capacity)
	}
	return out
}

// MaxPositions returns the longest context the model supports.
func (m *Model) MaxPositions() int { return m.Config.MaxPositionEmbeddings }

// VocabSize returns the number of token ids.
func (m *Model) VocabSize() int { return m.Config.VocabSize }

// WeightDTypes are the precisions weight matrices can be held in: float32
// for training, the packed types for inference.
var WeightDTypes = []tensor.DType{tensor.Float32, tensor.BFloat16, tensor.Float16, tensor.Q8_0}

// CheckWeightDType returns an error unless dt is one of WeightDTypes.
func CheckWeightDType(dt tensor.DType) error {
	if !slices.Contains(WeightDTypes, dt) {
		return fmt.Errorf("decoder: weights cannot be held as %v (want one of %s)", dt, dtype.Names(WeightDTypes...))
	}
	return nil
}

// WeightDType returns the precision parameter p is held in when the weight
// matrices are asked for as dt: float32 unless its role is a matrix that
// products read (Role.Packable), and for those dt, or f16 where a row is
// not a whole number of dt's blocks (q8_0 rows of 32·k), as llama.cpp's
// converter falls back.
func WeightDType(p *autograd.Var, dt tensor.DType) tensor.DType {
	if !p.Role.Packable() || p.NDim() != 2 || dt == tensor.Float32 {
		return tensor.Float32
	}
	return dt.ForRows(p.Dim(1))
}

// CastWeights converts m's weight matrices to dt in place: tensor.Float32,
// or a low-precision dtype for inference (WeightDType).
func (m *Model) CastWeights(dt tensor.DType) error {
	if err := CheckWeightDType(dt); err != nil {
		return err
	}
	for _, p := range m.Params() {
		if p.Role.Packable() && p.NDim() == 2 {
			p.Value = p.Value.To(WeightDType(p, dt))
		}
	}
	return nil
}
