package graph

import (
	"math"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// EdgeAttention is the Graph Transformer's multi-head attention over edges
// with edge-feature gating (MultiHeadAttentionLayer in the reference's
// layers/graph_transformer_edge_layer.py). For an edge s → t and head k,
// with d_h = D/heads:
//
//	score_st = K_s ⊙ Q_t / √d_h ⊙ E_st          (per head dim; the edge's new features)
//	w_st     = exp(clamp(Σ_dims score_st, −5, 5))
//	h_t      = Σ_s w_st·V_s / (Σ_s w_st + 1e−6)
//
// A node no edge reaches gets h = 0. Q, K, V and E are linear maps
// without bias (use_bias False in the reference's nets).
type EdgeAttention struct {
	Q, K, V, E *nn.Linear
	Heads      int
}

func newEdgeAttention(prefix string, dim, heads int, rng *tensor.RNG) *EdgeAttention {
	return &EdgeAttention{
		Q:     nn.NewTorchLinear(nn.Join(prefix, "Q"), dim, dim, false, rng),
		K:     nn.NewTorchLinear(nn.Join(prefix, "K"), dim, dim, false, rng),
		V:     nn.NewTorchLinear(nn.Join(prefix, "V"), dim, dim, false, rng),
		E:     nn.NewTorchLinear(nn.Join(prefix, "proj_e"), dim, dim, false, rng),
		Heads: heads,
	}
}

// Forward attends over the edges src → dst of nodes h [N, D] with edge
// features e [E, D]; it returns the new nodes [N, D] and the edges' scores
// [E, D].
func (a *EdgeAttention) Forward(h, e *autograd.Var, src, dst []int) (hOut, eOut *autograd.Var) {
	N, D, E := h.Dim(0), h.Dim(1), len(src)
	H := a.Heads
	dh := D / H
	q, k, v := a.Q.Forward(h), a.K.Forward(h), a.V.Forward(h) // [N, D]
	pe := a.E.Forward(e)                                      // [E, D]
	kq := autograd.Mul(autograd.IndexSelect(k, 0, src), autograd.IndexSelect(q, 0, dst))
	score := autograd.Mul(autograd.MulScalar(kq, 1/math.Sqrt(float64(dh))), pe) // [E, D]
	s := autograd.Sum(autograd.Reshape(score, E, H, dh), true, 2)               // [E, H, 1]
	w := autograd.Exp(autograd.Clamp(s, -5, 5))
	vs := autograd.Reshape(autograd.IndexSelect(v, 0, src), E, H, dh)
	wv := autograd.IndexAdd(autograd.Mul(vs, w), 0, dst, N) // [N, H, dh]
	z := autograd.IndexAdd(w, 0, dst, N)                    // [N, H, 1]
	hOut = autograd.Reshape(autograd.Div(wv, autograd.AddScalar(z, 1e-6)), N, D)
	return hOut, score
}

// Params returns Q, K, V and E's weights.
func (a *EdgeAttention) Params() []*autograd.Var { return nn.Collect(a.Q, a.K, a.V, a.E) }
