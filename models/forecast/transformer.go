package forecast

// The vanilla Transformer baseline on temporal tokens: each time step is a
// token (its N values embedded by Linear(N → D) on that step alone, where
// Time-Series-Library's TokenEmbedding is a Conv1d of kernel 3 over
// neighbouring steps with circular padding; its F time features by
// Linear(F → D, no bias), as TSLib's TimeFeatureEmbedding; plus sinusoidal
// positions), the same post-norm encoder as iTransformer, and a flatten
// head Linear(L·D → S·N). It is encoder-only (Time-Series-Library's
// Transformer also has a decoder); with UseNorm it gets iTransformer's
// normalisation, which TSLib's Transformer does not have. With TokenConv
// the values are embedded by TSLib's TokenEmbedding itself (the time-series
// tasks use it). N is fixed at build time. Its task heads (reconstruction: each token back to its N
// values; classification) are TSLib's, checked against PyTorch in
// parity_test.go.

import (
	"fmt"
	"math"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// Transformer is the temporal-token baseline.
type Transformer struct {
	Cfg   Config
	Value *nn.Linear // enc_embedding.value_embedding: Linear(N → D); nil with TokenConv
	// Conv is TokenConv's kernel [D, N, 3] (PyTorch's Conv1d layout):
	// enc_embedding.value_embedding.tokenConv.weight.
	Conv    *autograd.Var
	Time    *nn.Linear // enc_embedding.temporal_embedding: Linear(F → D), no bias
	Encoder *encoder
	Head    *nn.Linear // projection: Linear(L·D → S·N); per token Linear(D → N) for reconstruction; nil for classification
	// Class is the classification head, Linear(L·D → classes).
	Class     *nn.Linear
	positions *tensor.Tensor
}

func init() {
	Register("transformer", func(c Config, rng *tensor.RNG) (Model, error) {
		if err := c.checkTransformer(); err != nil {
			return nil, err
		}
		if c.Variates < 1 {
			return nil, fmt.Errorf("transformer: variates %d, want the number of input columns", c.Variates)
		}
		m := &Transformer{Cfg: c}
		if c.TokenConv {
			// TSLib: kaiming_normal_(mode="fan_in", nonlinearity="leaky_relu").
			m.Conv = autograd.NewParam("enc_embedding.value_embedding.tokenConv.weight", autograd.RoleMatrix,
				tensor.KaimingNormal(rng, tensor.Gain("leaky_relu", 0), tensor.FanIn, c.DModel, c.Variates, 3))
		} else {
			m.Value = nn.NewTorchLinear("enc_embedding.value_embedding", c.Variates, c.DModel, true, rng)
		}
		if c.Marks > 0 {
			m.Time = nn.NewTorchLinear("enc_embedding.temporal_embedding", c.Marks, c.DModel, false, rng)
		}
		var err error
		if m.Encoder, err = newEncoder(c, rng); err != nil {
			return nil, err
		}
		switch c.Task {
		case TaskClassification:
			m.Class = nn.NewTorchLinear("projection", c.Lookback*c.DModel, c.Classes, true, rng)
		case TaskReconstruction: // Time-Series-Library's anomaly/imputation head: each token back to its N values
			m.Head = nn.NewTorchLinear("projection", c.DModel, c.Variates, true, rng)
		default:
			m.Head = nn.NewTorchLinear("projection", c.Lookback*c.DModel, c.Horizon*c.Variates, true, rng)
		}
		// Sinusoidal positions [L, D] (Time-Series-Library's PositionalEmbedding).
		pe := tensor.New(tensor.Float32, c.Lookback, c.DModel)
		for p := range c.Lookback {
			for i := 0; i < c.DModel; i += 2 {
				div := math.Exp(-float64(i) * math.Log(10000) / float64(c.DModel))
				pe.Set(math.Sin(float64(p)*div), p, i)
				if i+1 < c.DModel {
					pe.Set(math.Cos(float64(p)*div), p, i+1)
				}
			}
		}
		m.positions = pe
		return m, nil
	})
}

// Params returns the parameters.
func (m *Transformer) Params() []*autograd.Var {
	out := m.Value.Params()
	if m.Conv != nil {
		out = append(out, m.Conv)
	}
	return append(out, nn.Collect(m.Time, m.Encoder, m.Head, m.Class)...)
}

// embed maps x [B, L, N] to token values [B, L, D]: Linear(N → D) per
// step, or with TokenConv the circular kernel-3 convolution
// Σ_k W[:, :, k]·x[t − 1 + k mod L].
func (m *Transformer) embed(x *autograd.Var) *autograd.Var {
	if m.Conv == nil {
		return m.Value.Forward(x)
	}
	B, L, N := x.Dim(0), x.Dim(1), x.Dim(2)
	D := m.Cfg.DModel
	padded := autograd.Concat(1, autograd.Slice(x, 1, L-1, L), x, autograd.Slice(x, 1, 0, 1)) // [B, L+2, N]
	taps := autograd.Concat(2, autograd.Slice(padded, 1, 0, L), autograd.Slice(padded, 1, 1, L+1), autograd.Slice(padded, 1, 2, L+2))
	w := autograd.Reshape(autograd.Contiguous(autograd.Permute(m.Conv, 0, 2, 1)), D, 3*N) // [D, (k, n)]
	return autograd.Reshape(autograd.MatMul(autograd.Reshape(autograd.Contiguous(taps), B*L, 3*N), w, false, true), B, L, D)
}

// Classify maps x [B, L, N] and its padding mask to logits [B, classes]:
// the encoded tokens through GELU and dropout, padded steps zeroed,
// flattened, as Time-Series-Library's classification.
func (m *Transformer) Classify(ctx *nn.Ctx, x *autograd.Var, mask *tensor.Tensor) *autograd.Var {
	B, L := x.Dim(0), x.Dim(1)
	if x.Dim(2) != m.Cfg.Variates || L != m.Cfg.Lookback {
		panic(fmt.Sprintf("forecast: transformer classifier built for [%d, %d] windows, given [%d, %d]", m.Cfg.Lookback, m.Cfg.Variates, L, x.Dim(2)))
	}
	h := autograd.Add(m.embed(x), autograd.Const(m.positions.To(x.Value.DType())))
	h = m.Encoder.Forward(ctx, ctx.Dropout(h, m.Cfg.Dropout))
	h = ctx.Dropout(autograd.Gelu(h), m.Cfg.Dropout)
	if mask != nil {
		h = autograd.Mul(h, padMask(mask, h))
	}
	return m.Class.Forward(autograd.Reshape(h, B, L*m.Cfg.DModel))
}

// Forward maps x [B, L, N] and marks [B, L, F] to [B, S, N].
func (m *Transformer) Forward(ctx *nn.Ctx, x, marks *autograd.Var) *autograd.Var {
	if m.Head == nil {
		notForecasting(m.Cfg)
	}
	B, L, N := x.Dim(0), x.Dim(1), x.Dim(2)
	if N != m.Cfg.Variates {
		panic(fmt.Sprintf("forecast: transformer built for %d variates, given %d", m.Cfg.Variates, N))
	}
	restore := func(y *autograd.Var) *autograd.Var { return y }
	if m.Cfg.UseNorm {
		x, restore = normalise(x)
	}
	h := autograd.Add(m.embed(x), autograd.Const(m.positions.To(x.Value.DType()))) // [B, L, D]
	if m.Time != nil && marks != nil {
		h = autograd.Add(h, m.Time.Forward(marks))
	}
	h = m.Encoder.Forward(ctx, ctx.Dropout(h, m.Cfg.Dropout))
	if m.Cfg.Task == TaskReconstruction {
		return restore(m.Head.Forward(h)) // [B, L, N]
	}
	y := m.Head.Forward(autograd.Reshape(h, B, L*m.Cfg.DModel)) // [B, S·N]
	return restore(autograd.Reshape(y, B, m.Cfg.Horizon, N))
}

// Config returns the configuration.
func (m *Transformer) Config() Config { return m.Cfg }
