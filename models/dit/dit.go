// Package dit is a small diffusion transformer: DiT ("Scalable Diffusion
// Models with Transformers", Peebles & Xie, arXiv 2212.09748; official code
// facebookresearch/DiT, models.py and diffusion/), class-conditional, with
// adaLN-Zero blocks, trained to predict the noise of a DDPM forward process
// (Ho et al., arXiv 2006.11239) and sampled by DDPM's ancestral steps.
//
// Shapes, as models.py has them (N images of C×S×S, patches of P×P,
// T = (S/P)² tokens of width H):
//
//	x [N, C, S, S] → patches [N, T, P·P·C] → Linear → + fixed 2-D sin-cos positions → [N, T, H]
//	c = TimestepEmbedder(t) + LabelEmbedder(y)                               [N, H]
//	per block: shift, scale, gate (×2) = Linear(SiLU(c)) chunks               [N, H] each
//	           x += gate_msa · Attn(LN(x)·(1+scale_msa) + shift_msa)  (bidirectional)
//	           x += gate_mlp · MLP(LN(x)·(1+scale_mlp) + shift_mlp)
//	final: LN(x)·(1+scale) + shift → Linear → [N, T, P·P·C] → unpatchify → ε̂ [N, C, S, S]
//
// The LayerNorms have no affine parameters (eps 1e-6); every adaLN
// modulation and the final projection start at zero (adaLN-Zero), so each
// block starts as the identity and the model as predicting 0. A patch is
// flattened (p_row, p_col, channel), the order the official unpatchify
// reads its output in; the patch embedding, a P×P stride-P convolution in
// models.py, is the equivalent Linear on that flattening.
package dit

