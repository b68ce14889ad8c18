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
	Projector *nn.Linear // projector: Linear(D → S); nil for classification
	// Class is the classification head, Linear(N·D → classes)
	// (Time-Series-Library's projection for task_name classification).
	Class *nn.Linear
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
		if c.Task == TaskClassification {
			m.Class = nn.NewTorchLinear("projection", c.Variates*c.DModel, c.Classes, true, rng)
		} else {
			m.Projector = nn.NewTorchLinear("projector", c.DModel, c.Horizon, true, rng)
		}
		return m, nil
	})
}

// Params returns the parameters in the official module order.
func (m *ITransformer) Params() []*autograd.Var {
	return nn.Collect(m.Embed, m.Encoder, m.Projector, m.Class)
}

// Classify maps x [B, L, N] to logits [B, classes]: the variate tokens
// through the encoder, GELU, dropout, flattened, as Time-Series-Library's
// classification (no normalisation; padded steps are zeros in the tokens).
func (m *ITransformer) Classify(ctx *nn.Ctx, x *autograd.Var, _ *tensor.Tensor) *autograd.Var {
	B := x.Dim(0)
	tok := autograd.Contiguous(autograd.Permute(x, 0, 2, 1)) // [B, N, L]
	h := m.Encoder.Forward(ctx, ctx.Dropout(m.Embed.Forward(tok), m.Cfg.Dropout))
	h = ctx.Dropout(autograd.Gelu(h), m.Cfg.Dropout)
	return m.Class.Forward(autograd.Reshape(h, B, x.Dim(2)*m.Cfg.DModel))
}

// Forward maps x [B, L, N] and marks [B, L, F] (may be nil) to [B, S, N].
func (m *ITransformer) Forward(ctx *nn.Ctx, x, marks *autograd.Var) *autograd.Var {
	if m.Projector == nil {
		notForecasting(m.Cfg)
	}
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
