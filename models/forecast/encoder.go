package forecast

import (
	"math"
	"strconv"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

func sqrtf(n int) float64 { return math.Sqrt(float64(n)) }

// encoderLayer is Time-Series-Library's EncoderLayer around FullAttention
// (post-norm):
//
//	x = Norm1(x + Dropout(Attn(x)))
//	y = Dropout(Conv2(Dropout(GELU(Conv1(x)))))
//	x = Norm2(x + y)
//
// Conv1 and Conv2 are kernel-1 convolutions, i.e. position-wise linears
// (stored [out, in]). Attention dropout acts on the probabilities.
type encoderLayer struct {
	Q, K, V, O   *nn.Linear
	Conv1, Conv2 *nn.Linear
	Norm1, Norm2 *nn.LayerNorm
	Heads        int
	Dropout      float64
}

func newEncoderLayer(prefix string, c Config, rng *tensor.RNG) *encoderLayer {
	a := nn.Join(prefix, "attention")
	return &encoderLayer{
		Q:     torchLinear(nn.Join(a, "query_projection"), c.DModel, c.DModel, true, rng),
		K:     torchLinear(nn.Join(a, "key_projection"), c.DModel, c.DModel, true, rng),
		V:     torchLinear(nn.Join(a, "value_projection"), c.DModel, c.DModel, true, rng),
		O:     torchLinear(nn.Join(a, "out_projection"), c.DModel, c.DModel, true, rng),
		Conv1: torchLinear(nn.Join(prefix, "conv1"), c.DModel, c.DFF, true, rng),
		Conv2: torchLinear(nn.Join(prefix, "conv2"), c.DFF, c.DModel, true, rng),
		Norm1: layerNorm(nn.Join(prefix, "norm1"), c.DModel),
		Norm2: layerNorm(nn.Join(prefix, "norm2"), c.DModel),
		Heads: c.Heads, Dropout: c.Dropout,
	}
}

func (l *encoderLayer) Params() []*autograd.Var {
	return nn.Collect(l.Q, l.K, l.V, l.O, l.Conv1, l.Conv2, l.Norm1, l.Norm2)
}

// attend is multi-head full attention over x [B, T, D].
func (l *encoderLayer) attend(x *autograd.Var, rng *tensor.RNG) *autograd.Var {
	B, T, D := x.Dim(0), x.Dim(1), x.Dim(2)
	H := l.Heads
	E := D / H
	heads := func(y *autograd.Var) *autograd.Var { // [B, T, D] → [B, H, T, E]
		return autograd.Permute(autograd.Reshape(y, B, T, H, E), 0, 2, 1, 3)
	}
	q, k, v := heads(l.Q.Forward(x)), heads(l.K.Forward(x)), heads(l.V.Forward(x))
	// The scale goes on q ([B, H, T, E]) rather than on the T×T scores.
	q = autograd.MulScalar(q, 1/math.Sqrt(float64(E)))
	s := autograd.MatMul(q, k, false, true)         // [B, H, T, T]
	p := autograd.SoftmaxDropout(s, l.Dropout, rng) // dropout on the probabilities, fused
	o := autograd.MatMul(p, v, false, false)        // [B, H, T, E]
	o = autograd.Reshape(autograd.Contiguous(autograd.Permute(o, 0, 2, 1, 3)), B, T, D)
	return l.O.Forward(o)
}

func (l *encoderLayer) Forward(x *autograd.Var, rng *tensor.RNG) *autograd.Var {
	x = l.Norm1.Forward(autograd.Add(x, autograd.DropoutSeeded(l.attend(x, rng), l.Dropout, rng)))
	y := autograd.DropoutSeeded(autograd.Gelu(l.Conv1.Forward(x)), l.Dropout, rng)
	y = autograd.DropoutSeeded(l.Conv2.Forward(y), l.Dropout, rng)
	return l.Norm2.Forward(autograd.Add(x, y))
}

// encoder is a stack of layers and a final LayerNorm.
type encoder struct {
	Layers []*encoderLayer
	Norm   *nn.LayerNorm
}

func newEncoder(c Config, rng *tensor.RNG) *encoder {
	e := &encoder{}
	for i := range c.Layers {
		e.Layers = append(e.Layers, newEncoderLayer(nn.Join("encoder.attn_layers", strconv.Itoa(i)), c, rng))
	}
	e.Norm = layerNorm("encoder.norm", c.DModel)
	return e
}

func (e *encoder) Params() []*autograd.Var {
	var out []*autograd.Var
	for _, l := range e.Layers {
		out = append(out, l.Params()...)
	}
	return append(out, e.Norm.Params()...)
}

func (e *encoder) Forward(x *autograd.Var, rng *tensor.RNG) *autograd.Var {
	for _, l := range e.Layers {
		x = l.Forward(x, rng)
	}
	return e.Norm.Forward(x)
}
