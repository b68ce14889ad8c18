// Package prose is PROSE, "Predicting Operators and Symbolic Expressions
// using Multimodal Transformers" (Liu et al., arXiv
// 2309.16816; code felix-lyx/prose): from 64 samples of an ODE trajectory
// on t ∈ [0, 2) and, optionally, a (possibly noisy) symbolic skeleton of
// its equations, a multimodal transformer predicts the trajectory at any
// later time and writes the equations with their constants.
//
// The model has PROSE's five parts: a data encoder over (t, u) samples, a
// symbol encoder over the skeleton's Polish-notation tokens, a fusion
// encoder over both (with modality embeddings), a data decoder whose
// queries are arbitrary times t that attend to the fused features
// (cross-attention only, PROSE's default data_decoder_attn = false), and an
// autoregressive symbolic decoder (causal self-attention plus
// cross-attention to the fused features) that writes the full expression,
// constants as sign/mantissa/exponent tokens. A data-only model (no symbol
// input, no symbolic decoder) is the baseline.
package prose

import (
	"fmt"
	"math"
	"strconv"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// Special tokens.
const (
	PAD = "<pad>"
	BOS = "<bos>"
	EOS = "<eos>"
)

// Vocab maps the expression language's tokens to ids.
type Vocab struct {
	Tokens []string
	ID     map[string]int
}

// NewVocab returns the fixed vocabulary: specials, Sep, Placeholder,
// operators, variables u_0…u_{dim−1}, signs, mantissas N000…N999 and
// exponents E−10…E10.
func NewVocab(dim int) *Vocab {
	v := &Vocab{ID: map[string]int{}}
	add := func(t string) { v.ID[t] = len(v.Tokens); v.Tokens = append(v.Tokens, t) }
	for _, t := range []string{PAD, BOS, EOS, Sep, Placeholder, "add", "sub", "mul", "sin", "cos", "+", "-"} {
		add(t)
	}
	for i := range dim {
		add("u_" + strconv.Itoa(i))
	}
	for m := range 1000 {
		add(fmt.Sprintf("N%03d", m))
	}
	for e := -MaxExponent; e <= MaxExponent; e++ {
		add("E" + strconv.Itoa(e))
	}
	return v
}

// Encode maps tokens to ids; an unknown token is an error.
func (v *Vocab) Encode(toks []string) ([]int, error) {
	ids := make([]int, len(toks))
	for i, t := range toks {
		id, ok := v.ID[t]
		if !ok {
			return nil, fmt.Errorf("prose: token %q not in the vocabulary", t)
		}
		ids[i] = id
	}
	return ids, nil
}

// Config sizes a model.
type Config struct {
	Dim, Heads, Hidden int // width, attention heads, feed-forward width
	DataLayers         int // data encoder
	SymbolLayers       int // symbol encoder (and symbolic decoder)
	FusionLayers       int
	DecoderLayers      int  // data decoder
	Symbols            bool // PROSE (data + symbols); false: the data-only baseline
	StateDim           int  // ODE state dimension
	MaxSymbol          int  // longest symbol input / output sequence
}

// Validate names the first bad field.
func (c Config) Validate() error {
	for _, f := range []struct {
		name string
		v    int
	}{{"Dim", c.Dim}, {"Heads", c.Heads}, {"Hidden", c.Hidden}, {"DataLayers", c.DataLayers}, {"FusionLayers", c.FusionLayers}, {"DecoderLayers", c.DecoderLayers}, {"StateDim", c.StateDim}, {"MaxSymbol", c.MaxSymbol}} {
		if f.v < 1 {
			return fmt.Errorf("prose: Config.%s = %d, want at least 1", f.name, f.v)
		}
	}
	if c.Dim%c.Heads != 0 {
		return fmt.Errorf("prose: Config.Dim = %d is not a multiple of Heads = %d", c.Dim, c.Heads)
	}
	if c.Symbols && c.SymbolLayers < 1 {
		return fmt.Errorf("prose: Config.SymbolLayers = %d, want at least 1 with Symbols", c.SymbolLayers)
	}
	return nil
}

type ffn struct{ up, down *nn.Linear }

func (f *ffn) forward(x *autograd.Var) *autograd.Var {
	return f.down.Forward(autograd.Gelu(f.up.Forward(x)))
}

// cross is multi-head cross-attention from x [B, T, D] to mem [B, S, D]
// with right-padded memory (memLens[b] valid keys).
type cross struct {
	q, k, v, o *nn.Linear
	heads      int
}

func (a *cross) forward(x, mem *autograd.Var, memLens []int) *autograd.Var {
	B, T, D, S := x.Dim(0), x.Dim(1), x.Dim(2), mem.Dim(1)
	hd := D / a.heads
	split := func(y *autograd.Var, n int) *autograd.Var {
		return autograd.Permute(autograd.Reshape(y, B, n, a.heads, hd), 0, 2, 1, 3)
	}
	q, k, v := split(a.q.Forward(x), T), split(a.k.Forward(mem), S), split(a.v.Forward(mem), S)
	var mask *tensor.Tensor
	if memLens != nil {
		m := make([]float32, B*S)
		for b := range B {
			for s := memLens[b]; s < S; s++ {
				m[b*S+s] = float32(math.Inf(-1))
			}
		}
		mask = tensor.FromFloat32(m, B, 1, 1, S)
	}
	o := autograd.Attention(q, k, v, mask, false, 1/math.Sqrt(float64(hd)))
	o = autograd.Reshape(autograd.Contiguous(autograd.Permute(o, 0, 2, 1, 3)), B, T, D)
	return a.o.Forward(o)
}

// block is a pre-norm transformer layer: optional self-attention, optional
// cross-attention, feed-forward.
type block struct {
	self       *nn.Attention
	cross      *cross
	n1, n2, n3 *nn.LayerNorm
	ff         *ffn
}

func (b *block) forward(ctx *nn.Ctx, x, mem *autograd.Var, memLens []int) *autograd.Var {
	if b.self != nil {
		x = autograd.Add(x, b.self.Forward(ctx, b.n1.Forward(x)))
	}
	if b.cross != nil {
		x = autograd.Add(x, b.cross.forward(b.n2.Forward(x), mem, memLens))
	}
	return autograd.Add(x, b.ff.forward(b.n3.Forward(x)))
}

// Model is PROSE (Config.Symbols) or the data-only baseline.
type Model struct {
	Cfg                                      Config
	Vocab                                    *Vocab
	dataIn                                   *nn.Linear // (t, u) → D
	dataEnc, symEnc, fusion, dataDec, symDec []*block
	symEmb, symPos, outEmb, outPos           *nn.Embedding
	modality                                 *autograd.Var // [2, D]
	query1, query2                           *nn.Linear    // t → D
	dataOut, symOut                          *nn.Linear
	finalData, finalSym                      *nn.LayerNorm
	params                                   []*autograd.Var
}

// New builds a model with weights drawn from seed.
func New(cfg Config, seed uint64) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rng := tensor.NewRNG(seed)
	init := nn.Init{RNG: rng, Std: 0.02}
	D := cfg.Dim
	m := &Model{Cfg: cfg, Vocab: NewVocab(cfg.StateDim)}
	var ps []*autograd.Var
	lin := func(name string, in, out int) *nn.Linear {
		l := nn.NewTorchLinear(name, in, out, true, rng)
		ps = append(ps, l.Params()...)
		return l
	}
	norm := func(name string) *nn.LayerNorm {
		n := nn.NewLayerNorm(name, D, 1e-5, true)
		ps = append(ps, n.Params()...)
		return n
	}
	mk := func(name string, n int, self bool, kind nn.MaskKind, crossAttn bool) ([]*block, error) {
		var bs []*block
		for i := range n {
			p := fmt.Sprintf("%s.%d", name, i)
			b := &block{n1: norm(p + ".n1"), n2: norm(p + ".n2"), n3: norm(p + ".n3"),
				ff: &ffn{up: lin(p+".ff.up", D, cfg.Hidden), down: lin(p+".ff.down", cfg.Hidden, D)}}
			if self {
				a, err := nn.NewAttention(nn.AttentionConfig{Prefix: p + ".self", Dim: D, Heads: cfg.Heads, Bias: true, Kind: kind, Init: nn.TorchInit(rng)})
				if err != nil {
					return nil, err
				}
				b.self = a
				ps = append(ps, a.Params()...)
			}
			if crossAttn {
				b.cross = &cross{q: lin(p+".x.q", D, D), k: lin(p+".x.k", D, D), v: lin(p+".x.v", D, D), o: lin(p+".x.o", D, D), heads: cfg.Heads}
			}
			bs = append(bs, b)
		}
		return bs, nil
	}
	var err error
	m.dataIn = lin("data.in", 1+cfg.StateDim, D)
	if m.dataEnc, err = mk("data.enc", cfg.DataLayers, true, nn.Bidirectional, false); err != nil {
		return nil, err
	}
	if m.fusion, err = mk("fusion", cfg.FusionLayers, true, nn.Bidirectional, false); err != nil {
		return nil, err
	}
	m.query1, m.query2 = lin("query.1", 1, D), lin("query.2", D, D)
	if m.dataDec, err = mk("data.dec", cfg.DecoderLayers, false, nn.Bidirectional, true); err != nil {
		return nil, err
	}
	m.finalData = norm("data.final")
	m.dataOut = lin("data.out", D, cfg.StateDim)
	m.modality = autograd.NewParam("modality", autograd.RoleEmbedding, tensor.Normal(rng, 0, 0.02, 2, D))
	ps = append(ps, m.modality)
	if cfg.Symbols {
		V := len(m.Vocab.Tokens)
		emb := func(name string, n int) *nn.Embedding {
			e := nn.NewEmbedding(name, n, D, init)
			ps = append(ps, e.Params()...)
			return e
		}
		m.symEmb, m.symPos = emb("sym.emb", V), emb("sym.pos", cfg.MaxSymbol)
		m.outEmb, m.outPos = emb("out.emb", V), emb("out.pos", cfg.MaxSymbol+1)
		if m.symEnc, err = mk("sym.enc", cfg.SymbolLayers, true, nn.Bidirectional, false); err != nil {
			return nil, err
		}
		if m.symDec, err = mk("sym.dec", cfg.SymbolLayers, true, nn.Causal, true); err != nil {
			return nil, err
		}
		m.finalSym = norm("sym.final")
		m.symOut = lin("sym.out", D, V)
	}
	m.params = ps
	return m, nil
}

