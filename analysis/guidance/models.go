package guidance

import (
	"fmt"
	"math"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// Input is one batch of inputs: features X [B, in] for the MLPs, or token
// ids (B sequences of T, row-major) for the sequence models.
type Input struct {
	X    *tensor.Tensor
	IDs  []int
	B, T int
	// Train selects training behaviour (batch statistics, dropout); the
	// guide and evaluation run without it.
	Train bool
}

// Model is a network of either family: Forward returns the logits ([B, C],
// or [B, T, V] for sequences) and the representations guidance aligns, in
// order from the input (Layers of them).
type Model interface {
	Forward(in Input) (logits *autograd.Var, reps []*autograd.Var, err error)
	Params() []*autograd.Var
	Layers() int
}

// Every layer is PyTorch's default nn.Linear (uniform ±1/√fan_in), as the
// paper's PyTorch models get.

// PlainMLP is the deep fully connected target: depth hidden layers without
// residual connections, each Linear → [BatchNorm] → ReLU → [dropout], then
// a linear head. With BatchNorm and dropout 0.1 it is the paper's deep FCN
// (imagenet-comparison/mlp.py, ImageNetNarrowMLP) at small scale; without
// them a bare ReLU stack. Its representations are the hidden Linear
// layers' outputs (before normalisation): rep_sim hooks every nn.Linear and
// drops the last one (the head).
type PlainMLP struct {
	Hidden  []*nn.Linear
	Norms   []*nn.BatchNorm1d // nil without BatchNorm
	Head    *nn.Linear
	Dropout float64
	in      int
	rng     *tensor.RNG
}

// MLPOptions are the plain MLP's optional layers.
type MLPOptions struct {
	BatchNorm bool
	Dropout   float64 // in [0, 1)
}

// NewPlainMLP returns a plain MLP in → width (×depth) → classes.
func NewPlainMLP(in, width, depth, classes int, opt MLPOptions, seed uint64) (*PlainMLP, error) {
	if in < 1 || width < 1 || depth < 1 || classes < 2 {
		return nil, fmt.Errorf("guidance: plain MLP in %d, width %d, depth %d, classes %d; want in, width, depth ≥ 1 and classes ≥ 2", in, width, depth, classes)
	}
	if opt.Dropout < 0 || opt.Dropout >= 1 {
		return nil, fmt.Errorf("guidance: plain MLP dropout %g, want [0, 1)", opt.Dropout)
	}
	rng := tensor.NewRNG(seed)
	m := &PlainMLP{in: in, Dropout: opt.Dropout, rng: tensor.NewRNG(seed ^ 0x9e3779b97f4a7c15)}
	d := in
	for i := range depth {
		m.Hidden = append(m.Hidden, nn.NewTorchLinear(fmt.Sprintf("hidden.%d", i), d, width, true, rng))
		if opt.BatchNorm {
			m.Norms = append(m.Norms, nn.NewBatchNorm1d(fmt.Sprintf("norm.%d", i), width))
		}
		d = width
	}
	m.Head = nn.NewTorchLinear("head", d, classes, true, rng)
	return m, nil
}

func checkFeatures(in Input, want int) error {
	if in.X == nil || in.X.NDim() != 2 || in.X.Dim(1) != want {
		var shape []int
		if in.X != nil {
			shape = in.X.Shape()
		}
		return fmt.Errorf("guidance: MLP input of shape %v, want [B, %d]", shape, want)
	}
	return nil
}

// Forward runs the MLP on in.X [B, in].
func (m *PlainMLP) Forward(in Input) (*autograd.Var, []*autograd.Var, error) {
	if err := checkFeatures(in, m.in); err != nil {
		return nil, nil, err
	}
	h := autograd.Const(in.X)
	reps := make([]*autograd.Var, 0, len(m.Hidden))
	ctx := &nn.Ctx{Train: in.Train}
	for i, l := range m.Hidden {
		z := l.Forward(h)
		reps = append(reps, z)
		if m.Norms != nil {
			z = m.Norms[i].Forward(ctx, z)
		}
		h = autograd.Relu(z)
		if in.Train && m.Dropout > 0 {
			h = autograd.Dropout(h, m.Dropout, m.rng)
		}
	}
	return m.Head.Forward(h), reps, nil
}

// Params returns every weight and bias.
func (m *PlainMLP) Params() []*autograd.Var {
	var ps []*autograd.Var
	for i, l := range m.Hidden {
		ps = append(ps, l.Params()...)
		if m.Norms != nil {
			ps = append(ps, m.Norms[i].Params()...)
		}
	}
	return append(ps, m.Head.Params()...)
}

// Layers is the number of hidden layers.
func (m *PlainMLP) Layers() int { return len(m.Hidden) }

// ResidualMLP is the guide of the image family: a stem Linear+ReLU, then
// blocks h ← ReLU(h + W₂ ReLU(W₁ h)) (a fully connected ResNet basic
// block without normalisation), then a linear head. Its representations
// are, as rep_sim's hooks give them, every Linear's output but the head's:
// the stem's, then each block's W₁ and W₂ outputs (1 + 2·blocks).
type ResidualMLP struct {
	Stem   *nn.Linear
	Blocks [][2]*nn.Linear
	Head   *nn.Linear
	in     int
}

// NewResidualMLP returns a residual MLP in → width → blocks → classes.
func NewResidualMLP(in, width, blocks, classes int, seed uint64) (*ResidualMLP, error) {
	if in < 1 || width < 1 || blocks < 0 || classes < 2 {
		return nil, fmt.Errorf("guidance: residual MLP in %d, width %d, blocks %d, classes %d; want in, width ≥ 1, blocks ≥ 0 and classes ≥ 2", in, width, blocks, classes)
	}
	rng := tensor.NewRNG(seed)
	m := &ResidualMLP{in: in, Stem: nn.NewTorchLinear("stem", in, width, true, rng)}
	for i := range blocks {
		m.Blocks = append(m.Blocks, [2]*nn.Linear{
			nn.NewTorchLinear(fmt.Sprintf("block.%d.fc1", i), width, width, true, rng),
			nn.NewTorchLinear(fmt.Sprintf("block.%d.fc2", i), width, width, true, rng),
		})
	}
	m.Head = nn.NewTorchLinear("head", width, classes, true, rng)
	return m, nil
}

// Forward runs the residual MLP on in.X [B, in].
func (m *ResidualMLP) Forward(in Input) (*autograd.Var, []*autograd.Var, error) {
	if err := checkFeatures(in, m.in); err != nil {
		return nil, nil, err
	}
	z := m.Stem.Forward(autograd.Const(in.X))
	reps := []*autograd.Var{z}
	h := autograd.Relu(z)
	for _, b := range m.Blocks {
		u := b[0].Forward(h)
		v := b[1].Forward(autograd.Relu(u))
		reps = append(reps, u, v)
		h = autograd.Relu(autograd.Add(h, v))
	}
	return m.Head.Forward(h), reps, nil
}

// Params returns every weight and bias.
func (m *ResidualMLP) Params() []*autograd.Var {
	ps := m.Stem.Params()
	for _, b := range m.Blocks {
		ps = append(ps, b[0].Params()...)
		ps = append(ps, b[1].Params()...)
	}
	return append(ps, m.Head.Params()...)
}

// Layers is 1 + 2·blocks.
func (m *ResidualMLP) Layers() int { return 1 + 2*len(m.Blocks) }

func checkTokens(in Input, vocab int) error {
	if in.B < 1 || in.T < 1 || len(in.IDs) != in.B*in.T {
		return fmt.Errorf("guidance: %d token ids for B = %d, T = %d", len(in.IDs), in.B, in.T)
	}
	for _, id := range in.IDs {
		if id < 0 || id >= vocab {
			return fmt.Errorf("guidance: token %d outside the vocabulary of %d", id, vocab)
		}
	}
	return nil
}

// RNN is the vanilla recurrent target of the sequence family (rep_sim's
// RNNLM with nn.RNN, tanh): an embedding, stacked single-layer RNNs
// h_t = tanh(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh) from h_0 = 0, and a
// linear head on the last layer's outputs. Its representations are each
// RNN layer's output sequence [B, T, H] (rep_sim keeps nn.RNN's first
// output).
type RNN struct {
	Embed  *nn.Embedding
	Cells  []RNNCell
	Head   *nn.Linear
	vocab  int
	hidden int
}

// RNNCell is one tanh RNN layer (PyTorch's nn.RNN parameters and init:
// uniform ±1/√hidden).
type RNNCell struct {
	IH, HH *nn.Linear
}

// NewRNN returns a vanilla RNN language model.
func NewRNN(vocab, embed, hidden, layers int, seed uint64) (*RNN, error) {
	if vocab < 2 || embed < 1 || hidden < 1 || layers < 1 {
		return nil, fmt.Errorf("guidance: RNN vocab %d, embed %d, hidden %d, layers %d; want vocab ≥ 2 and the rest ≥ 1", vocab, embed, hidden, layers)
	}
	rng := tensor.NewRNG(seed)
	m := &RNN{vocab: vocab, hidden: hidden, Embed: nn.NewEmbedding("embed", vocab, embed, nn.Init{RNG: rng, Std: 1})}
	b := 1 / math.Sqrt(float64(hidden))
	d := embed
	for i := range layers {
		m.Cells = append(m.Cells, RNNCell{
			IH: uniformLinear(fmt.Sprintf("rnn.%d.ih", i), d, hidden, b, rng),
			HH: uniformLinear(fmt.Sprintf("rnn.%d.hh", i), hidden, hidden, b, rng),
		})
		d = hidden
	}
	m.Head = nn.NewTorchLinear("head", hidden, vocab, true, rng)
	return m, nil
}

func uniformLinear(prefix string, in, out int, b float64, rng *tensor.RNG) *nn.Linear {
	return &nn.Linear{
		Weight: autograd.NewParam(nn.Join(prefix, "weight"), autograd.RoleMatrix, tensor.Uniform(rng, -b, b, out, in)),
		Bias:   autograd.NewParam(nn.Join(prefix, "bias"), autograd.RoleBias, tensor.Uniform(rng, -b, b, out)),
	}
}

// Forward runs the RNN over in.IDs (B sequences of T).
func (m *RNN) Forward(in Input) (*autograd.Var, []*autograd.Var, error) {
	if err := checkTokens(in, m.vocab); err != nil {
		return nil, nil, err
	}
	B, T := in.B, in.T
	x := m.Embed.Forward(in.IDs, B, T)
	reps := make([]*autograd.Var, 0, len(m.Cells))
	for _, c := range m.Cells {
		pre := c.IH.Forward(x) // [B, T, H]
		var h *autograd.Var
		steps := make([]*autograd.Var, T)
		for t := range T {
			z := autograd.Reshape(autograd.Slice(pre, 1, t, t+1), B, m.hidden)
			if h == nil {
				z = autograd.Add(z, c.HH.Bias) // W_hh h_0 = 0
			} else {
				z = autograd.Add(z, c.HH.Forward(h))
			}
			h = autograd.Tanh(z)
			steps[t] = autograd.Unsqueeze(h, 1)
		}
		x = autograd.Concat(1, steps...)
		reps = append(reps, x)
	}
	return m.Head.Forward(x), reps, nil
}

// Params returns every parameter.
func (m *RNN) Params() []*autograd.Var {
	ps := m.Embed.Params()
	for _, c := range m.Cells {
		ps = append(ps, c.IH.Params()...)
		ps = append(ps, c.HH.Params()...)
	}
	return append(ps, m.Head.Params()...)
}

// Layers is the number of RNN layers.
func (m *RNN) Layers() int { return len(m.Cells) }

// Transformer is the guide of the sequence family: token and learned
// position embeddings, pre-norm causal blocks x ← x + Attn(LN(x)),
// x ← x + FFN(LN(x)) (ReLU, hidden 2·dim), a final LayerNorm and a linear
// head. Its representations are the blocks' outputs [B, T, D] (the paper's
// guide hooks its nn.TransformerDecoderLayer outputs).
type Transformer struct {
	Embed, Pos *nn.Embedding
	Blocks     []TransformerBlock
	Norm       *nn.LayerNorm
	Head       *nn.Linear
	vocab      int
	maxLen     int
}

// TransformerBlock is one pre-norm block.
type TransformerBlock struct {
	LN1, LN2 *nn.LayerNorm
	Attn     *nn.Attention
	FC1, FC2 *nn.Linear
}

// NewTransformer returns a causal Transformer of blocks blocks of width
// dim (heads must divide it) for sequences of at most maxLen tokens.
func NewTransformer(vocab, dim, heads, blocks, maxLen int, seed uint64) (*Transformer, error) {
	if vocab < 2 || dim < 1 || heads < 1 || blocks < 1 || maxLen < 1 || dim%heads != 0 {
		return nil, fmt.Errorf("guidance: Transformer vocab %d, dim %d, heads %d, blocks %d, max length %d; want vocab ≥ 2, heads dividing dim and the rest ≥ 1", vocab, dim, heads, blocks, maxLen)
	}
	rng := tensor.NewRNG(seed)
	init := nn.Init{RNG: rng, Std: 1}
	m := &Transformer{vocab: vocab, maxLen: maxLen,
		Embed: nn.NewEmbedding("embed", vocab, dim, init), Pos: nn.NewEmbedding("pos", maxLen, dim, init)}
	for i := range blocks {
		p := fmt.Sprintf("block.%d", i)
		attn, err := nn.NewAttention(nn.AttentionConfig{Prefix: p + ".attn", Dim: dim, Heads: heads, Bias: true, Kind: nn.Causal, Init: nn.TorchInit(rng)})
		if err != nil {
			return nil, err
		}
		m.Blocks = append(m.Blocks, TransformerBlock{
			LN1: nn.NewLayerNorm(p+".ln1", dim, 1e-5, true), LN2: nn.NewLayerNorm(p+".ln2", dim, 1e-5, true), Attn: attn,
			FC1: nn.NewTorchLinear(p+".fc1", dim, 2*dim, true, rng), FC2: nn.NewTorchLinear(p+".fc2", 2*dim, dim, true, rng),
		})
	}
	m.Norm = nn.NewLayerNorm("norm", dim, 1e-5, true)
	m.Head = nn.NewTorchLinear("head", dim, vocab, true, rng)
	return m, nil
}

// Forward runs the Transformer over in.IDs (B sequences of T ≤ maxLen).
func (m *Transformer) Forward(in Input) (*autograd.Var, []*autograd.Var, error) {
	if err := checkTokens(in, m.vocab); err != nil {
		return nil, nil, err
	}
	if in.T > m.maxLen {
		return nil, nil, fmt.Errorf("guidance: sequences of %d tokens, the Transformer takes at most %d", in.T, m.maxLen)
	}
	pos := make([]int, in.T)
	for i := range pos {
		pos[i] = i
	}
	x := autograd.Add(m.Embed.Forward(in.IDs, in.B, in.T), m.Pos.Forward(pos, 1, in.T))
	reps := make([]*autograd.Var, 0, len(m.Blocks))
	for _, b := range m.Blocks {
		x = autograd.Add(x, b.Attn.Forward(nil, b.LN1.Forward(x)))
		x = autograd.Add(x, b.FC2.Forward(autograd.Relu(b.FC1.Forward(b.LN2.Forward(x)))))
		reps = append(reps, x)
	}
	return m.Head.Forward(m.Norm.Forward(x)), reps, nil
}

// Params returns every parameter.
func (m *Transformer) Params() []*autograd.Var {
	ps := append(m.Embed.Params(), m.Pos.Params()...)
	for _, b := range m.Blocks {
		ps = append(ps, nn.Collect(b.LN1, b.Attn, b.LN2, b.FC1, b.FC2)...)
	}
	return append(ps, nn.Collect(m.Norm, m.Head)...)
}

// Layers is the number of blocks.
func (m *Transformer) Layers() int { return len(m.Blocks) }
