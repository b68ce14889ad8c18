package decoder

import "github.com/loomml/loom/nn"

// BlockLinears returns the linear layers inside the blocks, in order: the
// weights compression methods change (not the embedding or the head).
func (m *Model) BlockLinears() []*nn.Linear { return nn.LinearsIn(m.Layers) }

// Pack24Weights packs the weight of every linear layer in the blocks in
// the 2:4 semi-structured layout (nn.Linear.Pack24, arXiv 2104.08378), so
// forward passes without gradients multiply them with the 2:4 kernel. The
// weights must be 2:4 sparse (compress/sparse.TwoFour); the embedding and
// the head stay dense. On an error nothing stays packed. It returns the
// bytes the packed copies hold.
func (m *Model) Pack24Weights() (int64, error) { return nn.Pack24All(m.BlockLinears()) }

// Unpack24Weights drops the copies Pack24Weights made.
func (m *Model) Unpack24Weights() { nn.Unpack24All(m.BlockLinears()) }
