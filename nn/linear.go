package nn

import (
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
	l := &Linear{Weight: autograd.Param(Join(prefix, "weight"), init.Normal(out, in))}
	if bias {
		l.Bias = autograd.Param(Join(prefix, "bias"), tensor.Zeros(out))
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
	return &Embedding{Weight: autograd.Param(Join(prefix, "weight"), init.Normal(vocab, dim))}
}

// Forward returns the rows for ids as [shape..., dim].
func (e *Embedding) Forward(ids []int, shape ...int) *autograd.Var {
	return autograd.Embedding(e.Weight, ids, shape...)
}

// Params returns the table.
func (e *Embedding) Params() []*autograd.Var { return []*autograd.Var{e.Weight} }
