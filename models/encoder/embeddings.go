package encoder

import (
	"fmt"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// TextEmbeddings are BERT's: word + token type (0) + absolute position,
// then LayerNorm and dropout (BertEmbeddings).
type TextEmbeddings struct {
	Word, Position, TokenType *nn.Embedding
	Norm                      nn.Norm
	Dropout                   float64
}

func newTextEmbeddings(c *Config, prefix string, init nn.Init) *TextEmbeddings {
	e := &TextEmbeddings{
		Word:      nn.NewEmbedding(nn.Join(prefix, "word_embeddings"), c.VocabSize, c.HiddenSize, init),
		Position:  nn.NewEmbedding(nn.Join(prefix, "position_embeddings"), c.MaxPositionEmbeddings, c.HiddenSize, init),
		TokenType: nn.NewEmbedding(nn.Join(prefix, "token_type_embeddings"), c.TypeVocabSize, c.HiddenSize, init),
		Norm:      nn.NewLayerNorm(nn.Join(prefix, "LayerNorm"), c.HiddenSize, c.LayerNormEps, true),
		Dropout:   c.HiddenDropoutProb,
	}
	if c.PadTokenID != nil && !init.Empty {
		// transformers zeroes the padding row at initialisation.
		w := e.Word.Weight.Value
		for j := range c.HiddenSize {
			w.Set(0, *c.PadTokenID, j)
		}
	}
	return e
}

// Forward embeds b.IDs [B×T] as [B, T, D].
func (e *TextEmbeddings) Forward(ctx *nn.Ctx, b *Batch) *autograd.Var {
	if b.T > e.Position.Weight.Dim(0) {
		panic(fmt.Sprintf("encoder: %d tokens per row, the model has %d positions", b.T, e.Position.Weight.Dim(0)))
	}
	pos := make([]int, b.T)
	for i := range pos {
		pos[i] = i
	}
	x := autograd.Add(e.Word.Forward(b.IDs, b.B, b.T), e.Position.Forward(pos, 1, b.T))
	x = autograd.Add(x, e.TokenType.Forward([]int{0}, 1, 1))
	return ctx.Dropout(e.Norm.Forward(x), e.Dropout)
}

// Params returns the three tables and the norm's parameters.
func (e *TextEmbeddings) Params() []*autograd.Var {
	return nn.Collect(e.Word, e.Position, e.TokenType, e.Norm)
}

// PatchEmbeddings are AST's (ASTEmbeddings): the [frames, mel bins]
// spectrogram, viewed as an image [mel bins, frames], is cut into
// overlapping patch_size² patches with strides (frequency_stride,
// time_stride) (a Conv2d, stored [D, 1, P, P] as transformers stores it),
// flattened frequency-major, and prefixed by the CLS and distillation
// tokens; learned positions are added.
type PatchEmbeddings struct {
	Proj, ProjBias *autograd.Var // [D, 1, P, P], [D]
	CLS, Dist      *autograd.Var // [1, 1, D]
	Positions      *autograd.Var // [1, 2+patches, D]
	Dropout        float64
	cfg            *Config
}

func newPatchEmbeddings(c *Config, prefix string, init nn.Init) *PatchEmbeddings {
	fo, to := c.Patches()
	D, P := c.HiddenSize, c.PatchSize
	return &PatchEmbeddings{
		Proj:      autograd.NewParam(nn.Join(prefix, "patch_embeddings.projection.weight"), autograd.RoleMatrix, init.Normal(D, 1, P, P)),
		ProjBias:  autograd.NewParam(nn.Join(prefix, "patch_embeddings.projection.bias"), autograd.RoleBias, tensor.Zeros(D)),
		CLS:       autograd.NewParam(nn.Join(prefix, "cls_token"), autograd.RoleEmbedding, init.Normal(1, 1, D)),
		Dist:      autograd.NewParam(nn.Join(prefix, "distillation_token"), autograd.RoleEmbedding, init.Normal(1, 1, D)),
		Positions: autograd.NewParam(nn.Join(prefix, "position_embeddings"), autograd.RoleEmbedding, init.Normal(1, fo*to+2, D)),
		Dropout:   c.HiddenDropoutProb,
		cfg:       c,
	}
}

// Patches cuts features [B, frames, bins] into [B, patches, P·P] rows in
// the convolution's order (patch (f, t) at row f·T′ + t; within a patch,
// element (r, s) at r·P + s reads bin f·fs + r of frame t·ts + s).
func Patches(c *Config, feats *tensor.Tensor) *tensor.Tensor {
	B, T, F := feats.Dim(0), feats.Dim(1), feats.Dim(2)
	fo, to := c.Patches()
	P, fs, ts := c.PatchSize, c.FrequencyStride, c.TimeStride
	src := feats.Float32s()
	out := tensor.New(tensor.Float32, B, fo*to, P*P)
	dst := out.F32()
	for b := range B {
		for f := range fo {
			for t := range to {
				row := dst[((b*fo+f)*to+t)*P*P:]
				for r := range P {
					for s := range P {
						row[r*P+s] = src[(b*T+t*ts+s)*F+f*fs+r]
					}
				}
			}
		}
	}
	return out
}

// Forward embeds b.Features [B, max_length, num_mel_bins] as
// [B, 2+patches, D].
func (e *PatchEmbeddings) Forward(ctx *nn.Ctx, b *Batch) *autograd.Var {
	c := e.cfg
	if f := b.Features; f == nil || f.NDim() != 3 || f.Dim(1) != c.MaxLength || f.Dim(2) != c.NumMelBins {
		panic(fmt.Sprintf("encoder: AST features must be [B, %d, %d] (max_length, num_mel_bins)", c.MaxLength, c.NumMelBins))
	}
	B, D, P := b.Features.Dim(0), c.HiddenSize, c.PatchSize
	x := autograd.Linear(autograd.Const(Patches(c, b.Features)), autograd.Reshape(e.Proj, D, P*P), e.ProjBias)
	cls := autograd.Expand(e.CLS, B, 1, D)
	dist := autograd.Expand(e.Dist, B, 1, D)
	x = autograd.Add(autograd.Concat(1, cls, dist, x), e.Positions)
	return ctx.Dropout(x, e.Dropout)
}

// Params returns the projection, the special tokens and the positions.
func (e *PatchEmbeddings) Params() []*autograd.Var {
	return []*autograd.Var{e.CLS, e.Dist, e.Positions, e.Proj, e.ProjBias}
}
