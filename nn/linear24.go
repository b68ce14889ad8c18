package nn

import (
	"fmt"
	"slices"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/internal/kernels"
	"github.com/loomml/loom/tensor"
)

// sparse24Weight is a Linear's weight in the 2:4 layout, and the tensor it
// was packed from.
type sparse24Weight struct {
	of *tensor.Tensor
	p  *kernels.Packed24
}

// Pack24 keeps a copy of the weight in the 2:4 semi-structured layout
// (kernels.Pack24: arXiv 2104.08378), which forward passes without
// gradients then multiply with kernels.MatMul24 instead of the dense GEMM.
// The weight must already be 2:4 sparse (compress/sparse.TwoFour); it is
// for inference, like Pack (a weight changed in place must be packed
// again; a replaced weight tensor is noticed and the copy ignored). It
// returns the bytes the copy holds.
func (l *Linear) Pack24() (int64, error) {
	l.sparse24 = nil
	w := l.Weight.Value.Contiguous()
	if w.DType() != tensor.Float32 || len(w.Shape()) != 2 {
		return 0, fmt.Errorf("%s: 2:4 packing needs a float32 matrix, not %s %v", l.Weight.Name, w.DType(), w.Shape())
	}
	p, err := kernels.Pack24(w.F32(), w.Dim(0), w.Dim(1), w.Dim(1))
	if err != nil {
		return 0, fmt.Errorf("%s: %v", l.Weight.Name, err)
	}
	l.sparse24 = &sparse24Weight{of: l.Weight.Value, p: p}
	return p.Bytes(), nil
}

// Unpack24 drops the 2:4 copy.
func (l *Linear) Unpack24() { l.sparse24 = nil }

// Pack24All packs every layer of ls (Pack24); on an error none stays
// packed. It returns the bytes the copies hold.
func Pack24All(ls []*Linear) (int64, error) {
	var n int64
	for _, l := range ls {
		b, err := l.Pack24()
		if err != nil {
			Unpack24All(ls)
			return 0, err
		}
		n += b
	}
	return n, nil
}

// Unpack24All drops the 2:4 copies of ls.
func Unpack24All(ls []*Linear) {
	for _, l := range ls {
		l.Unpack24()
	}
}

// forward24 is Forward through the 2:4 copy.
func (l *Linear) forward24(x *autograd.Var) *autograd.Var {
	p := l.sparse24.p
	in := x.Value.Contiguous()
	shape := slices.Clone(in.Shape())
	shape[len(shape)-1] = p.N
	out := tensor.New(tensor.Float32, shape...)
	kernels.MatMul24(kernels.Threads(), in.Numel()/p.K, in.F32(), p.K, p, out.F32(), p.N)
	if l.Bias != nil {
		tensor.AddRowsInPlace(out, l.Bias.Value)
	}
	return autograd.Const(out)
}
