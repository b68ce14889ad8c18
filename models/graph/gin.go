package graph

import (
	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// GINLayer is a graph isomorphism layer (Xu et al., "How Powerful are
// Graph Neural Networks?", arXiv 1810.00826) with a learnt ε, in the layer
// of benchmarking-gnns' GIN (a two-layer MLP with a norm inside, then
// norm, ReLU, residual, dropout):
//
//	x = (1 + ε)·h + Σ_{s → t} h_s
//	h ← dropout(h + ReLU(Norm(Lin2(ReLU(NormMLP(Lin1(x)))))))
//
// It ignores edge features.
type GINLayer struct {
	Eps        *autograd.Var // [1], starts at 0
	Lin1, Lin2 *nn.Linear
	NormMLP    RowNorm
	Norm       RowNorm
	Dropout    float64
	Residual   bool
}

func newGINLayer(prefix string, c Config, rng *tensor.RNG) *GINLayer {
	d := c.Dim
	return &GINLayer{
		Eps:     autograd.NewParam(nn.Join(prefix, "eps"), autograd.RoleScalar, tensor.Zeros(1)),
		Lin1:    nn.NewTorchLinear(nn.Join(prefix, "mlp.linears.0"), d, d, true, rng),
		NormMLP: newNorm(c.Norm, prefix, "norm_mlp", d),
		Lin2:    nn.NewTorchLinear(nn.Join(prefix, "mlp.linears.1"), d, d, true, rng),
		Norm:    newNorm(c.Norm, prefix, "norm_h", d),
		Dropout: c.Dropout, Residual: !c.NoResidual,
	}
}

// Forward runs the layer on h [N, D] over b's edges; e passes through.
func (l *GINLayer) Forward(ctx *nn.Ctx, b *Batch, h, e *autograd.Var) (*autograd.Var, *autograd.Var) {
	agg := autograd.IndexAdd(autograd.IndexSelect(h, 0, b.Src), 0, b.Dst, b.Nodes)
	x := autograd.Add(autograd.Mul(h, autograd.AddScalar(l.Eps, 1)), agg)
	x = l.Lin2.Forward(autograd.Relu(l.NormMLP.Forward(ctx, l.Lin1.Forward(x))))
	x = autograd.Relu(l.Norm.Forward(ctx, x))
	if l.Residual {
		x = autograd.Add(h, x)
	}
	return ctx.Dropout(x, l.Dropout), e
}

// Params returns ε, the MLP's and the norm's parameters.
func (l *GINLayer) Params() []*autograd.Var {
	return append([]*autograd.Var{l.Eps}, nn.Collect(l.Lin1, l.NormMLP, l.Lin2, l.Norm)...)
}
