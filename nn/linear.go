package nn

import (
	"math"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/tensor"
)

// Linear is y = x·Wᵀ + b with W [out, in] (PyTorch's layout) and an
// optional bias [out].
type Linear struct {
	Weight *autograd.Var // [out, in]
	Bias   *autograd.Var // [out] or nil
}

// NewLinear returns a Linear named prefix.weight (and prefix.bias) with
// weights from init and a zero bias.
func NewLinear(prefix string, in, out int, bias bool, init Init) *Linear {
	l := &Linear{Weight: autograd.NewParam(Join(prefix, "weight"), autograd.RoleMatrix, init.Normal(out, in))}
	if bias {
		l.Bias = autograd.NewParam(Join(prefix, "bias"), autograd.RoleBias, tensor.Zeros(out))
	}
	return l
}

// Forward maps x [..., in] to [..., out].
func (l *Linear) Forward(x *autograd.Var) *autograd.Var {
	return autograd.Linear(x, l.Weight, l.Bias)
}

// Params returns the weight and bias.
func (l *Linear) Params() []*autograd.Var {
	if l.Bias != nil {
		return []*autograd.Var{l.Weight, l.Bias}
	}
	return []*autograd.Var{l.Weight}
}

// InFeatures returns the input width.
func (l *Linear) InFeatures() int { return l.Weight.Dim(1) }

// OutFeatures returns the output width.
func (l *Linear) OutFeatures() int { return l.Weight.Dim(0) }

// Embedding maps token ids to rows of Weight [vocab, dim].
type Embedding struct {
	Weight *autograd.Var
}

// NewEmbedding returns an embedding named prefix.weight.
func NewEmbedding(prefix string, vocab, dim int, init Init) *Embedding {
	return &Embedding{Weight: autograd.NewParam(Join(prefix, "weight"), autograd.RoleEmbedding, init.Normal(vocab, dim))}
}

// Forward returns the rows for ids as [shape..., dim].
func (e *Embedding) Forward(ids []int, shape ...int) *autograd.Var {
	return autograd.Embedding(e.Weight, ids, shape...)
}

// Params returns the table.
func (e *Embedding) Params() []*autograd.Var { return []*autograd.Var{e.Weight} }

// NewTorchLinear returns a Linear named prefix with PyTorch's default
// initialisation of nn.Linear: weight and bias uniform in ±1/√in, drawn
// from rng (weight first), as models ported from PyTorch code get.
func NewTorchLinear(prefix string, in, out int, bias bool, rng *tensor.RNG) *Linear {
	b := 1 / math.Sqrt(float64(in))
	l := &Linear{Weight: autograd.NewParam(Join(prefix, "weight"), autograd.RoleMatrix, tensor.Uniform(rng, -b, b, out, in))}
	if bias {
		l.Bias = autograd.NewParam(Join(prefix, "bias"), autograd.RoleBias, tensor.Uniform(rng, -b, b, out))
	}
	return l
}

// TorchInit is an Init whose layers are NewTorchLinear's, drawn from rng.
func TorchInit(rng *tensor.RNG) Init {
	return Init{RNG: rng, Layer: func(prefix string, in, out int, bias bool, _ Init) (Layer, error) {
		return NewTorchLinear(prefix, in, out, bias, rng), nil
	}}
}
