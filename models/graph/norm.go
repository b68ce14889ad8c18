package graph

import (
	"fmt"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
)

// RowNorm normalises node or edge rows [rows, D]: BatchNorm over the rows
// of the batch, or LayerNorm over each row's features (the reference's
// batch_norm / layer_norm switch).
type RowNorm interface {
	nn.Module
	Forward(ctx *nn.Ctx, x *autograd.Var) *autograd.Var
}

// LayerNorm is nn.LayerNorm (eps 1e-5, with bias, as PyTorch's) as a
// RowNorm.
type LayerNorm struct {
	Norm *nn.LayerNorm
}

// Forward normalises each row of x.
func (n *LayerNorm) Forward(_ *nn.Ctx, x *autograd.Var) *autograd.Var { return n.Norm.Forward(x) }

// Params returns the gain and bias.
func (n *LayerNorm) Params() []*autograd.Var { return n.Norm.Params() }

// Norm kinds of Config.Norm.
const (
	NormBatch = "batch"
	NormLayer = "layer"
)

// newNorm returns the norm of kind ("batch" or "layer") over dim features
// named <prefix-with-kind>: the reference's batch_norm1_h or layer_norm1_h
// for name "norm1_h".
func newNorm(kind, prefix, name string, dim int) RowNorm {
	full := nn.Join(prefix, kind+"_"+name)
	switch kind {
	case NormBatch:
		return nn.NewBatchNorm1d(full, dim)
	case NormLayer:
		return &LayerNorm{Norm: nn.NewLayerNorm(full, dim, 1e-5, true)}
	}
	panic(fmt.Sprintf("graph: norm %q (want batch or layer)", kind))
}

// buffers collects the buffers (BatchNorm's running estimates) of the
// modules below m.
func buffers(m nn.Module) []*autograd.Var {
	var out []*autograd.Var
	nn.Walk(m, func(n *nn.Node) error {
		if b, ok := n.Module.(nn.Buffered); ok && n.Module != m {
			out = append(out, b.Buffers()...)
		}
		return nil
	})
	return out
}
