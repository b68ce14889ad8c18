package encoder

import (
	"fmt"
	"strconv"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// IgnoreIndex marks a position without a masked-language-model target, as
// transformers' labels do.
const IgnoreIndex = -100

// Batch is one batch for an encoder. Text rows are token ids, audio rows
// filterbank features; Embeds, when set, are tokens made by another front
// end (a point-cloud tokenizer, say) and bypass the embeddings.
type Batch struct {
	B, T int
	// IDs are B×T token ids, row-major, padded on the right.
	IDs []int
	// Lengths are the valid tokens of each row (nil: all T).
	Lengths []int
	// Features are [B, max_length, num_mel_bins] normalised filterbank
	// frames (AST).
	Features *tensor.Tensor
	// Embeds are [B, T, hidden_size] input tokens, positions included.
	Embeds *autograd.Var
	// Labels are each row's class (classification heads).
	Labels []int
	// Targets are each row's value (regression heads).
	Targets []float32
	// MLMLabels are B×T tokens to predict, IgnoreIndex elsewhere.
	MLMLabels []int
}

// Block is one encoder layer [B, T, D] → [B, T, D], or a module wrapping
// one (deep prompts).
type Block interface {
	nn.Module
	Forward(ctx *nn.Ctx, x *autograd.Var) *autograd.Var
}

// Layer is a Transformer encoder layer: BERT's post-norm
//
//	a = AttnNorm(x + Dropout(Attn(x)));  y = FFNNorm(a + Dropout(FFN(a)))
//
// or ViT's (AST's) pre-norm
//
//	a = x + Dropout(Attn(AttnNorm(x)));  y = a + Dropout(FFN(FFNNorm(a))).
//
// Attention is bidirectional; Attn and FFN are interface fields so
// parameter-efficient methods replace them (nn.ReplaceAll).
type Layer struct {
	Attn              nn.Mixer
	FFN               nn.FFN
	AttnNorm, FFNNorm nn.Norm
	Pre               bool
	Dropout           float64
}

// Forward maps x [B, T, D] to [B, T, D]. A nil Attn or FFN is a removed
// sublayer (AxFormer's pruning, compress/axformer): it is not computed, and
// its residual and its norm go with it; with both nil the layer is the
// identity.
func (l *Layer) Forward(ctx *nn.Ctx, x *autograd.Var) *autograd.Var {
	if l.Attn != nil {
		if l.Pre {
			x = autograd.Add(x, ctx.Dropout(l.Attn.Forward(ctx, l.AttnNorm.Forward(x)), l.Dropout))
		} else {
			x = l.AttnNorm.Forward(autograd.Add(x, ctx.Dropout(l.Attn.Forward(ctx, x), l.Dropout)))
		}
	}
	if l.FFN != nil {
		if l.Pre {
			x = autograd.Add(x, ctx.Dropout(nn.ApplyFFN(ctx, l.FFN, l.FFNNorm.Forward(x)), l.Dropout))
		} else {
			x = l.FFNNorm.Forward(autograd.Add(x, ctx.Dropout(nn.ApplyFFN(ctx, l.FFN, x), l.Dropout)))
		}
	}
	return x
}

// Params returns the parameters of the sublayers present: the attention's
// and its norm's, the FFN's and its norm's.
func (l *Layer) Params() []*autograd.Var {
	var ps []*autograd.Var
	if l.Attn != nil {
		ps = append(ps, nn.Collect(l.Attn, l.AttnNorm)...)
	}
	if l.FFN != nil {
		ps = append(ps, nn.Collect(l.FFN, l.FFNNorm)...)
	}
	return ps
}

// Embeddings turn a batch's inputs into [B, T, D] tokens with positions.
type Embeddings interface {
	nn.Module
	Forward(ctx *nn.Ctx, b *Batch) *autograd.Var
}

// Pooler is BERT's pooler: tanh(Dense(h[:, 0])).
type Pooler struct{ Dense *nn.Linear }

// Forward maps h [B, T, D] to [B, D].
func (p *Pooler) Forward(h *autograd.Var) *autograd.Var {
	return autograd.Tanh(p.Dense.Forward(autograd.Squeeze(autograd.Slice(h, 1, 0, 1), 1)))
}

// Params returns the dense layer's parameters.
func (p *Pooler) Params() []*autograd.Var { return p.Dense.Params() }

// Head maps the encoder's output to a task's outputs.
type Head interface {
	nn.Module
	// Forward maps the final hidden states h [B, T, D] and the pooled
	// output [B, D] to logits: [B, labels] or [B, T, vocab].
	Forward(ctx *nn.Ctx, h, pooled *autograd.Var) *autograd.Var
}

// headKind says which head an architecture has.
type headKind int

const (
	headNone headKind = iota
	headClassifier
	headMLM
)

func (c *Config) head() headKind {
	switch c.Architecture() {
	case BertForSequenceClassification, ASTForAudioClassification:
		return headClassifier
	case BertForMaskedLM:
		return headMLM
	}
	return headNone
}

// Model is a Transformer encoder with Hugging Face's names: a BERT
// (BertModel, BertForSequenceClassification, BertForMaskedLM) or an Audio
// Spectrogram Transformer (ASTModel, ASTForAudioClassification).
type Model struct {
	Config *Config
	Embed  Embeddings
	Layers []Block
	// Norm is the final LayerNorm (AST; nil for BERT).
	Norm nn.Norm
	// Pooler is BERT's (nil for the MLM model and for AST).
	Pooler *Pooler
	// Head is the task head (nil for the base models).
	Head Head
}

// base returns the checkpoint prefix of the base model's parameters.
func (c *Config) base() string {
	switch c.Architecture() {
	case BertModel, ASTModel:
		return ""
	case BertForSequenceClassification, BertForMaskedLM:
		return "bert"
	}
	return "audio_spectrogram_transformer"
}

// New builds a model from c with weights drawn as transformers' _init_weights
// draws them (normal with initializer_range; norms one, biases zero), from
// seed.
func New(c *Config, seed uint64) (*Model, error) {
	init := nn.Init{RNG: tensor.NewRNG(seed), Std: c.InitializerRange}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	base, D := c.base(), c.HiddenSize
	m := &Model{Config: c}
	ast := c.ModelType == TypeAST
	if ast {
		m.Embed = newPatchEmbeddings(c, nn.Join(base, "embeddings"), init)
	} else {
		m.Embed = newTextEmbeddings(c, nn.Join(base, "embeddings"), init)
	}
	names := [4]string{"self.query", "self.key", "self.value", "output.dense"}
	if ast {
		names = [4]string{"attention.query", "attention.key", "attention.value", "output.dense"}
	}
	for i := range c.NumHiddenLayers {
		p := nn.Join(base, "encoder.layer", strconv.Itoa(i))
		attn, err := nn.NewAttention(nn.AttentionConfig{Prefix: nn.Join(p, "attention"), Dim: D, Heads: c.HeadsAt(i), HeadDim: c.HeadDim(),
			Bias: true, Kind: nn.Bidirectional, Dropout: c.AttentionProbsDropoutProb, Names: names, Layer: i, Init: init})
		if err != nil {
			return nil, err
		}
		act, err := nn.NewActivation(c.HiddenAct, nn.ActivationConfig{Prefix: nn.Join(p, "intermediate.act"), Dim: c.IntermediateSizeAt(i), Init: init})
		if err != nil {
			return nil, err
		}
		ffn := &nn.MLP{Up: nn.NewLinear(nn.Join(p, "intermediate.dense"), D, c.IntermediateSizeAt(i), true, init),
			Down: nn.NewLinear(nn.Join(p, "output.dense"), c.IntermediateSizeAt(i), D, true, init), Act: act}
		l := &Layer{Attn: attn, FFN: ffn, Dropout: c.HiddenDropoutProb, Pre: ast}
		if ast {
			l.AttnNorm = nn.NewLayerNorm(nn.Join(p, "layernorm_before"), D, c.LayerNormEps, true)
			l.FFNNorm = nn.NewLayerNorm(nn.Join(p, "layernorm_after"), D, c.LayerNormEps, true)
		} else {
			l.AttnNorm = nn.NewLayerNorm(nn.Join(p, "attention.output.LayerNorm"), D, c.LayerNormEps, true)
			l.FFNNorm = nn.NewLayerNorm(nn.Join(p, "output.LayerNorm"), D, c.LayerNormEps, true)
		}
		m.Layers = append(m.Layers, l)
	}
	if ast {
		m.Norm = nn.NewLayerNorm(nn.Join(base, "layernorm"), D, c.LayerNormEps, true)
	} else if c.head() != headMLM {
		m.Pooler = &Pooler{Dense: nn.NewLinear(nn.Join(base, "pooler.dense"), D, D, true, init)}
	}
	switch c.head() {
	case headClassifier:
		drop := c.HiddenDropoutProb
		if c.ClassifierDropout != nil {
			drop = *c.ClassifierDropout
		}
		h := &Classifier{Dropout: drop}
		if ast {
			h.Norm = nn.NewLayerNorm("classifier.layernorm", D, c.LayerNormEps, true)
			h.Dense = nn.NewLinear("classifier.dense", D, c.NumLabels(), true, init)
		} else {
			h.Dense = nn.NewLinear("classifier", D, c.NumLabels(), true, init)
		}
		m.Head = h
	case headMLM:
		act, err := nn.NewActivation(c.HiddenAct, nn.ActivationConfig{Prefix: "cls.predictions.transform.act", Dim: D, Init: init})
		if err != nil {
			return nil, err
		}
		m.Head = &MLMHead{
			Transform: nn.NewLinear("cls.predictions.transform.dense", D, D, true, init),
			Act:       act,
			Norm:      nn.NewLayerNorm("cls.predictions.transform.LayerNorm", D, c.LayerNormEps, true),
			Bias:      autograd.NewParam("cls.predictions.bias", autograd.RoleBias, tensor.Zeros(c.VocabSize)),
			Decoder:   m.Embed.(*TextEmbeddings).Word.Weight,
		}
	}
	if err := m.applyPruning(); err != nil {
		return nil, err
	}
	return m, nil
}

// Params returns every parameter once, in module order.
func (m *Model) Params() []*autograd.Var {
	ps := m.Embed.Params()
	for _, l := range m.Layers {
		ps = append(ps, l.Params()...)
	}
	if m.Norm != nil {
		ps = append(ps, m.Norm.Params()...)
	}
	if m.Pooler != nil {
		ps = append(ps, m.Pooler.Params()...)
	}
	if m.Head != nil {
		ps = append(ps, m.Head.Params()...)
	}
	return ps
}

// withMask returns ctx with b's padding as the attention's key lengths.
func withMask(ctx *nn.Ctx, b *Batch) *nn.Ctx {
	if b.Lengths == nil {
		return ctx
	}
	c := nn.Ctx{}
	if ctx != nil {
		c = *ctx
	}
	c.Mask.KeyLengths = b.Lengths
	return &c
}

// Encode returns the final hidden states [B, T, D] of b.
func (m *Model) Encode(ctx *nn.Ctx, b *Batch) *autograd.Var {
	x := b.Embeds
	if x == nil {
		x = m.Embed.Forward(ctx, b)
	}
	return m.EncodeEmbeds(withMask(ctx, b), x)
}

// EncodeEmbeds runs the layers (and the final norm) on tokens x [B, T, D].
func (m *Model) EncodeEmbeds(ctx *nn.Ctx, x *autograd.Var) *autograd.Var {
	for _, l := range m.Layers {
		x = l.Forward(ctx, x)
	}
	if m.Norm != nil {
		x = m.Norm.Forward(x)
	}
	return x
}

// Pool returns the pooled output [B, D] of hidden states h [B, T, D]:
// BERT's pooler on the first token, or the mean of AST's two special
// tokens (ASTModel's pooler_output).
func (m *Model) Pool(h *autograd.Var) *autograd.Var {
	if m.Pooler != nil {
		return m.Pooler.Forward(h)
	}
	if m.Config.ModelType == TypeAST {
		return autograd.MulScalar(autograd.Sum(autograd.Slice(h, 1, 0, 2), false, 1), 0.5)
	}
	return autograd.Squeeze(autograd.Slice(h, 1, 0, 1), 1)
}

// Logits returns the head's outputs for b: [B, labels] for a
// classification or regression head, [B, T, vocab] for the MLM head.
func (m *Model) Logits(ctx *nn.Ctx, b *Batch) *autograd.Var {
	if m.Head == nil {
		panic("encoder: " + m.Config.Architecture() + " has no task head")
	}
	h := m.Encode(ctx, b)
	return m.Head.Forward(ctx, h, m.Pool(h))
}

// Loss is the task's objective on b: cross-entropy on the labels
// (classification), mean squared error on the targets (regression), or
// cross-entropy on the masked tokens (MLM).
func (m *Model) Loss(ctx *nn.Ctx, b Batch) *autograd.Var {
	logits := m.Logits(ctx, &b)
	switch {
	case m.Config.head() == headMLM:
		V := logits.Dim(2)
		return autograd.CrossEntropy(autograd.Reshape(logits, b.B*b.T, V), b.MLMLabels, IgnoreIndex, 0)
	case m.Config.Regression():
		return autograd.MSELoss(logits, autograd.Const(tensor.FromFloat32(b.Targets, b.B, 1)))
	}
	return autograd.CrossEntropy(logits, b.Labels, IgnoreIndex, 0)
}

// Classifier is a classification or regression head on the pooled output:
// BERT's Dropout → Dense (classifier), or AST's LayerNorm → Dense
// (classifier.layernorm, classifier.dense).
type Classifier struct {
	Norm    nn.Norm // nil for BERT
	Dense   *nn.Linear
	Dropout float64
}

// Forward maps pooled [B, D] to [B, labels].
func (c *Classifier) Forward(ctx *nn.Ctx, _, pooled *autograd.Var) *autograd.Var {
	x := pooled
	if c.Norm != nil {
		x = c.Norm.Forward(x)
	}
	return c.Dense.Forward(ctx.Dropout(x, c.Dropout))
}

// Params returns the norm's and the dense layer's parameters.
func (c *Classifier) Params() []*autograd.Var {
	if c.Norm == nil {
		return c.Dense.Params()
	}
	return nn.Collect(c.Norm, c.Dense)
}

// MLMHead is BERT's masked-language-model head (BertOnlyMLMHead): Dense →
// activation → LayerNorm, then the word embeddings transposed (tied) plus
// a bias.
type MLMHead struct {
	Transform *nn.Linear
	Act       nn.Activation
	Norm      nn.Norm
	Bias      *autograd.Var
	// Decoder is the word-embedding table [V, D] (tied; not among Params).
	Decoder *autograd.Var
}

// Forward maps h [B, T, D] to [B, T, V].
func (h *MLMHead) Forward(_ *nn.Ctx, x, _ *autograd.Var) *autograd.Var {
	t := h.Norm.Forward(h.Act.Apply(h.Transform.Forward(x)))
	return autograd.Linear(t, h.Decoder, h.Bias)
}

// Params returns the transform's, the norm's and the bias.
func (h *MLMHead) Params() []*autograd.Var {
	return append(nn.Collect(h.Transform, h.Act, h.Norm), h.Bias)
}

// String describes the model.
func (m *Model) String() string {
	c := m.Config
	heads, ffn := fmt.Sprint(c.NumAttentionHeads), fmt.Sprint(c.IntermediateSize)
	if c.Loom.AttentionHeads != nil {
		heads = fmt.Sprint(c.Loom.AttentionHeads)
	}
	if c.Loom.IntermediateSizes != nil {
		ffn = fmt.Sprint(c.Loom.IntermediateSizes)
	}
	return fmt.Sprintf("%s: %d layers, hidden %d, %s heads, FFN %s, %d parameters", c.Architecture(), c.NumHiddenLayers,
		c.HiddenSize, heads, ffn, autograd.NumParams(m.Params()))
}

// SublayerNames are the Go paths of a layer's attention and FFN, where
// parameter-efficient methods put adapters (petl.Sublayers).
func (m *Model) SublayerNames() (attn, ffn string) { return "Attn", "FFN" }

// PromptAfter is the number of leading special tokens deep prompts follow
// (petl.PromptModel): BERT's [CLS], AST's CLS and distillation tokens.
func (m *Model) PromptAfter() int {
	if m.Config.ModelType == TypeAST {
		return 2
	}
	return 1
}

// TaskHeadParams are the parameters of a classification or regression head
// and, for BERT, the pooler under it (petl.TaskHead): new to a pre-trained
// base model, they train with every parameter-efficient method and are
// saved with the adapter (PEFT's modules_to_save). nil for models without
// such a head.
func (m *Model) TaskHeadParams() []*autograd.Var {
	if m.Config.head() != headClassifier {
		return nil
	}
	var ps []*autograd.Var
	if m.Pooler != nil {
		ps = m.Pooler.Params()
	}
	return append(ps, m.Head.Params()...)
}
