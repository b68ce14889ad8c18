package forecast

import (
	"strconv"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// encoderLayer is Time-Series-Library's EncoderLayer around FullAttention
// (post-norm):
//
//	x = Norm1(x + Dropout(Attn(x)))
//	y = Dropout(Conv2(Dropout(GELU(Conv1(x)))))
//	x = Norm2(x + y)
//
// Conv1 and Conv2 are kernel-1 convolutions, i.e. position-wise linears
// (stored [out, in]). Attention is bidirectional, with dropout on its
// probabilities.
type encoderLayer struct {
	Attn         *nn.Attention
	Conv1, Conv2 *nn.Linear
	Norm1, Norm2 *nn.LayerNorm
	Dropout      float64
}

func newEncoderLayer(prefix string, c Config, rng *tensor.RNG) (*encoderLayer, error) {
	attn, err := nn.NewAttention(nn.AttentionConfig{Prefix: nn.Join(prefix, "attention"), Dim: c.DModel, Heads: c.Heads,
		Bias: true, Kind: nn.Bidirectional, Dropout: c.Dropout, Init: nn.TorchInit(rng),
		Names: [4]string{"query_projection", "key_projection", "value_projection", "out_projection"}})
	if err != nil {
		return nil, err
	}
	return &encoderLayer{
		Attn:    attn,
		Conv1:   nn.NewTorchLinear(nn.Join(prefix, "conv1"), c.DModel, c.DFF, true, rng),
		Conv2:   nn.NewTorchLinear(nn.Join(prefix, "conv2"), c.DFF, c.DModel, true, rng),
		Norm1:   nn.NewLayerNorm(nn.Join(prefix, "norm1"), c.DModel, 1e-5, true),
		Norm2:   nn.NewLayerNorm(nn.Join(prefix, "norm2"), c.DModel, 1e-5, true),
		Dropout: c.Dropout,
	}, nil
}

func (l *encoderLayer) Params() []*autograd.Var {
	return nn.Collect(l.Attn, l.Conv1, l.Conv2, l.Norm1, l.Norm2)
}

func (l *encoderLayer) Forward(ctx *nn.Ctx, x *autograd.Var) *autograd.Var {
	x = l.Norm1.Forward(autograd.Add(x, ctx.Dropout(l.Attn.Forward(ctx, x), l.Dropout)))
	y := ctx.Dropout(autograd.Gelu(l.Conv1.Forward(x)), l.Dropout)
	y = ctx.Dropout(l.Conv2.Forward(y), l.Dropout)
	return l.Norm2.Forward(autograd.Add(x, y))
}

// encoder is a stack of layers and a final LayerNorm.
type encoder struct {
	Layers []*encoderLayer
	Norm   *nn.LayerNorm
}

func newEncoder(c Config, rng *tensor.RNG) (*encoder, error) {
	e := &encoder{}
	for i := range c.Layers {
		l, err := newEncoderLayer(nn.Join("encoder.attn_layers", strconv.Itoa(i)), c, rng)
		if err != nil {
			return nil, err
		}
		e.Layers = append(e.Layers, l)
	}
	e.Norm = nn.NewLayerNorm("encoder.norm", c.DModel, 1e-5, true)
	return e, nil
}

func (e *encoder) Params() []*autograd.Var {
	var out []*autograd.Var
	for _, l := range e.Layers {
		out = append(out, l.Params()...)
	}
	return append(out, e.Norm.Params()...)
}

func (e *encoder) Forward(ctx *nn.Ctx, x *autograd.Var) *autograd.Var {
	for _, l := range e.Layers {
		x = l.Forward(ctx, x)
	}
	return e.Norm.Forward(x)
}
