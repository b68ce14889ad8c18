package w8a8

import (
	"fmt"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/models/encoder"
	"github.com/loomml/loom/nn"
)

// Encoder quantises in place every linear layer inside m's encoder layers
// (attention projections and FFN: encoder.Model.BlockLinears; the
// embeddings, the pooler and the task head stay float) as Decoder does a
// decoder's, SmoothQuant calibrated on o.EncoderCalib. m must be a float32
// model.
func Encoder(m *encoder.Model, o Options) (*Report, error) {
	return quantize(m.BlockLinears(), o, func(ls []*nn.Linear) ([][]float32, error) {
		return CalibrateEncoder(m, ls, o.EncoderCalib)
	}, len(o.EncoderCalib))
}

// CalibrateEncoder returns, for each of the linear layers ls of m, the
// largest |x_p| of each input channel p over the batches (m's encoder run
// without gradients; padded positions count too, as they pass through the
// layers).
func CalibrateEncoder(m *encoder.Model, ls []*nn.Linear, batches []encoder.Batch) ([][]float32, error) {
	return calibrate(ls, func() error {
		for i := range batches {
			b := &batches[i]
			if b.B <= 0 || b.T <= 0 || b.Embeds == nil && b.Features == nil && len(b.IDs) != b.B*b.T {
				return fmt.Errorf("w8a8: calibration batch %d: %d ids for B %d, T %d", i, len(b.IDs), b.B, b.T)
			}
			autograd.NoGrad(func() { m.Encode(nil, b) })
		}
		return nil
	})
}
