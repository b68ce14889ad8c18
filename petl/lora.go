// Package petl holds parameter-efficient transfer-learning methods: modules
// injected into a built or loaded model (nn.ReplaceAll) that train a few
// parameters while the model's own stay frozen.
//
// LoRA (Hu et al., arXiv 2106.09685): a frozen layer W gets a trainable
// low-rank update, y = W·x + (alpha/r)·B·A·x with A [r, in] and B [out, r];
// B starts at zero so the adapted model starts as the base model. The
// update merges into W (Merge) and saves in Hugging Face PEFT's layout
// (SavePEFT, LoadPEFT).
//
// Bottleneck adapters (adapter.go): Houlsby (after attention and FFN) and
// Pfeiffer (after the FFN), sequential or parallel, near-identity init;
// PETL-AST's conformer adapter (conformer.go); deep prompts (prompt.go,
// encoders); key/value prefixes (prefix.go, encoders and decoders). Spec
// (spec.go) names any method with its settings, applies it (with BitFit,
// a linear probe or full fine-tuning), and saves and loads what it trained.
package petl

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/internal/kernels"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// LoRAConfig says where and how LoRA is injected, with PEFT's
// LoraConfig names and defaults.
type LoRAConfig struct {
	Rank  int     // r
	Alpha float64 // lora_alpha; the update is scaled by Alpha/Rank
	// Targets are module names matched on their last part, as PEFT's
	// target_modules: "q_proj", "v_proj".
	Targets []string
}

// Scale is alpha/r.
func (c LoRAConfig) Scale() float64 { return c.Alpha / float64(c.Rank) }

// LoRA is a layer with a low-rank update: Forward(x) = Base(x) +
// Scale·(x·Aᵀ)·Bᵀ. Its parameters are Base's (frozen by Apply) and A, B,
// named <module>.lora_A.weight and <module>.lora_B.weight as PEFT names
// them.
type LoRA struct {
	Base  nn.Layer
	A     *autograd.Var // [r, in]
	B     *autograd.Var // [out, r]
	Scale float64
}

// NewLoRA wraps base (named name) with a rank-r update: A initialised as
// PEFT does (Kaiming-uniform with a = √5, i.e. U(−1/√in, 1/√in)), B zero.
func NewLoRA(name string, base nn.Layer, cfg LoRAConfig, r *tensor.RNG) (*LoRA, error) {
	in, out := base.InFeatures(), base.OutFeatures()
	if cfg.Rank < 1 || cfg.Rank > min(in, out) {
		return nil, fmt.Errorf("petl: LoRA rank %d for %s (%d → %d): want 1 … %d", cfg.Rank, name, in, out, min(in, out))
	}
	bound := 1 / math.Sqrt(float64(in))
	return &LoRA{Base: base, Scale: cfg.Scale(),
		A: autograd.NewParam(nn.Join(name, "lora_A.weight"), autograd.RoleFactor, tensor.Uniform(r, -bound, bound, cfg.Rank, in)),
		B: autograd.NewParam(nn.Join(name, "lora_B.weight"), autograd.RoleFactor, tensor.Zeros(out, cfg.Rank))}, nil
}

// Forward maps x [..., in] to [..., out].
func (l *LoRA) Forward(x *autograd.Var) *autograd.Var {
	up := autograd.Linear(autograd.Linear(x, l.A, nil), l.B, nil)
	return autograd.Add(l.Base.Forward(x), autograd.MulScalar(up, l.Scale))
}

// Params returns Base's parameters, then A and B.
func (l *LoRA) Params() []*autograd.Var { return append(l.Base.Params(), l.A, l.B) }

// InFeatures is Base's.
func (l *LoRA) InFeatures() int { return l.Base.InFeatures() }

// OutFeatures is Base's.
func (l *LoRA) OutFeatures() int { return l.Base.OutFeatures() }

// Adapter returns A and B.
func (l *LoRA) Adapter() []*autograd.Var { return []*autograd.Var{l.A, l.B} }

// Apply freezes every parameter of model and wraps each nn.Linear whose
// name ends in one of cfg.Targets with LoRA (seeded by seed); it returns
// the wrapped modules. A target that matches nothing is an error naming it.
func Apply(model nn.Module, cfg LoRAConfig, seed uint64) ([]*LoRA, error) {
	if len(cfg.Targets) == 0 {
		return nil, fmt.Errorf("petl: LoRA needs target modules (e.g. q_proj, v_proj)")
	}
	nn.Freeze(model)
	r := tensor.NewRNG(seed)
	var added []*LoRA
	hit := map[string]bool{}
	_, err := nn.ReplaceAll(model, func(n *nn.Node) bool {
		if _, ok := n.Module.(*nn.Linear); !ok {
			return false
		}
		for _, t := range cfg.Targets {
			if n.Name == t || strings.HasSuffix(n.Name, "."+t) {
				hit[t] = true
				return true
			}
		}
		return false
	}, func(n *nn.Node) (nn.Module, error) {
		l, err := NewLoRA(n.Name, n.Module.(*nn.Linear), cfg, r)
		if err != nil {
			return nil, err
		}
		added = append(added, l)
		return l, nil
	})
	if err != nil {
		return nil, err
	}
	for _, t := range cfg.Targets {
		if !hit[t] {
			return nil, fmt.Errorf("petl: LoRA target %q matches no linear layer of the model", t)
		}
	}
	return added, nil
}

// Merge replaces every LoRA of model by its base layer with the update
// added to the weight, W + Scale·B·A (a new tensor: the frozen base weight
// is not changed in place), and returns how many it merged.
func Merge(model nn.Module) (int, error) {
	return nn.ReplaceAll(model, func(n *nn.Node) bool {
		_, ok := n.Module.(*LoRA)
		return ok
	}, func(n *nn.Node) (nn.Module, error) {
		l := n.Module.(*LoRA)
		base, ok := l.Base.(*nn.Linear)
		if !ok {
			return nil, fmt.Errorf("petl: cannot merge LoRA into a %T", l.Base)
		}
		if dt := base.Weight.Value.DType(); dt != tensor.Float32 {
			return nil, fmt.Errorf("petl: cannot merge LoRA into %s held as %v: load the model with float32 weights", base.Weight.Name, dt)
		}
		w := base.Weight.Value.Clone()
		delta := tensor.MatMul(l.B.Value, l.A.Value, false, false) // [out, in]
		kernels.Axpy(w.F32(), delta.F32(), float32(l.Scale))
		merged := &nn.Linear{Weight: autograd.NewParam(base.Weight.Name, base.Weight.Role, w), Bias: base.Bias}
		if base.Weight.Frozen() {
			merged.Weight.Freeze()
		}
		return merged, nil
	})
}

// Adapters returns the LoRA modules of model, in tree order.
func Adapters(model nn.Module) []*LoRA {
	var out []*LoRA
	for _, n := range nn.Modules(model) {
		if l, ok := n.Module.(*LoRA); ok {
			out = append(out, l)
		}
	}
	return out
}

// adapterParams returns the A and B parameters of model's LoRA modules.
func adapterParams(model nn.Module) []*autograd.Var {
	var out []*autograd.Var
	for _, l := range Adapters(model) {
		out = append(out, l.Adapter()...)
	}
	return out
}

// targetsOf returns the distinct last name parts of model's LoRA modules.
func targetsOf(model nn.Module) []string {
	var out []string
	for _, p := range adapterParams(model) {
		parts := strings.Split(strings.TrimSuffix(p.Name, ".lora_A.weight"), ".")
		if t := parts[len(parts)-1]; strings.HasSuffix(p.Name, ".lora_A.weight") && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}
