package petl

import (
	"fmt"
	"regexp"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// Deep prompt tuning (Jia et al., VPT-deep, arXiv 2203.12119; Lester et
// al., arXiv 2104.08691 for the input-only form), as PETL-AST compares it
// (src/AST_prompt_tuning.py, PromptAST): every layer of an encoder gets P
// trainable tokens inserted after the model's leading special tokens
// (BERT's [CLS]; AST's CLS and distillation tokens); the layer's outputs at
// those positions are dropped, so the next layer sees its own prompts.
// Initialised as the official code does, uniform in ±√(6/(3·256+768)).
// (The official code makes the first layer's prompts replace AST's
// distillation token; loom keeps it, so the pooled output is AST's.)
// Parameters are named <layer>.prompt, [P, D].
//
// Prompts change the positions of a sequence, which a decoder's cache and
// rotary embeddings depend on: ApplyPrompts takes encoders (models that say
// how many leading tokens to keep, PromptModel); decoders take prefix
// tuning instead.

// PromptModel is a model whose layers take deep prompts.
type PromptModel interface {
	nn.Module
	// PromptAfter is the number of leading special tokens the prompts
	// follow.
	PromptAfter() int
}

// block is an encoder layer.
type block interface {
	nn.Module
	Forward(ctx *nn.Ctx, x *autograd.Var) *autograd.Var
}

// PromptBlock is a layer with its own deep prompts.
type PromptBlock struct {
	Inner  block
	Prompt *autograd.Var // [P, D]
	After  int
}

// Forward inserts the prompts after the leading tokens of x [B, T, D],
// runs the layer on [B, T+P, D] and drops the prompts' outputs.
func (p *PromptBlock) Forward(ctx *nn.Ctx, x *autograd.Var) *autograd.Var {
	B, T, D, P := x.Dim(0), x.Dim(1), x.Dim(2), p.Prompt.Dim(0)
	pr := autograd.Expand(autograd.Unsqueeze(p.Prompt, 0), B, P, D)
	y := autograd.Concat(1, autograd.Slice(x, 1, 0, p.After), pr, autograd.Slice(x, 1, p.After, T))
	c := ctx
	if ctx != nil && ctx.Mask.KeyLengths != nil {
		cc := *ctx
		cc.Mask.KeyLengths = shifted(ctx.Mask.KeyLengths, P)
		c = &cc
	}
	y = p.Inner.Forward(c, y)
	return autograd.Concat(1, autograd.Slice(y, 1, 0, p.After), autograd.Slice(y, 1, p.After+P, T+P))
}

// Params returns the layer's parameters, then the prompts.
func (p *PromptBlock) Params() []*autograd.Var { return append(p.Inner.Params(), p.Prompt) }

var layerPath = regexp.MustCompile(`^Layers\[\d+\]$`)

// ApplyPrompts freezes model and gives each of its layers P deep prompts
// of width d; it returns how many layers it changed.
func ApplyPrompts(model nn.Module, d, P int, seed uint64) (int, error) {
	pm, ok := model.(PromptModel)
	if !ok {
		return 0, fmt.Errorf("petl: deep prompt tuning needs an encoder (a %T changes positions its cache and rotary embeddings rely on); use prefix tuning", model)
	}
	if P < 1 {
		return 0, fmt.Errorf("petl: %d prompt tokens, want at least 1", P)
	}
	nn.Freeze(model)
	r := tensor.NewRNG(seed)
	count, err := nn.ReplaceAll(model, func(n *nn.Node) bool {
		_, ok := n.Module.(block)
		return ok && layerPath.MatchString(n.Path)
	}, func(n *nn.Node) (nn.Module, error) {
		return &PromptBlock{Inner: n.Module.(block), After: pm.PromptAfter(),
			Prompt: autograd.NewParam(nn.Join(n.Name, "prompt"), autograd.RoleEmbedding, tensor.Uniform(r, -prefixInit, prefixInit, P, d))}, nil
	})
	if err == nil && count == 0 {
		err = fmt.Errorf("petl: the model has no layers for prompts")
	}
	return count, err
}