// Params returns the trainable parameters.
func (m *Model) Params() []*autograd.Var { return m.params }

// NumParams counts the scalars.
func (m *Model) NumParams() int {
	n := 0
	for _, p := range m.params {
		n += p.Value.Numel()
	}
	return n
}

// Batch is a model input. Data holds B×NIn rows of (t, u_0, …) already
// normalised; Queries the B×NOut query times; Symbols the symbol-input ids
// (right-padded with PAD, SymLens valid lengths; nil for the data-only
// model).
type Batch struct {
	B, NIn, NOut int
	Data         []float32 // [B, NIn, 1+StateDim]
	Queries      []float32 // [B, NOut]
	Symbols      []int     // [B, SymLen]
	SymLen       int
	SymLens      []int
}

// encode returns the fused features [B, S, D] and their valid lengths.
func (m *Model) encode(ctx *nn.Ctx, in *Batch) (*autograd.Var, []int) {
	D, B := m.Cfg.Dim, in.B
	x := m.dataIn.Forward(autograd.Const(tensor.FromFloat32(in.Data, B, in.NIn, 1+m.Cfg.StateDim)))
	plain := &nn.Ctx{Train: ctx.Train}
	for _, b := range m.dataEnc {
		x = b.forward(plain, x, nil, nil)
	}
	x = autograd.Add(x, autograd.Reshape(autograd.Slice(m.modality, 0, 0, 1), 1, 1, D))
	lens := make([]int, B)
	for i := range lens {
		lens[i] = in.NIn
	}
	if m.Cfg.Symbols && in.Symbols != nil {
		pos := make([]int, B*in.SymLen)
		for i := range pos {
			pos[i] = i % in.SymLen
		}
		s := autograd.Add(m.symEmb.Forward(in.Symbols, B, in.SymLen), m.symPos.Forward(pos, B, in.SymLen))
		sctx := &nn.Ctx{Train: ctx.Train, Mask: nn.Mask{KeyLengths: in.SymLens}}
		for _, b := range m.symEnc {
			s = b.forward(sctx, s, nil, nil)
		}
		s = autograd.Add(s, autograd.Reshape(autograd.Slice(m.modality, 0, 1, 2), 1, 1, D))
		x = autograd.Concat(1, x, s)
		for i := range lens {
			lens[i] = in.NIn + in.SymLens[i]
		}
	}
	fctx := &nn.Ctx{Train: ctx.Train, Mask: nn.Mask{KeyLengths: lens}}
	for _, b := range m.fusion {
		x = b.forward(fctx, x, nil, nil)
	}
	return x, lens
}