import (
	"fmt"
	"math"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// Config is a DiT's shape.
type Config struct {
	ImageSize int     `json:"image_size"`
	Channels  int     `json:"channels"`
	PatchSize int     `json:"patch_size"`
	Hidden    int     `json:"hidden_size"`
	Depth     int     `json:"depth"`
	Heads     int     `json:"num_heads"`
	MLPRatio  float64 `json:"mlp_ratio"`   // the MLP's width over Hidden (4)
	Classes   int     `json:"num_classes"` // class labels; label Classes is "no class" (classifier-free guidance)
	// ClassDropout replaces a training label by "no class" with this
	// probability (0.1 in DiT), so one model samples with and without the
	// class.
	ClassDropout float64  `json:"class_dropout_prob"`
	Diffusion    Schedule `json:"diffusion"`
	// MoE makes every block's MLP a mixture of experts (nil: dense):
	// what moefy's Dense2MoE makes of a trained DiT.
	MoE *MoEConfig `json:"moe,omitempty"`
	// MoB routes whole blocks per image (mob.go; nil: every block runs).
	MoB *MoBConfig `json:"mob,omitempty"`
	// Param is the parametrisation, "sp" ("": standard) or "mup" (mup.go)
	// with BaseWidth the width whose hyperparameters transfer.
	Param     string `json:"param,omitempty"`
	BaseWidth int    `json:"base_width,omitempty"`
}

// MoEConfig is a mixture in place of each block's MLP: routed experts of
// ExpertSize hidden units (two-layer, tanh GELU, biases, as the MLP), TopK
// of them per token from a softmax router renormalised, and a shared expert
// of SharedSize units behind Qwen2-MoE's sigmoid gate (0: none).
type MoEConfig struct {
	Experts     int     `json:"num_experts"`
	TopK        int     `json:"num_experts_per_tok"`
	ExpertSize  int     `json:"moe_intermediate_size"`
	SharedSize  int     `json:"shared_expert_intermediate_size,omitempty"`
	BalanceCoef float64 `json:"router_aux_loss_coef,omitempty"`
	Router      string  `json:"router,omitempty"` // nn.MoEConfig.Router ("": softmax)
}

// spec is the nn mixture of c.
func (c *MoEConfig) spec() nn.MoEConfig {
	return nn.MoEConfig{Experts: c.Experts, TopK: c.TopK, Renormalize: true, BalanceCoef: c.BalanceCoef, Router: c.Router}
}

// Validate checks the shape; errors name the field.
func (c Config) Validate() error {
	switch {
	case c.ImageSize <= 0 || c.Channels <= 0 || c.PatchSize <= 0:
		return fmt.Errorf("dit: image_size %d, channels %d and patch_size %d must be positive", c.ImageSize, c.Channels, c.PatchSize)
	case c.ImageSize%c.PatchSize != 0:
		return fmt.Errorf("dit: patch_size %d does not divide image_size %d", c.PatchSize, c.ImageSize)
	case c.Hidden <= 0 || c.Depth <= 0 || c.Heads <= 0 || c.Hidden%c.Heads != 0:
		return fmt.Errorf("dit: hidden %d, depth %d and heads %d: want positive numbers, heads dividing hidden", c.Hidden, c.Depth, c.Heads)
	case (c.Hidden/c.Heads)%2 != 0 || (c.Hidden/2)%2 != 0:
		return fmt.Errorf("dit: hidden %d: the sin-cos position table needs hidden/2 even", c.Hidden)
	case !(c.MLPRatio > 0):
		return fmt.Errorf("dit: mlp_ratio %v, want > 0", c.MLPRatio)
	case c.Classes < 1:
		return fmt.Errorf("dit: classes %d, want at least 1", c.Classes)
	case c.ClassDropout < 0 || c.ClassDropout >= 1:
		return fmt.Errorf("dit: class_dropout %v, want 0 ≤ p < 1", c.ClassDropout)
	}
	if c.MoB != nil {
		if err := c.MoB.Validate(c.Depth); err != nil {
			return err
		}
	}
	if err := c.validateMuP(); err != nil {
		return err
	}
	if m := c.MoE; m != nil {
		if m.ExpertSize < 1 || m.SharedSize < 0 {
			return fmt.Errorf("dit: moe_intermediate_size %d and shared_expert_intermediate_size %d: want ≥ 1 and ≥ 0", m.ExpertSize, m.SharedSize)
		}
		if err := m.spec().Validate(); err != nil {
			return fmt.Errorf("dit: %w", err)
		}
	}
	return c.Diffusion.Validate()
}

// Tokens returns the number of patches per image.
func (c Config) Tokens() int { return (c.ImageSize / c.PatchSize) * (c.ImageSize / c.PatchSize) }

// Model is the diffusion transformer.
type Model struct {
	Cfg   Config
	Patch *nn.Linear // [P·P·C] → H
	// TEmb1, TEmb2 are the timestep MLP over the 256-dim sinusoidal
	// embedding (TimestepEmbedder).
	TEmb1, TEmb2 *nn.Linear
	YEmb         *nn.Embedding // Classes+1 rows
	Blocks       []*Block
	FinalAda     *nn.Linear // H → 2H (shift, scale)
	FinalOut     *nn.Linear // H → P·P·C
	// MoB are the block routers of each group (Cfg.MoB; nil: none) and
	// MoBStats what they skipped in the last pass.
	MoB      []*MoBRouter
	MoBStats MoBStats
	pos      *tensor.Tensor
}

// Block is one adaLN-Zero DiT block.
type Block struct {
	Attn *nn.Attention
	// MLP is the block's feed-forward network: an nn.MLP of mlp.fc1 and
	// mlp.fc2 with the tanh GELU (timm's Mlp), so that model surgery on
	// FFNs (moefy: Taylor importance, splitting into experts) applies.
	MLP nn.FFN
	Ada *nn.Linear // H → 6H
}

// freqDim is the size of the sinusoidal timestep embedding
// (TimestepEmbedder.frequency_embedding_size).
const freqDim = 256

// New builds a DiT with weights drawn from seed as models.py initialises
// them: Linear weights Xavier-uniform and biases 0, the label table and
// timestep MLP N(0, 0.02²), the adaLN modulations and final projection 0.
func New(c Config, seed uint64) (*Model, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	rng := tensor.NewRNG(seed)
	H, P := c.Hidden, c.PatchSize
	pd := P * P * c.Channels
	xavier := func(name string, in, out int) *nn.Linear {
		a := math.Sqrt(6 / float64(in+out))
		w := tensor.Uniform(rng, -a, a, out, in)
		return &nn.Linear{Weight: autograd.NewParam(name+".weight", autograd.RoleMatrix, w), Bias: autograd.NewParam(name+".bias", autograd.RoleBias, tensor.Zeros(out))}
	}
	normal := func(name string, in, out int) *nn.Linear {
		return &nn.Linear{Weight: autograd.NewParam(name+".weight", autograd.RoleMatrix, tensor.Normal(rng, 0, 0.02, out, in)), Bias: autograd.NewParam(name+".bias", autograd.RoleBias, tensor.Zeros(out))}
	}
	zero := func(name string, in, out int) *nn.Linear {
		return &nn.Linear{Weight: autograd.NewParam(name+".weight", autograd.RoleMatrix, tensor.Zeros(out, in)), Bias: autograd.NewParam(name+".bias", autograd.RoleBias, tensor.Zeros(out))}
	}
	m := &Model{Cfg: c,
		// models.py initialises the patch convolution's weight as a
		// Linear's (xavier_uniform on its view [H, P·P·C]).
		Patch: xavier("x_embedder.proj", pd, H),
		TEmb1: normal("t_embedder.mlp.0", freqDim, H),
		TEmb2: normal("t_embedder.mlp.2", H, H),
		YEmb:  &nn.Embedding{Weight: autograd.NewParam("y_embedder.embedding_table.weight", autograd.RoleEmbedding, tensor.Normal(rng, 0, 0.02, c.Classes+1, H))},
		pos:   posEmbed2D(H, c.ImageSize/P),
	}
	ff := int(float64(H) * c.MLPRatio)
	for i := range c.Depth {
		p := fmt.Sprintf("blocks.%d", i)
		b := &Block{MLP: &nn.MLP{Up: xavier(p+".mlp.fc1", H, ff), Down: xavier(p+".mlp.fc2", ff, H), Act: nn.Func(autograd.GeluTanh)},
			Ada: zero(p+".adaLN_modulation.1", H, 6*H)}
		if mc := c.MoE; mc != nil { // experts drawn N(0, 0.02²), not Xavier's
			moe, err := nn.NewMoE(p+".mlp", nn.FFNConfig{Dim: H, Hidden: mc.ExpertSize, Act: "gelu_pytorch_tanh", Bias: true, Init: nn.Init{RNG: rng, Std: 0.02}},
				"mlp", mc.spec(), mc.SharedSize, mc.SharedSize > 0)
			if err != nil {
				return nil, err
			}
			b.MLP = moe
		}
		attn, err := nn.NewAttention(nn.AttentionConfig{Prefix: p + ".attn", Dim: H, Heads: c.Heads, KVHeads: c.Heads, HeadDim: H / c.Heads,
			Bias: true, QKVBias: true, Kind: nn.Bidirectional, Layer: i, Init: nn.Init{RNG: rng, Std: 0.02}, Scale: c.attentionScale()})
		if err != nil {
			return nil, err
		}
		// timm's Attention: one qkv Linear [3H, H], Xavier-initialised as
		// a whole (bound √(6/4H)), and the output projection (√(6/2H)).
		for i, l := range []nn.Layer{attn.Q, attn.K, attn.V, attn.O} {
			lin := l.(*nn.Linear)
			fan := 4 * H
			if i == 3 {
				fan = 2 * H
			}
			a := math.Sqrt(6 / float64(fan))
			lin.Weight.Value = tensor.Uniform(rng, -a, a, lin.Weight.Shape()...)
		}
		b.Attn = attn
		m.Blocks = append(m.Blocks, b)
	}
	m.FinalAda = zero("final_layer.adaLN_modulation.1", H, 2*H)
	m.FinalOut = zero("final_layer.linear", H, pd)
	if mc := c.MoB; mc != nil {
		for g := range c.Depth / mc.Group {
			p := fmt.Sprintf("mob.%d", g)
			lin := func(name string) *nn.Linear {
				return &nn.Linear{Weight: autograd.NewParam(p+"."+name+".weight", autograd.RoleRouter, tensor.Normal(rng, 0, 0.02, mc.Group, H))}
			}
			m.MoB = append(m.MoB, &MoBRouter{X: lin("x_router"), C: lin("c_router")})
		}
	}
	m.applyMuP()
	return m, nil
}

// Params returns every parameter.
func (m *Model) Params() []*autograd.Var {
	ps := nn.Collect(m.Patch, m.TEmb1, m.TEmb2, m.YEmb)
	for _, b := range m.Blocks {
		ps = append(ps, nn.Collect(b.Attn, b.MLP, b.Ada)...)
	}
	ps = append(ps, nn.Collect(m.FinalAda, m.FinalOut)...)
	for _, r := range m.MoB {
		ps = append(ps, r.Params()...)
	}
	return ps
}

// posEmbed2D is the fixed 2-D sin-cos table of models.py
// (get_2d_sincos_pos_embed): half the width encodes the row, half the
// column, each as [sin(pos·ω), cos(pos·ω)] with ω_i = 1/10000^(i/(D/4)).
func posEmbed2D(D, grid int) *tensor.Tensor {
	out := make([]float32, grid*grid*D)
	half, quarter := D/2, D/4
	for r := range grid {
		for col := range grid {
			row := out[(r*grid+col)*D:]
			// models.py: emb_h from grid[0] (the column index, as
			// meshgrid(w, h) puts w first), emb_w from grid[1] (the row).
			for part, pos := range []int{col, r} {
				for i := range quarter {
					omega := 1 / math.Pow(10000, float64(i)/float64(quarter))
					row[part*half+i] = float32(math.Sin(float64(pos) * omega))
					row[part*half+quarter+i] = float32(math.Cos(float64(pos) * omega))
				}
			}
		}
	}
	return tensor.FromFloat32(out, grid*grid, D)
}

// timestepFreqs is TimestepEmbedder.timestep_embedding: [cos(t·f), sin(t·f)]
// with f_i = exp(−ln(10000)·i/128), for each of ts.
func timestepFreqs(ts []float64) *tensor.Tensor {
	half := freqDim / 2
	out := make([]float32, len(ts)*freqDim)
	for n, t := range ts {
		for i := range half {
			a := t * math.Exp(-math.Log(10000)*float64(i)/float64(half))
			out[n*freqDim+i] = float32(math.Cos(a))
			out[n*freqDim+half+i] = float32(math.Sin(a))
		}
	}
	return tensor.FromFloat32(out, len(ts), freqDim)
}

// Patchify maps images [N, C, S, S] to patch vectors [N, T, P·P·C],
// flattened (p_row, p_col, channel).
func (m *Model) Patchify(x *autograd.Var) *autograd.Var {
	c := m.Cfg
	N, C, P, G := x.Dim(0), c.Channels, c.PatchSize, c.ImageSize/c.PatchSize
	x = autograd.Reshape(x, N, C, G, P, G, P) // n c h p w q
	x = autograd.Permute(x, 0, 2, 4, 3, 5, 1) // n h w p q c
	return autograd.Reshape(x, N, G*G, P*P*C)
}

// Unpatchify is Patchify's inverse: [N, T, P·P·C] → [N, C, S, S]
// (models.py's unpatchify).
func (m *Model) Unpatchify(x *autograd.Var) *autograd.Var {
	c := m.Cfg
	N, C, P, G := x.Dim(0), c.Channels, c.PatchSize, c.ImageSize/c.PatchSize
	x = autograd.Reshape(x, N, G, G, P, P, C) // n h w p q c
	x = autograd.Permute(x, 0, 5, 1, 3, 2, 4) // n c h p w q
	return autograd.Reshape(x, N, C, G*P, G*P)
}

// modulate is x·(1+scale) + shift with scale, shift [N, H] over x [N, T, H].
func modulate(x, shift, scale *autograd.Var) *autograd.Var {
	return autograd.Add(autograd.Mul(x, autograd.AddScalar(autograd.Unsqueeze(scale, 1), 1)), autograd.Unsqueeze(shift, 1))
}

// layerNorm is the affine-free LayerNorm of the blocks (eps 1e-6).
func layerNorm(x *autograd.Var) *autograd.Var { return autograd.LayerNorm(x, nil, nil, 1e-6) }

// Forward predicts the noise ε̂ [N, C, S, S] in noisy images x at
// timesteps t (0 … steps−1) with labels y (Classes: no class).
func (m *Model) Forward(ctx *nn.Ctx, x *autograd.Var, t []float64, y []int) *autograd.Var {
	out, _ := m.ForwardHidden(ctx, x, t, y)
	return out
}

// ForwardHidden is Forward that also returns each block's output [N, T, H]
// (the features distillation matches).
func (m *Model) ForwardHidden(ctx *nn.Ctx, x *autograd.Var, t []float64, y []int) (*autograd.Var, []*autograd.Var) {
	N, H := x.Dim(0), m.Cfg.Hidden
	if len(t) != N || len(y) != N {
		panic(fmt.Sprintf("dit: %d images, %d timesteps, %d labels", N, len(t), len(y)))
	}
	h := autograd.Add(m.Patch.Forward(m.Patchify(x)), autograd.Const(m.pos)) // [N, T, H]
	temb := m.TEmb2.Forward(autograd.Silu(m.TEmb1.Forward(autograd.Const(timestepFreqs(t)))))
	cond := autograd.Add(temb, autograd.Reshape(m.YEmb.Forward(y, N, 1), N, H)) // [N, H]
	sc := autograd.Silu(cond)
	var hidden []*autograd.Var
	if m.MoB != nil {
		h, hidden = m.runGroups(ctx, h, sc, cond) // mob.go
	} else {
		for _, b := range m.Blocks {
			h = m.block(ctx, b, h, sc)
			hidden = append(hidden, h)
		}
	}
	fm := autograd.Split(m.FinalAda.Forward(sc), 1, H, H)
	z := modulate(layerNorm(h), fm[0], fm[1])
	if w := m.Cfg.WidthMult(); w != 1 {
		z = autograd.MulScalar(z, 1/w) // μP's readout, as MuReadout: W(x/m) + b, the bias unscaled
	}
	out := m.FinalOut.Forward(z)
	return m.Unpatchify(out), hidden
}
