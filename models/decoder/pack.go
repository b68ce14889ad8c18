package decoder

import "github.com/loomml/loom/nn"

// PackWeights packs the weight of every linear layer, the head included
// (a tied head too), for the GEMM kernel in use (nn.Linear.Pack): forward
// passes without gradients then skip packing weights per call and give a
// row the same result whatever else is in the batch, which is what a
// server decoding many sequences at once wants. It is for inference only
// (training changes weights in place; call UnpackWeights before). It
// returns the bytes the packed copies hold, in addition to the weights.
func (m *Model) PackWeights() int64 {
	var n int64
	for _, l := range m.linears() {
		n += l.Pack()
	}
	return n
}

// UnpackWeights drops the copies PackWeights made.
func (m *Model) UnpackWeights() {
	for _, l := range m.linears() {
		l.Unpack()
	}
	m.tied = nil
}

// linears lists the model's linear layers, and a Linear over the embedding
// table for a tied head.
func (m *Model) linears() []*nn.Linear {
	var out []*nn.Linear
	nn.Walk(m, func(n *nn.Node) error {
		if l, ok := n.Module.(*nn.Linear); ok {
			out = append(out, l)
		}
		return nil
	})
	if m.Head == nil {
		if m.tied == nil || m.tied.Weight != m.Embed.Weight {
			m.tied = &nn.Linear{Weight: m.Embed.Weight}
		}
		out = append(out, m.tied)
	}
	return out
}
