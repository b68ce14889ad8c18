package nn

import (
	"math"
	"slices"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/internal/kernels"
	"github.com/loomml/loom/tensor"
)

// Linear is y = x·Wᵀ + b with W [out, in] (PyTorch's layout) and an
// optional bias [out].
type Linear struct {
	Weight *autograd.Var // [out, in]
	Bias   *autograd.Var // [out] or nil

	packed   *packedWeight     // see Pack
	sparse24 *sparse24Weight   // see Pack24
	round    func(x []float32) // see RoundInputs
}

// packedWeight is a Linear's weight packed for the GEMM kernel, and the
// tensor it was packed from.
type packedWeight struct {
	of *tensor.Tensor
	w  *kernels.PackedWeight
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

// RoundInputs makes forward passes without gradients multiply round(x)
// instead of x, round changing a copy of x's rows (a whole number of rows
// of in values) in place: for a weight loaded from ggml blocks, llama.cpp's
// products see the activations quantised to the blocks' activation format,
// and so does loom (round nil: x as it is).
func (l *Linear) RoundInputs(round func(x []float32)) { l.round = round }

// Forward maps x [..., in] to [..., out].
func (l *Linear) Forward(x *autograd.Var) *autograd.Var {
	if l.round != nil && !autograd.GradEnabled() && x.Value.DType() == tensor.Float32 {
		c := x.Value.Contiguous()
		r := c.F32()
		if c == x.Value { // x's own storage: round a copy
			r = slices.Clone(r)
		}
		l.round(r)
		x = autograd.Const(tensor.FromFloat32(r, x.Value.Shape()...))
	}
	if p := l.sparse24; p != nil && p.of == l.Weight.Value && !autograd.GradEnabled() && x.Value.DType() == tensor.Float32 {
		return l.forward24(x)
	}
	if p := l.packed; p != nil && p.of == l.Weight.Value && !autograd.GradEnabled() && x.Value.DType() == tensor.Float32 {
		in := x.Value.Contiguous()
		shape := slices.Clone(in.Shape())
		shape[len(shape)-1] = p.w.N
		out := tensor.New(tensor.Float32, shape...)
		kernels.MatMulPacked(kernels.Threads(), in.Numel()/p.w.K, in.F32(), p.w.K, p.w, out.F32(), p.w.N)
		if l.Bias != nil {
			tensor.AddRowsInPlace(out, l.Bias.Value)
		}
		return autograd.Const(out)
	}
	return autograd.Linear(x, l.Weight, l.Bias)
}

// Pack keeps a copy of the weight packed for the GEMM kernel in use, which
// forward passes without gradients then multiply by directly: no packing
// per call, and one order of operations for every element whatever the
// number of rows (kernels.MatMulPacked), so a row's output does not depend
// on what else is in the batch. It is for inference: the copy is of the
// weight as it is now (a weight changed in place afterwards, as an
// optimizer does, must be packed again; a weight tensor replaced is
// noticed and the copy ignored). It returns the bytes the copy holds, 0
// when nothing was packed (a weight that is not float32, or a kernel that
// does not pack).
func (l *Linear) Pack() int64 {
	l.packed = nil
	w := l.Weight.Value
	if w.DType() != tensor.Float32 || w.IsEmpty() || len(w.Shape()) != 2 {
		return 0
	}
	pw := kernels.PackWeight(w.Contiguous().F32(), w.Dim(0), w.Dim(1), w.Dim(1))
	if pw == nil {
		return 0
	}
	l.packed = &packedWeight{of: w, w: pw}
	return pw.Bytes()
}

// Unpack drops the packed copy.
func (l *Linear) Unpack() { l.packed = nil }

// Params returns the weight and bias.
func (l *Linear) Params() []*autograd.Var {
	if l == nil { // an optional layer that was not built (Collect passes it on)
		return nil
	}
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
