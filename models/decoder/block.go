package decoder

import (
	"cmp"
	"math"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/internal/registry"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// Attention is the token-mixing sublayer of a block (causal).
type Attention = nn.Mixer

// Block is one layer of the decoder: a layout of attention, feed-forward
// and norm parts.
type Block interface {
	nn.Module
	// Forward maps the residual stream x [B, T, D] through the layer.
	Forward(ctx *nn.Ctx, x *autograd.Var) *autograd.Var
	// NewKVCache returns this layer's key/value store (nil when it has no
	// attention).
	NewKVCache(batch, capacity int) nn.KVCache
}

// Parts are what a layout assembles a block from; NewParts builds them from
// the config for layer i.
type Parts struct {
	Config *Config
	Layer  int
	Prefix string // "model.layers.<i>"
	Init   nn.Init
}

// Attention builds the layer's attention: the one registered under
// loom.attention ("mha", multi-head self-attention, by default).
func (p Parts) Attention() (Attention, error) {
	a, err := attentions.Get(p.Config.AttentionName())
	if err != nil {
		return nil, err
	}
	return a.build(p)
}

// part is a registered attention or layout: how to build it, and the
// export formats that can hold a model built with it.
type part[T any] struct {
	build   func(Parts) (T, error)
	formats []Format
}

var attentions = registry.New[part[Attention]]("loom.attention")

// RegisterAttention makes an attention selectable as loom.attention; the
// formats are those an export of a model using it may be written in.
func RegisterAttention(name string, build func(Parts) (Attention, error), formats ...Format) {
	attentions.Register(name, part[Attention]{build, formats})
}

// AttentionNames lists the registered attentions.
func AttentionNames() []string { return attentions.Names() }

// selfAttention builds multi-head (grouped-query) self-attention with HF
// Llama's names.
func selfAttention(p Parts) (Attention, error) {
	c := p.Config
	a, err := nn.NewAttention(nn.AttentionConfig{
		Prefix: nn.Join(p.Prefix, "self_attn"), Dim: c.HiddenSize, Heads: c.HeadsAt(p.Layer),
		KVHeads: c.KVHeadsAt(p.Layer), HeadDim: c.HeadDimOrDefault(), Bias: c.AttentionBias, QKVBias: c.QKVBias(),
		RopeTheta: c.RopeThetaAt(p.Layer), RopeInvFreq: c.RopeInvFreqAt(p.Layer), Window: c.WindowAt(p.Layer), Layer: p.Layer,
		QKNorm: c.QKNorm(), QKNormEps: c.RMSNormEps, RopeVariant: c.RopeVariant(), Scale: c.AttentionScale(),
		Softcap: deref(c.AttnLogitSoftcapping),
		Init:    p.layerInit("attn"),
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// RopeInvFreq returns the rotary frequencies with rope_scaling applied
// (nil when there is none), as transformers computes them.
func (c *Config) RopeInvFreq() []float32 {
	r := c.RopeScaling
	if r == nil || c.PositionsName() != "rope" || r.Kind() == "" || r.Kind() == "default" {
		return nil
	}
	f := tensor.RopeInvFreq(c.RotaryDim(), c.RopeTheta)
	switch r.Kind() {
	case "longrope":
		return longropeFreq(f, r.ShortFactor)
	case "linear":
		for i := range f {
			f[i] = float32(float64(f[i]) / r.Factor)
		}
	case "llama3":
		old := float64(r.OriginalMaxPositionEmbeddings)
		lowWave, highWave := old/r.LowFreqFactor, old/r.HighFreqFactor
		for i, v := range f {
			inv := float64(v)
			wave := 2 * math.Pi / inv
			switch {
			case wave < highWave: // high frequencies are kept
			case wave > lowWave: // low frequencies are divided by the factor
				inv /= r.Factor
			default: // in between, interpolated smoothly
				smooth := (old/wave - r.LowFreqFactor) / (r.HighFreqFactor - r.LowFreqFactor)
				inv = (1-smooth)*inv/r.Factor + smooth*inv
			}
			f[i] = float32(inv)
		}
	}
	return f
}

// longropeFreq divides frequencies f by LongRoPE's factors ext, as
// transformers' _compute_longrope_parameters: 1/(ext·base^(2i/d)).
func longropeFreq(f []float32, ext []float64) []float32 {
	out := make([]float32, len(f))
	for i, v := range f {
		out[i] = float32(float64(v) / ext[i])
	}
	return out
}

// RopeVariant returns the rotary choices beyond the frequencies: the
// rotary dim of partial_rotary_factor, and for "longrope" the long
// frequencies, the context after which they apply (the top-level
// original_max_position_embeddings, else max_position_embeddings) and the
// attention factor (rope_scaling.attention_factor, else
// √(1 + ln s / ln original) for the extension s = max/original when s > 1),
// as transformers' _compute_longrope_parameters.
func (c *Config) RopeVariant() nn.RopeVariant {
	v := nn.RopeVariant{}
	if c.PositionsName() != "rope" {
		return v
	}
	if d := c.RotaryDim(); d != c.HeadDimOrDefault() {
		v.RotaryDim = d
	}
	r := c.RopeScaling
	if r == nil || r.Kind() != "longrope" {
		return v
	}
	original := cmp.Or(c.OriginalMaxPositionEmbeddings, r.OriginalMaxPositionEmbeddings)
	factor := r.Factor
	if original > 0 {
		factor = float64(c.MaxPositionEmbeddings) / float64(original)
	} else {
		original = c.MaxPositionEmbeddings
	}
	v.Scale = 1
	switch {
	case r.AttentionFactor != nil:
		v.Scale = *r.AttentionFactor
	case factor > 1:
		v.Scale = math.Sqrt(1 + math.Log(factor)/math.Log(float64(original)))
	}
	v.LongInvFreq = longropeFreq(tensor.RopeInvFreq(c.RotaryDim(), c.RopeTheta), r.LongFactor)
	v.LongAfter = original
	return v
}

// local reports whether layer i takes rope_local_base_freq without
// scaling (Gemma 3's sliding-window layers).
func (c *Config) local(i int) bool { return c.RopeLocalBaseFreq > 0 && c.Sliding(i) }

// RopeThetaAt returns layer i's rotary base (0: no rotary embeddings).
func (c *Config) RopeThetaAt(i int) float64 {
	switch {
	case c.PositionsName() != "rope":
		return 0
	case c.local(i):
		return c.RopeLocalBaseFreq
	}
	return c.RopeTheta
}

// RopeInvFreqAt returns layer i's rotary frequencies when rope_scaling
// changes them (nil otherwise): RopeInvFreq, except in Gemma 3's local
// layers, which are not scaled (Gemma3RotaryEmbedding of
// rope_local_base_freq, rope_type default).
func (c *Config) RopeInvFreqAt(i int) []float32 {
	if c.local(i) {
		return nil
	}
	return c.RopeInvFreq()
}

// deref returns *p, or 0 for nil.
func deref(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

// AttentionScale returns the score scale when it is not head_dim^-0.5
// (query_pre_attn_scalar^-0.5), else 0.
func (c *Config) AttentionScale() float64 {
	if c.MuP() {
		return c.muPAttentionScale()
	}
	if c.QueryPreAttnScalar > 0 {
		return 1 / math.Sqrt(c.QueryPreAttnScalar)
	}
	return 0
}

// FFN builds a feed-forward network of the given inner width named
// <prefix>.<name> ("mlp" in Llama), nested when loom.matformer is set, a
// mixture of experts of the config's expert width in a mixture's sparse
// layers (moe.go).
func (p Parts) FFN(name string, hidden int) (nn.FFN, error) {
	c := p.Config
	fc := nn.FFNConfig{
		Prefix: nn.Join(p.Prefix, name), Dim: c.HiddenSize, Hidden: hidden,
		Act: c.HiddenAct, Bias: c.MLPBias, Init: p.layerInit("ffn"), Tau: c.Loom.TokenFormer.tau().FFN,
	}
	if c.MoEAt(p.Layer) {
		fc.Hidden, fc.MoE = c.ExpertSize(), c.MoESpec()
		return nn.NewFFN("moe", fc)
	}
	f, err := nn.NewFFN(c.FFNName(), fc)
	if err != nil || c.Loom.MatFormer == nil {
		return f, err
	}
	return nn.NewNested(f) // MatFormer (matformer.go)
}

// Norm builds a norm named <prefix>.<name>.
func (p Parts) Norm(name string) (nn.Norm, error) {
	c := p.Config
	return nn.NewNorm(c.NormName(), nn.NormConfig{Prefix: nn.Join(p.Prefix, name), Dim: c.HiddenSize, Eps: c.RMSNormEps, Bias: c.Loom.NormBias})
}

var layouts = registry.New[part[Block]]("loom.layout")

// RegisterLayout makes a block layout selectable as loom.layout; the
// formats are those an export of a model using it may be written in (none:
// loom's own checkpoints only).
func RegisterLayout(name string, build func(Parts) (Block, error), formats ...Format) {
	layouts.Register(name, part[Block]{build, formats})
}

// LayoutNames lists the registered layouts.
func LayoutNames() []string { return layouts.Names() }

func newBlock(p Parts) (Block, error) {
	l, err := layouts.Get(p.Config.LayoutName())
	if err != nil {
		return nil, err
	}
	return l.build(p)
}

// PreNorm is the Llama / GPT-2 block: x += Attn(Norm x); x += FFN(Norm x).
// A nil Attn or FFN is a removed sublayer: its residual branch is skipped.
type PreNorm struct {
	AttnNorm nn.Norm
	Attn     Attention
	FFNNorm  nn.Norm
	FFN      nn.FFN
}

// Forward applies the block.
func (b *PreNorm) Forward(ctx *nn.Ctx, x *autograd.Var) *autograd.Var {
	return b.ForwardSkipping(ctx, x, "")
}

// NewKVCache returns the attention's store.
func (b *PreNorm) NewKVCache(batch, capacity int) nn.KVCache {
	if b.Attn == nil {
		return nil
	}
	return b.Attn.NewKVCache(batch, capacity)
}

// Params returns the block's parameters in checkpoint order.
func (b *PreNorm) Params() []*autograd.Var {
	var out []*autograd.Var
	if b.Attn != nil {
		out = append(out, nn.Collect(b.AttnNorm, b.Attn)...)
	}
	if b.FFN != nil {
		out = append(out, nn.Collect(b.FFNNorm, b.FFN)...)
	}
	return out
}

func init() {
	RegisterAttention("mha", selfAttention, HF, GGUF)
	RegisterLayout("prenorm", func(p Parts) (Block, error) {
		b := &PreNorm{}
		var err error
		if p.Present(SublayerAttention) {
			if b.AttnNorm, err = p.Norm("input_layernorm"); err != nil {
				return nil, err
			}
			if b.Attn, err = p.Attention(); err != nil {
				return nil, err
			}
		}
		if p.Present(SublayerFFN) {
			if b.FFNNorm, err = p.Norm("post_attention_layernorm"); err != nil {
				return nil, err
			}
			if b.FFN, err = p.FFN("mlp", p.Config.IntermediateSizeAt(p.Layer)); err != nil {
				return nil, err
			}
		}
		return b, nil
	}, HF, GGUF)
}