// Forward returns the predicted (normalised) states [B, NOut, StateDim] at
// the query times, and the fused features for the symbolic decoder.
func (m *Model) Forward(ctx *nn.Ctx, in *Batch) (pred, fused *autograd.Var, lens []int) {
	fused, lens = m.encode(ctx, in)
	q := autograd.Const(tensor.FromFloat32(in.Queries, in.B, in.NOut, 1))
	x := m.query2.Forward(autograd.Gelu(m.query1.Forward(q)))
	for _, b := range m.dataDec {
		x = b.forward(ctx, x, fused, lens)
	}
	return m.dataOut.Forward(m.finalData.Forward(x)), fused, lens
}

// SymbolLogits runs the symbolic decoder on prefixes ids [B, T] (starting
// with BOS) and returns logits [B, T, V].
func (m *Model) SymbolLogits(ctx *nn.Ctx, fused *autograd.Var, lens []int, ids []int, B, T int) *autograd.Var {
	pos := make([]int, B*T)
	for i := range pos {
		pos[i] = i % T
	}
	x := autograd.Add(m.outEmb.Forward(ids, B, T), m.outPos.Forward(pos, B, T))
	dctx := &nn.Ctx{Train: ctx.Train}
	for _, b := range m.symDec {
		x = b.forward(dctx, x, fused, lens)
	}
	return m.symOut.Forward(m.finalSym.Forward(x))
}

