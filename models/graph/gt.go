package graph

import (
	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// Layer is one message-passing layer of a Net: it maps node rows h
// [N, D] and edge rows e [E, D] to new ones over the edges of b (layers
// that do not use edge features pass e through, nil or not).
type Layer interface {
	nn.Module
	Forward(ctx *nn.Ctx, b *Batch, h, e *autograd.Var) (*autograd.Var, *autograd.Var)
}

// GTLayer is the Graph Transformer's layer with edge features
// (GraphTransformerLayer in the reference's
// layers/graph_transformer_edge_layer.py), for nodes and edges alike:
//
//	h, e ← EdgeAttention(h, e)                       (e: the scores)
//	h ← Norm1(h_in + O_h(dropout(h)))                (e likewise with O_e)
//	h ← Norm2(h + FFN2(dropout(ReLU(FFN1(h)))))      (FFN width 2D)
//
// Norm is BatchNorm or LayerNorm; without Residual the sums drop their
// first terms.
type GTLayer struct {
	Attn                           *EdgeAttention
	OH, OE                         *nn.Linear
	Norm1H, Norm1E, Norm2H, Norm2E RowNorm
	FFNH1, FFNH2, FFNE1, FFNE2     *nn.Linear
	Dropout                        float64
	Residual                       bool
}

// newGTLayer draws the layer's weights from rng in the reference's order
// of construction (attention Q, K, V, proj_e, then O_h, O_e, the FFNs).
func newGTLayer(prefix string, c Config, rng *tensor.RNG) *GTLayer {
	d := c.Dim
	lin := func(name string, in, out int) *nn.Linear {
		return nn.NewTorchLinear(nn.Join(prefix, name), in, out, true, rng)
	}
	l := &GTLayer{Attn: newEdgeAttention(nn.Join(prefix, "attention"), d, c.Heads, rng), Dropout: c.Dropout, Residual: !c.NoResidual}
	l.OH, l.OE = lin("O_h", d, d), lin("O_e", d, d)
	l.Norm1H, l.Norm1E = newNorm(c.Norm, prefix, "norm1_h", d), newNorm(c.Norm, prefix, "norm1_e", d)
	l.FFNH1, l.FFNH2 = lin("FFN_h_layer1", d, 2*d), lin("FFN_h_layer2", 2*d, d)
	l.FFNE1, l.FFNE2 = lin("FFN_e_layer1", d, 2*d), lin("FFN_e_layer2", 2*d, d)
	l.Norm2H, l.Norm2E = newNorm(c.Norm, prefix, "norm2_h", d), newNorm(c.Norm, prefix, "norm2_e", d)
	return l
}

// Forward runs the layer over b's edges: h [N, D], e [E, D].
func (l *GTLayer) Forward(ctx *nn.Ctx, b *Batch, h, e *autograd.Var) (*autograd.Var, *autograd.Var) {
	hIn, eIn := h, e
	h, e = l.Attn.Forward(h, e, b.Src, b.Dst)
	h = l.OH.Forward(ctx.Dropout(h, l.Dropout))
	e = l.OE.Forward(ctx.Dropout(e, l.Dropout))
	if l.Residual {
		h, e = autograd.Add(hIn, h), autograd.Add(eIn, e)
	}
	h, e = l.Norm1H.Forward(ctx, h), l.Norm1E.Forward(ctx, e)
	hIn, eIn = h, e
	h = l.FFNH2.Forward(ctx.Dropout(autograd.Relu(l.FFNH1.Forward(h)), l.Dropout))
	e = l.FFNE2.Forward(ctx.Dropout(autograd.Relu(l.FFNE1.Forward(e)), l.Dropout))
	if l.Residual {
		h, e = autograd.Add(hIn, h), autograd.Add(eIn, e)
	}
	return l.Norm2H.Forward(ctx, h), l.Norm2E.Forward(ctx, e)
}

// Params returns the layer's parameters in the reference's order.
func (l *GTLayer) Params() []*autograd.Var {
	return nn.Collect(l.Attn, l.OH, l.OE, l.Norm1H, l.Norm1E, l.FFNH1, l.FFNH2, l.FFNE1, l.FFNE2, l.Norm2H, l.Norm2E)
}
