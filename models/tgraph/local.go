package tgraph

import (
	"math"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// LocalLayer is one layer of the local encoder (Todyformer's
// structure-aware tokenizer), DyG2Vec's temporal attention embedding
// (Alomrani et al., "DyG2Vec: Efficient Representation Learning for
// Dynamic Graphs", TMLR 2023, arXiv 2210.16906, its Figure 2): instance i
// attends over the messages it receives in its patch, each carrying the
// sender's state and an edge encoding z_e = [φ(Δt_e) ‖ direction ‖
// features]:
//
//	q_i = W_q h_i
//	k_e = W_kh h_from(e) + W_kz z_e,  v_e = W_vh h_from(e) + W_vz z_e
//	α_e = softmax over the messages to i of q_i·k_e/√d_h   (per head)
//	h′_i = ReLU(Σ_e α_e v_e + W_s h_i + b)                  (skip, activation)
//
// (the concatenation [h ‖ z] of the figure through one linear map, split
// into its two blocks). Every instance receives at least one message: it
// occurs in an event of its patch.
type LocalLayer struct {
	Q, KH, VH, KZ, VZ, Skip *nn.Linear
	Heads                   int
}

func newLocalLayer(prefix string, dim, zdim, heads int, rng *tensor.RNG) *LocalLayer {
	return &LocalLayer{
		Q:     nn.NewTorchLinear(nn.Join(prefix, "q"), dim, dim, false, rng),
		KH:    nn.NewTorchLinear(nn.Join(prefix, "k_h"), dim, dim, false, rng),
		VH:    nn.NewTorchLinear(nn.Join(prefix, "v_h"), dim, dim, false, rng),
		KZ:    nn.NewTorchLinear(nn.Join(prefix, "k_z"), zdim, dim, false, rng),
		VZ:    nn.NewTorchLinear(nn.Join(prefix, "v_z"), zdim, dim, false, rng),
		Skip:  nn.NewTorchLinear(nn.Join(prefix, "skip"), dim, dim, true, rng),
		Heads: heads,
	}
}

// Forward maps the instances h [I, D] of p, with the messages' encodings z
// [2·events, Z], to [I, D].
func (l *LocalLayer) Forward(h, z *autograd.Var, p *Patches) *autograd.Var {
	I, D, E := h.Dim(0), h.Dim(1), len(p.From)
	H := l.Heads
	dh := D / H
	q := autograd.IndexSelect(l.Q.Forward(h), 0, p.To)                                   // [E, D]
	k := autograd.Add(autograd.IndexSelect(l.KH.Forward(h), 0, p.From), l.KZ.Forward(z)) // [E, D]
	v := autograd.Add(autograd.IndexSelect(l.VH.Forward(h), 0, p.From), l.VZ.Forward(z)) // [E, D]
	s := autograd.Sum(autograd.Reshape(autograd.Mul(q, k), E, H, dh), true, 2)           // [E, H, 1]
	a := segmentSoftmax(autograd.MulScalar(s, 1/math.Sqrt(float64(dh))), p.To, I)
	agg := autograd.IndexAdd(autograd.Mul(autograd.Reshape(v, E, H, dh), a), 0, p.To, I) // [I, H, dh]
	return autograd.Relu(autograd.Add(autograd.Reshape(agg, I, D), l.Skip.Forward(h)))
}

// Params returns the layer's weights.
func (l *LocalLayer) Params() []*autograd.Var { return nn.Collect(l.Q, l.KH, l.VH, l.KZ, l.VZ, l.Skip) }

// segmentSoftmax is the softmax of scores s [E, H, 1] over the entries
// with equal seg (n segments), per head: PyG's softmax(src, index). The
// shift by each segment's maximum is a constant (the result does not
// depend on it), so it carries no gradient.
func segmentSoftmax(s *autograd.Var, seg []int, n int) *autograd.Var {
	E, H := s.Dim(0), s.Dim(1)
	vals := s.Value.Contiguous().Float32s()
	mx := make([]float32, n*H)
	for i := range mx {
		mx[i] = float32(math.Inf(-1))
	}
	for e, g := range seg {
		for j := range H {
			mx[g*H+j] = max(mx[g*H+j], vals[e*H+j])
		}
	}
	shift := make([]float32, E*H)
	for e, g := range seg {
		copy(shift[e*H:(e+1)*H], mx[g*H:(g+1)*H])
	}
	w := autograd.Exp(autograd.Sub(s, autograd.Const(tensor.FromFloat32(shift, E, H, 1).To(s.Value.DType()))))
	den := autograd.IndexAdd(w, 0, seg, n) // [n, H, 1]
	return autograd.Div(w, autograd.IndexSelect(den, 0, seg))
}