// Greedy decodes up to maxLen tokens for every row and returns the token
// strings of each (without BOS and EOS).
func (m *Model) Greedy(fused *autograd.Var, lens []int, B, maxLen int) [][]string {
	ids := make([][]int, B)
	done := make([]bool, B)
	for b := range ids {
		ids[b] = []int{m.Vocab.ID[BOS]}
	}
	V := len(m.Vocab.Tokens)
	for T := 1; T <= maxLen; T++ {
		flat := make([]int, 0, B*T)
		for b := range ids {
			flat = append(flat, ids[b]...)
		}
		logits := m.SymbolLogits(&nn.Ctx{}, fused, lens, flat, B, T).Value.Contiguous().F32()
		all := true
		for b := range B {
			next := m.Vocab.ID[PAD]
			if !done[b] {
				row := logits[(b*T+T-1)*V : (b*T+T)*V]
				best := math.Inf(-1)
				for j, v := range row {
					if j != m.Vocab.ID[PAD] && j != m.Vocab.ID[BOS] && float64(v) > best {
						best, next = float64(v), j
					}
				}
				if next == m.Vocab.ID[EOS] {
					done[b] = true
				}
			}
			ids[b] = append(ids[b], next)
			all = all && done[b]
		}
		if all {
			break
		}
	}
	out := make([][]string, B)
	for b := range ids {
		for _, id := range ids[b][1:] {
			if id == m.Vocab.ID[EOS] || id == m.Vocab.ID[PAD] {
				break
			}
			out[b] = append(out[b], m.Vocab.Tokens[id])
		}
	}
	return out
}

func tensorOf(x []float32, shape []int) *tensor.Tensor { return tensor.FromFloat32(x, shape...) }
