package decoder

import "github.com/loomml/loom/nn"

// Pack24Weights packs the weight of every linear layer in the blocks in
// the 2:4 semi-structured layout (nn.Linear.Pack24, arXiv 2104.08378), so
// forward passes without gradients multiply them with the 2:4 kernel. The
// weights must be 2:4 sparse (compress/sparse.TwoFour); the embedding and
// the head stay dense. On an error nothing stays packed. It returns the
// bytes the packed copies hold.
func (m *Model) Pack24Weights() (int64, error) {
	var n int64
	for _, l := range m.blockLinears() {
		b, err := l.Pack24()
		if err != nil {
			m.Unpack24Weights()
			return 0, err
		}
		n += b
	}
	return n, nil
}

// Unpack24Weights drops the copies Pack24Weights made.
func (m *Model) Unpack24Weights() {
	for _, l := range m.blockLinears() {
		l.Unpack24()
	}
}

func (m *Model) blockLinears() []*nn.Linear {
	var out []*nn.Linear
	for _, b := range m.Layers {
		nn.Walk(b, func(n *nn.Node) error {
			if l, ok := n.Module.(*nn.Linear); ok && l != nil && l.Weight != nil {
				out = append(out, l)
			}
			return nil
		})
	}
	return out
}
