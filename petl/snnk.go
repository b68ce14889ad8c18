package petl

import (
	"fmt"
	"math"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// SNNK adapters (Sehanobish et al., "Scalable Neural Network Kernels",
// arXiv 2310.13225; official code arijitthegame/neural-network-kernels,
// src/nnk/custom_adapter.py CustomReluAdapter with NNK_Relu): a bottleneck
// adapter whose down-projection with its ReLU, relu(W x) with W [k, d],
// is replaced by a ReLU-SNNK layer Ψ φ(x), φ(x) = m^{-1/2} max(Gx, 0) with a
// fixed random G [m, d] and Ψ [k, m] trainable:
//
//	y = S(x) + Up(Ψ φ(S(x)))  (sequential, the code's placement)
//	y = S(x) + Up(Ψ φ(x))     (parallel)
//
// The down-projection's k·d parameters become k·m. As in the code's "mam"
// initialisation, W is drawn Kaiming-uniform (a = √5: U(±1/√d)) and Ψ is
// set to its rows' features ψ(Wᵢ), and Up is zero (weights and bias), so
// the adapter starts as the identity; Up's gradient is non-zero at once,
// Ψ's from the second step. Bottleneck 0 is the code's down_sample=None
// variant, the one its GLUE script runs: W [d, d] drawn N(0, 0.02²) (its
// "bert" initialisation), Ψ [d, m], and no up-projection but a zero
// modulating vector s [d]: y = S(x) + s ⊙ Ψ φ(·), d·m + d parameters. One adapter after each FFN (Pfeiffer's place;
// the official BERT code also puts one after attention). G is drawn from
// the Spec's feature seed (one draw per adapter, in the model's order), so
// a saved adapter reloads with the same features. Parameters are named
// <sublayer>.snnk.psi and <sublayer>.snnk.up.weight/bias.

// SNNKConfig says how SNNK adapters are injected.
type SNNKConfig struct {
	Features    int  // m, random features
	Bottleneck  int  // k, the SNNK layer's outputs; 0: d outputs and a modulating vector
	Orthogonal  bool // block-orthogonal G
	Parallel    bool // beside the FFN (on its input) rather than after it
	FeatureSeed uint64
}

// snnkBranch is the adapter network: Up, or else the modulating vector
// Scale, after the SNNK layer.
type snnkBranch struct {
	Down  *nn.SNNK
	Up    *nn.Linear
	Scale *autograd.Var
}

func (b *snnkBranch) forward(x *autograd.Var) *autograd.Var {
	if b.Scale != nil {
		return autograd.Mul(b.Down.Forward(x), b.Scale)
	}
	return b.Up.Forward(b.Down.Forward(x))
}

func (b *snnkBranch) params() []*autograd.Var {
	if b.Scale != nil {
		return append(b.Down.Params(), b.Scale)
	}
	return nn.Collect(b.Down, b.Up)
}

// ApplySNNK freezes model and injects an SNNK adapter after (or beside)
// every FFN of a residual stream of width d. It returns how many it
// injected.
func ApplySNNK(model nn.Module, d int, cfg SNNKConfig, seed uint64) (int, error) {
	if cfg.Features < 1 {
		return 0, fmt.Errorf("petl: SNNK random features %d: want at least 1", cfg.Features)
	}
	if cfg.Bottleneck < 0 || cfg.Bottleneck > d {
		return 0, fmt.Errorf("petl: SNNK adapter bottleneck %d (width %d): want 1 … %d, or 0 for the modulating vector", cfg.Bottleneck, d, d)
	}
	attnName, ffnName := sublayerNames(model)
	r := tensor.NewRNG(seed)
	gs := tensor.NewRNG(cfg.FeatureSeed)
	count, err := inject(model, attnName, ffnName, false, cfg.Parallel, func(name string) (branch, error) {
		var w *tensor.Tensor
		if cfg.Bottleneck == 0 {
			w = tensor.Normal(r, 0, 0.02, d, d)
		} else {
			w = tensor.Uniform(r, -1/math.Sqrt(float64(d)), 1/math.Sqrt(float64(d)), cfg.Bottleneck, d)
		}
		down, err := nn.NewSNNK(nn.Join(name, "snnk"), w, nil, nn.SNNKConfig{Kernel: "relu", Features: cfg.Features, Orthogonal: cfg.Orthogonal, Seed: gs.Uint64()})
		if err != nil {
			return nil, err
		}
		if cfg.Bottleneck == 0 {
			return &snnkBranch{Down: down, Scale: autograd.NewParam(nn.Join(name, "snnk", "scale"), autograd.RoleBias, tensor.Zeros(d))}, nil
		}
		up := &nn.Linear{Weight: autograd.NewParam(nn.Join(name, "snnk", "up", "weight"), autograd.RoleMatrix, tensor.Zeros(d, cfg.Bottleneck)),
			Bias: autograd.NewParam(nn.Join(name, "snnk", "up", "bias"), autograd.RoleBias, tensor.Zeros(d))}
		return &snnkBranch{Down: down, Up: up}, nil
	})
	if err == nil && count == 0 {
		err = fmt.Errorf("petl: no FFN sublayer named %q to put an SNNK adapter after", ffnName)
	}
	return count, err
}
