package petl

import (
	"fmt"
	"strings"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// Bottleneck adapters (Houlsby et al., arXiv 1902.00751; Pfeiffer et al.,
// arXiv 2005.00247, as PETL-AST uses them): a small MLP d → m → d with a
// GELU, added to a sublayer's output.
//
//   - sequential: y = S(x) + Up(GELU(Down(S(x)))), after the sublayer;
//   - parallel:   y = S(x) + Up(GELU(Down(x))), beside it, on its input.
//
// Houlsby places one after the attention and one after the FFN of every
// block, Pfeiffer one after the FFN only. The adapter starts near the
// identity as Houlsby prescribes: both projections drawn from N(0, σ²)
// with σ = 10⁻³ and zero biases, so the added branch is ~10⁻⁶ of its input
// at first. (The official PETL-AST code zero-initialises the whole
// bottleneck instead; with both projections zero neither gets a gradient
// through the other's zeros at the first step, except the up-projection's
// bias — loom does not copy it.) Parameters are named
// <sublayer>.adapter.down/up.weight/bias.

// AdapterConfig says where and how bottleneck adapters are injected.
type AdapterConfig struct {
	Bottleneck int    // m
	Parallel   bool   // beside the sublayer (on its input) rather than after it
	Attention  bool   // also after attention (Houlsby); FFN-only is Pfeiffer
	FFNName    string // last part of the FFN modules' names ("mlp")
	AttnName   string // last part of the attention modules' names ("self_attn")
}

// adapterInitStd is Houlsby's near-identity initialisation.
const adapterInitStd = 1e-3

// bottleneck is the adapter MLP.
type bottleneck struct {
	Down, Up *nn.Linear
}

func newBottleneck(name string, d, m int, r *tensor.RNG) (*bottleneck, error) {
	if m < 1 || m > d {
		return nil, fmt.Errorf("petl: adapter bottleneck %d for %s (width %d): want 1 … %d", m, name, d, d)
	}
	return &bottleneck{Down: nearZero(nn.Join(name, "adapter", "down"), d, m, r), Up: nearZero(nn.Join(name, "adapter", "up"), m, d, r)}, nil
}

// nearZero is a Linear in → out named prefix with Houlsby's near-identity
// initialisation: weights from N(0, σ²), σ = adapterInitStd, zero bias.
func nearZero(prefix string, in, out int, r *tensor.RNG) *nn.Linear {
	return &nn.Linear{
		Weight: autograd.NewParam(nn.Join(prefix, "weight"), autograd.RoleMatrix, tensor.Normal(r, 0, adapterInitStd, out, in)),
		Bias:   autograd.NewParam(nn.Join(prefix, "bias"), autograd.RoleBias, tensor.Zeros(out))}
}

func (b *bottleneck) forward(x *autograd.Var) *autograd.Var {
	return b.Up.Forward(autograd.Gelu(b.Down.Forward(x)))
}

func (b *bottleneck) params() []*autograd.Var { return nn.Collect(b.Down, b.Up) }

// branch is an adapter's network: a bottleneck or a conformer module.
type branch interface {
	forward(x *autograd.Var) *autograd.Var
	params() []*autograd.Var
}

// FFNAdapter is an FFN with an adapter (bottleneck or conformer) after it
// or beside it.
type FFNAdapter struct {
	Inner    nn.FFN
	adapter  branch
	parallel bool
}

// Forward maps x through the FFN and the adapter.
func (a *FFNAdapter) Forward(x *autograd.Var) *autograd.Var { return a.ForwardCtx(nil, x) }

// ForwardCtx is Forward with the context, which the FFN gets when it
// takes one (a mixture: nn.CtxFFN).
func (a *FFNAdapter) ForwardCtx(ctx *nn.Ctx, x *autograd.Var) *autograd.Var {
	return addBranch(a.adapter, a.parallel, x, nn.ApplyFFN(ctx, a.Inner, x))
}

// addBranch adds br's output on a sublayer's input x (parallel) or on its
// output y (sequential) to y.
func addBranch(br branch, parallel bool, x, y *autograd.Var) *autograd.Var {
	if parallel {
		return autograd.Add(y, br.forward(x))
	}
	return autograd.Add(y, br.forward(y))
}

// Params returns the FFN's parameters, then the adapter's.
func (a *FFNAdapter) Params() []*autograd.Var { return append(a.Inner.Params(), a.adapter.params()...) }

// AttentionAdapter is an attention sublayer with a bottleneck adapter.
type AttentionAdapter struct {
	Inner    nn.Mixer
	adapter  branch
	parallel bool
}

// Forward attends and applies the adapter.
func (a *AttentionAdapter) Forward(ctx *nn.Ctx, x *autograd.Var) *autograd.Var {
	return addBranch(a.adapter, a.parallel, x, a.Inner.Forward(ctx, x))
}

// NewKVCache is the attention's.
func (a *AttentionAdapter) NewKVCache(batch, capacity int) nn.KVCache {
	return a.Inner.NewKVCache(batch, capacity)
}

// Params returns the attention's parameters, then the adapter's.
func (a *AttentionAdapter) Params() []*autograd.Var {
	return append(a.Inner.Params(), a.adapter.params()...)
}

// Sublayers is implemented by a model family whose attention and FFN
// sublayers are not named as a decoder's (self_attn, mlp): it returns the
// last part of their checkpoint names or Go paths ("Attn", "FFN").
type Sublayers interface {
	SublayerNames() (attn, ffn string)
}

// sublayerNames returns model's attention and FFN sublayer names.
func sublayerNames(model nn.Module) (attn, ffn string) {
	if s, ok := model.(Sublayers); ok {
		return s.SublayerNames()
	}
	return "self_attn", "mlp"
}

// named reports whether n's checkpoint name or Go path ends in last.
func named(n *nn.Node, last string) bool {
	return n.Name == last || strings.HasSuffix(n.Name, "."+last) || strings.HasSuffix(n.Path, "."+last) || n.Path == last
}

// ApplyAdapters freezes model and injects bottleneck adapters of width
// cfg.Bottleneck into every FFN (and, with cfg.Attention, every attention)
// sublayer whose name ends in cfg.FFNName (cfg.AttnName), for a residual
// stream of width d. It returns how many it injected.
func ApplyAdapters(model nn.Module, d int, cfg AdapterConfig, seed uint64) (int, error) {
	attnName, ffnName := sublayerNames(model)
	if cfg.FFNName != "" {
		ffnName = cfg.FFNName
	}
	if cfg.AttnName != "" {
		attnName = cfg.AttnName
	}
	r := tensor.NewRNG(seed)
	count, err := inject(model, attnName, ffnName, cfg.Attention, cfg.Parallel, func(name string) (branch, error) {
		return newBottleneck(name, d, cfg.Bottleneck, r)
	})
	if err == nil && count == 0 {
		err = fmt.Errorf("petl: no sublayer named %q or %q to put an adapter in", ffnName, attnName)
	}
	return count, err
}

// inject freezes model and wraps every FFN sublayer named ffnName (and,
// with attention, every token mixer named attnName) with a branch newBranch
// makes for the sublayer's checkpoint name, beside or after it. It returns
// how many it wrapped.
func inject(model nn.Module, attnName, ffnName string, attention, parallel bool, newBranch func(name string) (branch, error)) (int, error) {
	nn.Freeze(model)
	return nn.ReplaceAll(model, func(n *nn.Node) bool {
		switch n.Module.(type) {
		case nn.FFN:
			return named(n, ffnName)
		case nn.Mixer:
			return attention && named(n, attnName)
		}
		return false
	}, func(n *nn.Node) (nn.Module, error) {
		b, err := newBranch(n.Name)
		if err != nil {
			return nil, err
		}
		if f, ok := n.Module.(nn.FFN); ok {
			return &FFNAdapter{Inner: f, adapter: b, parallel: parallel}, nil
		}
		return &AttentionAdapter{Inner: n.Module.(nn.Mixer), adapter: b, parallel: parallel}, nil
	})
}
