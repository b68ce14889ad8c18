package dit

// μP for the diffusion transformer ("Scaling Diffusion Transformers
// Efficiently via μP", arXiv 2505.15270; code
// ML-GSAI/Scaling-Diffusion-Transformers-muP, which applies microsoft/mup
// to DiT), for Adam, with width multiplier m = hidden_size / base_width:
//
//	weights                                            init std      Adam lr   forward
//	hidden (both dims ∝ m): attention q/k/v/o, MLP    as SP / √m    η/m
//	  fc1/fc2 (and experts), every adaLN modulation,
//	  the timestep MLP's second layer
//	input (fan-in fixed): patch embedding, the         as SP         η
//	  timestep MLP's first layer, the label table
//	readout final_layer.linear                         0 (adaLN-Zero) η         input × 1/m (W(x/m) + b, as MuReadout)
//	biases                                             as SP         η
//	attention                                                                   scores × √d_base/d
//
// with d the head dimension and d_base = base_width / heads. At the base
// width (m = 1) a μP DiT is the standard one bit for bit (the attention
// keeps its 1/√d path). The multipliers ride on the parameters
// (autograd.Var LRScale, InitScale), which train.ParamGroups reads; it
// gives the hidden matrices weight decay λ·m, so that AdamW's decay per
// step, lr·λ, is η·λ at every width (microsoft/mup's MuAdamW).

import (
	"fmt"
	"math"
	"strings"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/tensor"
)

// Parametrisations of Config.Param.
const (
	ParamSP  = "sp"
	ParamMuP = "mup"
)

// MuP reports whether the model is μP-parametrised.
func (c Config) MuP() bool { return c.Param == ParamMuP }

// WidthMult returns μP's width multiplier m (1 without μP).
func (c Config) WidthMult() float64 {
	if !c.MuP() {
		return 1
	}
	return float64(c.Hidden) / float64(c.BaseWidth)
}

// validateMuP checks the parametrisation fields.
func (c Config) validateMuP() error {
	switch c.Param {
	case "", ParamSP:
		if c.BaseWidth != 0 {
			return fmt.Errorf("dit: base_width applies to param %q", ParamMuP)
		}
		return nil
	case ParamMuP:
	default:
		return fmt.Errorf("dit: param is %q, want %q or %q", c.Param, ParamSP, ParamMuP)
	}
	if c.BaseWidth <= 0 || c.BaseWidth%c.Heads != 0 {
		return fmt.Errorf("dit: param %q needs base_width, a positive multiple of the heads (%d), have %d", ParamMuP, c.Heads, c.BaseWidth)
	}
	return nil
}

// attentionScale is μP's score scale √d_base/d when the width differs from
// the base (0: the usual 1/√d).
func (c Config) attentionScale() float64 {
	if c.WidthMult() == 1 {
		return 0
	}
	d := float64(c.Hidden / c.Heads)
	return math.Sqrt(float64(c.BaseWidth/c.Heads)) / d
}

// muPHidden reports whether the parameter is a hidden weight matrix.
func muPHidden(name string) bool {
	if !strings.HasSuffix(name, ".weight") {
		return false
	}
	if strings.HasPrefix(name, "blocks.") && (strings.Contains(name, ".attn.") || strings.Contains(name, ".mlp.")) {
		return true
	}
	return strings.Contains(name, "adaLN_modulation") || strings.HasPrefix(name, "t_embedder.mlp.2.")
}

// applyMuP sets the multipliers of the hidden matrices and scales their
// drawn values (from the same seed, the base width's draws are SP's).
func (m *Model) applyMuP() {
	w := m.Cfg.WidthMult()
	if !m.Cfg.MuP() {
		return
	}
	for _, p := range m.Params() {
		if p.Role == autograd.RoleRouter || !muPHidden(p.Name) {
			continue
		}
		p.LRScale, p.InitScale = 1/w, 1/math.Sqrt(w)
		if w != 1 {
			p.Value = tensor.MulScalar(p.Value, 1/math.Sqrt(w))
		}
	}
}
