package forecast

// iTransformer, from "iTransformer: Inverted Transformers Are Effective for
// Time Series Forecasting" (arXiv 2310.06625; official code
// thuml/iTransformer model/iTransformer.py, layers/Embed.py): every
// variate's whole lookback window is one token (embedded by a shared
// Linear(L → D)), time features are extra tokens, attention runs across
// variates, and a Linear(D → S) per token reads out the forecast. No
// positional encoding; the variate tokens can come in any order and any
// number.

import (
	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// ITransformer is the official model with use_norm.
type ITransformer struct {
	Cfg       Config
	Embed     *nn.Linear // enc_embedding.value_embedding: Linear(L → D)
	Encoder   *encoder
	Projector *nn.Linear // projector: Linear(D → S)
}

func init() {
	Register("itransformer", func(c Config, rng *tensor.RNG) (Model, error) {
		if err := c.checkTransformer(); err != nil {
			return nil, err
		}
		m := &ITransformer{Cfg: c, Embed: nn.NewTorchLinear("enc_embedding.value_embedding", c.Lookback, c.DModel, true, rng)}
		var err error
		if m.Encoder, err = newEncoder(c, rng); err != nil {
			return nil, err
		}
		m.Projector = nn.NewTorchLinear("projector", c.DModel, c.Horizon, true, rng)
		return m, nil
	})
}

// Params returns the parameters in the official module order.
func (m *ITransformer) Params() []*autograd.Var {
	return append(append(m.Embed.Params(), m.Encoder.Params()...), m.Projector.Params()...)
}

// Forward maps x [B, L, N] and marks [B, L, F] (may be nil) to [B, S, N].
func (m *ITransformer) Forward(ctx *nn.Ctx, x, marks *autograd.Var) *autograd.Var {
	N := x.Dim(2)
	restore := func(y *autograd.Var) *autograd.Var { return y }
	if m.Cfg.UseNorm {
		x, restore = normalise(x)
	}
	tok := autograd.Permute(x, 0, 2, 1) // [B, N, L]
	if marks != nil {
		tok = autograd.Concat(1, tok, autograd.Permute(marks, 0, 2, 1)) // [B, N+F, L]
	}
	h := ctx.Dropout(m.Embed.Forward(autograd.Contiguous(tok)), m.Cfg.Dropout) // [B, N+F, D]
	h = m.Encoder.Forward(ctx, h)
	y := autograd.Permute(m.Projector.Forward(h), 0, 2, 1) // [B, S, N+F]
	y = autograd.Contiguous(autograd.Slice(y, 2, 0, N))    // the variate tokens only
	return restore(y)
}

// Config returns the configuration.
func (m *ITransformer) Config() Config { return m.Cfg }
