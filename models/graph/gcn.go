package graph

import (
	"math"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// GCNLayer is a graph convolution (Kipf & Welling, "Semi-Supervised
// Classification with Graph Convolutional Networks", arXiv 1609.02907)
// with symmetric normalisation and self-loops, in the layer of
// benchmarking-gnns' GCN (graph convolution, norm, ReLU, residual,
// dropout):
//
//	h ← dropout(h + ReLU(Norm(D̃^−½ Ã D̃^−½ h W + b)))    Ã = A + I, D̃ its degrees
//
// It ignores edge features.
type GCNLayer struct {
	Conv     *nn.Linear
	Norm     RowNorm
	Dropout  float64
	Residual bool
}

func newGCNLayer(prefix string, c Config, rng *tensor.RNG) *GCNLayer {
	return &GCNLayer{
		Conv:    nn.NewTorchLinear(nn.Join(prefix, "conv"), c.Dim, c.Dim, true, rng),
		Norm:    newNorm(c.Norm, prefix, "norm_h", c.Dim),
		Dropout: c.Dropout, Residual: !c.NoResidual,
	}
}

// gcnEdges is a batch's edges with a self-loop on every node and each
// edge's coefficient 1/√(d̃_src·d̃_dst), computed once per batch.
type gcnEdges struct {
	src, dst []int
	coef     *tensor.Tensor // [E + N, 1]
}

func (b *Batch) gcnEdges() *gcnEdges {
	if b.gcn != nil {
		return b.gcn
	}
	g := &gcnEdges{src: make([]int, 0, len(b.Src)+b.Nodes), dst: make([]int, 0, len(b.Src)+b.Nodes)}
	g.src = append(append(g.src, b.Src...), iota(b.Nodes)...)
	g.dst = append(append(g.dst, b.Dst...), iota(b.Nodes)...)
	deg := make([]float64, b.Nodes)
	for _, t := range g.dst {
		deg[t]++
	}
	coef := make([]float32, len(g.src))
	for i := range g.src {
		coef[i] = float32(1 / math.Sqrt(deg[g.src[i]]*deg[g.dst[i]]))
	}
	g.coef = tensor.FromFloat32(coef, len(coef), 1)
	b.gcn = g
	return g
}

func iota(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// Forward convolves h [N, D] over b's edges; e passes through.
func (l *GCNLayer) Forward(ctx *nn.Ctx, b *Batch, h, e *autograd.Var) (*autograd.Var, *autograd.Var) {
	g := b.gcnEdges()
	coef := autograd.Const(g.coef.To(h.Value.DType()))
	agg := autograd.IndexAdd(autograd.Mul(autograd.IndexSelect(h, 0, g.src), coef), 0, g.dst, b.Nodes) // Â·h
	x := autograd.Relu(l.Norm.Forward(ctx, l.Conv.Forward(agg)))                                       // Â·h·W + b: Â is linear
	if l.Residual {
		x = autograd.Add(h, x)
	}
	return ctx.Dropout(x, l.Dropout), e
}

// Params returns the convolution's weight and bias and the norm's.
func (l *GCNLayer) Params() []*autograd.Var { return nn.Collect(l.Conv, l.Norm) }
