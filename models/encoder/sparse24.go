package encoder

import "github.com/loomml/loom/nn"

// BlockLinears returns the linear layers inside the encoder layers, in
// order (per layer: the attention's query, key, value and output
// projections, then the FFN's up and down projections; a removed sublayer
// has none): the weights that compression methods change. The embeddings,
// the pooler and the task head are not among them.
func (m *Model) BlockLinears() []*nn.Linear { return nn.LinearsIn(m.Layers) }

// Pack24Weights packs the weight of every linear layer in the encoder
// layers in the 2:4 semi-structured layout (nn.Linear.Pack24, arXiv
// 2104.08378), so forward passes without gradients multiply them with the
// 2:4 kernel. The weights must be 2:4 sparse (compress/sparse.TwoFour);
// the embeddings, the pooler and the head stay dense. On an error nothing
// stays packed. It returns the bytes the packed copies hold.
func (m *Model) Pack24Weights() (int64, error) { return nn.Pack24All(m.BlockLinears()) }

// Unpack24Weights drops the copies Pack24Weights made.
func (m *Model) Unpack24Weights() { nn.Unpack24All(m.BlockLinears()) }
