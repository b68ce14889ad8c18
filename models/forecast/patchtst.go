package forecast

// PatchTST, from "A Time Series is Worth 64 Words: Long-term Forecasting
// with Transformers" (Nie, Nguyen, Sinthong, Kalagnanam; arXiv 2211.14730),
// as Time-Series-Library's models/PatchTST.py builds it: each variate on
// its own (channel independence: the variates share every weight and
// never attend to one another), normalised per sample, padded at the end
// by repeating its last value for one stride, cut into patches of
// PatchLen steps every Stride steps ((L − PatchLen)/Stride + 2 patches),
// each patch embedded by Linear(PatchLen → D, no bias) plus sinusoidal
// positions, the post-norm encoder with a final BatchNorm over d_model,
// and a flatten head Linear(D·patches → S) shared by the variates. The
// classification head flattens every variate's patches into one
// Linear(N·D·patches → classes).

import (
	"fmt"
	"math"
	"strconv"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// PatchTST is the channel-independent patch Transformer.
type PatchTST struct {
	Cfg       Config
	Embed     *nn.Linear // patch_embedding.value_embedding: Linear(PatchLen → D), no bias
	Layers    []*encoderLayer
	Norm      *nn.BatchNorm1d // encoder.norm: BatchNorm1d(D)
	Head      *nn.Linear      // head.linear: Linear(D·P → S); nil for classification
	Class     *nn.Linear      // projection: Linear(N·D·P → classes)
	positions *tensor.Tensor  // [P, D]
	patches   int
}

func init() {
	Register("patchtst", func(c Config, rng *tensor.RNG) (Model, error) {
		if err := c.checkTransformer(); err != nil {
			return nil, err
		}
		pl, st := c.patching()
		if pl < 1 || st < 1 || pl > c.Lookback+st {
			return nil, fmt.Errorf("patchtst: patch length %d and stride %d do not fit a lookback of %d", pl, st, c.Lookback)
		}
		// The windows of PatchLen every Stride steps in the Lookback+Stride
		// padded steps: (L − PatchLen)/Stride + 2 when PatchLen ≤ L, one
		// when L < PatchLen ≤ L+Stride (Go's division truncates toward
		// zero, so (L − PatchLen)/Stride + 2 would count two there).
		P := (c.Lookback+st-pl)/st + 1
		m := &PatchTST{Cfg: c, patches: P, Embed: nn.NewTorchLinear("patch_embedding.value_embedding", pl, c.DModel, false, rng)}
		for i := range c.Layers {
			l, err := newEncoderLayer(nn.Join("encoder.attn_layers", strconv.Itoa(i)), c, rng)
			if err != nil {
				return nil, err
			}
			m.Layers = append(m.Layers, l)
		}
		m.Norm = nn.NewBatchNorm1d("encoder.norm.1", c.DModel)
		if c.Task == TaskClassification {
			m.Class = nn.NewTorchLinear("projection", c.Variates*c.DModel*P, c.Classes, true, rng)
		} else {
			m.Head = nn.NewTorchLinear("head.linear", c.DModel*P, c.Horizon, true, rng)
		}
		pe := tensor.New(tensor.Float32, P, c.DModel)
		for p := range P {
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

// patching returns the patch length and stride: Config's, or
// Time-Series-Library's 16 and 8, which on a lookback under 32 become a
// quarter and an eighth of it (at least 2 and 1), so that a short series
// is still cut into several patches.
func (c Config) patching() (int, int) {
	pl, st := c.PatchLen, c.Stride
	short := c.Lookback < 32
	if pl == 0 {
		pl = 16
		if short {
			pl = max(2, c.Lookback/4)
		}
	}
	if st == 0 {
		st = 8
		if short {
			st = max(1, c.Lookback/8)
		}
	}
	return pl, st
}

// Params returns the parameters.
func (m *PatchTST) Params() []*autograd.Var {
	out := m.Embed.Params()
	for _, l := range m.Layers {
		out = append(out, l.Params()...)
	}
	return append(out, nn.Collect(m.Norm, m.Head, m.Class)...)
}

// Buffers returns the BatchNorm's running statistics.
func (m *PatchTST) Buffers() []*autograd.Var { return m.Norm.Buffers() }

// encode maps normalised x [B, L, N] to patch features [B, N, D·P]
// (each variate's patches, position-major within a variate: [D, P]
// flattened as Time-Series-Library's permute(0, 1, 3, 2) then flatten).
func (m *PatchTST) encode(ctx *nn.Ctx, x *autograd.Var) *autograd.Var {
	B, L, N := x.Dim(0), x.Dim(1), x.Dim(2)
	if L != m.Cfg.Lookback {
		panic(fmt.Sprintf("forecast: patchtst built for lookback %d, given %d", m.Cfg.Lookback, L))
	}
	pl, st := m.Cfg.patching()
	P, D := m.patches, m.Cfg.DModel
	xs := autograd.Contiguous(autograd.Permute(x, 0, 2, 1)) // [B, N, L]
	last := autograd.Slice(xs, 2, L-1, L)                   // [B, N, 1]
	padded := autograd.Concat(2, xs, autograd.Contiguous(autograd.Expand(last, B, N, st)))
	parts := make([]*autograd.Var, P)
	for p := range P {
		parts[p] = autograd.Reshape(autograd.Contiguous(autograd.Slice(padded, 2, p*st, p*st+pl)), B, N, 1, pl)
	}
	patches := autograd.Reshape(autograd.Concat(2, parts...), B*N, P, pl) // [B·N, P, pl]
	h := autograd.Add(m.Embed.Forward(patches), autograd.Const(m.positions.To(x.Value.DType())))
	h = ctx.Dropout(h, m.Cfg.Dropout)
	for _, l := range m.Layers {
		h = l.Forward(ctx, h)
	}
	h = autograd.Reshape(m.Norm.Forward(ctx, autograd.Reshape(h, B*N*P, D)), B, N, P, D)
	return autograd.Reshape(autograd.Contiguous(autograd.Permute(h, 0, 1, 3, 2)), B, N, D*P)
}

// Forward maps x [B, L, N] to [B, S, N]; time features are not used.
func (m *PatchTST) Forward(ctx *nn.Ctx, x, _ *autograd.Var) *autograd.Var {
	if m.Head == nil {
		notForecasting(m.Cfg)
	}
	x, restore := normalise(x)
	y := ctx.Dropout(m.Head.Forward(m.encode(ctx, x)), m.Cfg.Dropout) // [B, N, S]
	return restore(autograd.Permute(y, 0, 2, 1))
}

// Impute reconstructs x [B, L, N] (missing entries zeroed; mask 1 where
// observed) normalised by the observed entries' statistics, as
// Time-Series-Library's PatchTST imputation.
func (m *PatchTST) Impute(ctx *nn.Ctx, x, _ *autograd.Var, mask *tensor.Tensor) *autograd.Var {
	if m.Head == nil {
		notForecasting(m.Cfg)
	}
	x, restore := maskedNormalise(x, mask)
	y := ctx.Dropout(m.Head.Forward(m.encode(ctx, x)), m.Cfg.Dropout) // [B, N, L]
	return restore(autograd.Permute(y, 0, 2, 1))
}

// Classify maps x [B, L, N] to logits [B, classes] (normalised per sample
// and variate as in forecasting; padded steps enter the patches as zeros).
func (m *PatchTST) Classify(ctx *nn.Ctx, x *autograd.Var, _ *tensor.Tensor) *autograd.Var {
	B := x.Dim(0)
	x, _ = normalise(x)
	h := ctx.Dropout(m.encode(ctx, x), m.Cfg.Dropout) // [B, N, D·P]
	return m.Class.Forward(autograd.Reshape(h, B, x.Dim(2)*m.Cfg.DModel*m.patches))
}

// Config returns the configuration.
func (m *PatchTST) Config() Config { return m.Cfg }
