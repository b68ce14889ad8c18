package decoder

// μP, the maximal-update parametrisation (Tensor Programs V, arXiv
// 2203.03466; microsoft/mup; for diffusion transformers "Scaling Diffusion
// Transformers Efficiently via μP", ML-GSAI/Scaling-Diffusion-Transformers-muP),
// for Adam, with width multiplier m = hidden_size / loom.base_width, set from
// parameter roles as microsoft/mup's MuAdam and MuReadout do:
//
//	role                             init std            Adam learning rate   forward
//	hidden matrices (both dims ∝ m)  σ/√m (var ∝ 1/fan_in)  η/m
//	embeddings (input)               σ                    η
//	readout lm_head                  σ (or 0)             η                    logits × 1/m
//	norms, biases                    as built             η
//	attention                                                                  scores × √d_base/d (= 1/√d at the base width)
//
// with d the head dimension and d_base its value at the base width (the
// heads fixed as the width grows: d_base = base_width / heads). Weight
// decay λ, where it applies (train.ParamGroups), is λ·m on the hidden
// matrices, so that AdamW's decay per step, lr·λ, is η·λ at every width,
// as microsoft/mup's MuAdamW sets it for torch's AdamW; λ elsewhere.
// train/mup_parity_test.go trains this model at m = 4 against
// microsoft/mup itself. Options:
// loom.mup_zero_query (q_proj starts at 0) and loom.mup_zero_readout
// (lm_head starts at 0). At the base width (m = 1) with both off, a μP
// model is the standard-parametrisation model bit for bit. The multipliers
// ride on the parameters (autograd.Var LRScale and InitScale), which
// train.ParamGroups and nn.Reinit read.

import (
	"fmt"
	"math"
	"strings"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/tensor"
)

// Parametrisations of loom.param.
const (
	ParamSP  = "sp"
	ParamMuP = "mup"
)

// MuP reports whether c is μP-parametrised.
func (c *Config) MuP() bool { return c.Loom.Param == ParamMuP }

// WidthMult returns μP's width multiplier m (1 without μP).
func (c *Config) WidthMult() float64 {
	if !c.MuP() {
		return 1
	}
	return float64(c.HiddenSize) / float64(c.Loom.BaseWidth)
}

// muPAttentionScale returns μP's score scale √d_base/d.
func (c *Config) muPAttentionScale() float64 {
	d := float64(c.HeadDimOrDefault())
	base := float64(c.Loom.BaseWidth) / float64(c.NumAttentionHeads)
	return math.Sqrt(base) / d
}

// applyMuP sets the multipliers of m's parameters by role and scales their
// drawn values by their init multipliers (so that, from the same seed, the
// base width's draws are the standard parametrisation's).
func applyMuP(m *Model) {
	c := m.Config
	if !c.MuP() {
		return
	}
	w := c.WidthMult()
	for _, p := range m.Params() {
		switch p.Role {
		case autograd.RoleMatrix, autograd.RoleExpert:
			p.LRScale, p.InitScale = 1/w, 1/math.Sqrt(w)
			if w != 1 && p.Value != nil && !p.Value.IsEmpty() {
				p.Value = tensor.MulScalar(p.Value, 1/math.Sqrt(w))
			}
		}
	}
	zero := func(v *autograd.Var) {
		if v.Value != nil && !v.Value.IsEmpty() {
			v.Value = tensor.Zeros(v.Shape()...)
		}
	}
	if c.Loom.MuPZeroReadout && m.Head != nil {
		zero(m.Head.Weight)
	}
	if c.Loom.MuPZeroQuery {
		for _, p := range m.Params() {
			if strings.HasSuffix(p.Name, ".self_attn.q_proj.weight") {
				zero(p)
			}
		}
	}
}

func init() {
	RegisterOption(Option{Key: "loom.param",
		Validate: func(c *Config) error {
			o := c.Loom
			switch o.Param {
			case "", ParamSP:
				if o.BaseWidth != 0 || o.MuPZeroQuery || o.MuPZeroReadout {
					return fmt.Errorf("loom.base_width, loom.mup_zero_query and loom.mup_zero_readout apply to loom.param %q", ParamMuP)
				}
				return nil
			case ParamMuP:
			default:
				return fmt.Errorf("loom.param is %q, want %q or %q", o.Param, ParamSP, ParamMuP)
			}
			switch {
			case o.BaseWidth <= 0:
				return fmt.Errorf("loom.param %q needs loom.base_width, the width whose hyperparameters transfer (a positive integer), have %d", ParamMuP, o.BaseWidth)
			case c.TieWordEmbeddings:
				return fmt.Errorf("loom.param %q: tie_word_embeddings true: μP treats the embedding (input) and the readout differently; untie them", ParamMuP)
			case c.QueryPreAttnScalar > 0:
				return fmt.Errorf("loom.param %q: query_pre_attn_scalar sets its own score scale", ParamMuP)
			case o.BaseWidth%c.NumAttentionHeads != 0:
				return fmt.Errorf("loom.base_width %d: the heads (%d) must divide it (d_base = base_width/heads)", o.BaseWidth, c.NumAttentionHeads)
			}
			return nil
		},
		Unsupported: func(c *Config, f Format) string {
			return unless(c.WidthMult() == 1, fmt.Sprintf("loom.param=mup at width multiplier %g (logits × 1/m and 1/d attention)", c.WidthMult()))
		}})
	// Checked with loom.param; they change only the initial weights, which
	// every format holds.
	for _, k := range []string{"loom.base_width", "loom.mup_zero_query", "loom.mup_zero_readout"} {
		RegisterOption(Option{Key: k})
	}
}
