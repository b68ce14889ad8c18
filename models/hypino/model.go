package hypino

import (
	"fmt"
	"math"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/sciml/pde"
	"github.com/loomml/loom/tensor"
)

// Config describes a HyPINO model: a ViT over the rasterised PDE
// specification (Grid×Grid nodes, len(pde.Channels) channels, Patch×Patch
// patches) whose mean-pooled, normalised token embedding feeds an
// nn.HyperNet that emits the PINN's parameters.
type Config struct {
	Grid   int        `json:"grid"`
	Patch  int        `json:"patch"`
	Dim    int        `json:"dim"`
	Layers int        `json:"layers"`
	Heads  int        `json:"heads"`
	MLP    int        `json:"mlp"`   // the encoder's feed-forward width
	Head   []int      `json:"head"`  // the hypernetwork head's hidden widths
	PINN   PINNConfig `json:"pinn"`  // the emitted network
	Param  string     `json:"param"` // the head's nn.HyperNet parametrisation (default "residual")
	Seed   uint64     `json:"seed"`  // initialisation
}

// DefaultConfig is the small model the reproduction trains.
func DefaultConfig() Config {
	return Config{Grid: 32, Patch: 4, Dim: 48, Layers: 2, Heads: 4, MLP: 96, Head: []int{64},
		PINN: PINNConfig{Features: 8, Scale: 1.5, Hidden: []int{24, 24}, Seed: 1}, Param: nn.HyperResidual}
}

// Validate names the first problem with c.
func (c Config) Validate() error {
	switch {
	case c.Grid < 4:
		return fmt.Errorf("hypino: grid %d, want at least 4", c.Grid)
	case c.Patch < 1 || c.Grid%c.Patch != 0:
		return fmt.Errorf("hypino: patch %d, want a divisor of the grid %d", c.Patch, c.Grid)
	case c.Dim < 1 || c.Heads < 1 || c.Dim%c.Heads != 0:
		return fmt.Errorf("hypino: width %d with %d heads, want a positive width divisible by the heads", c.Dim, c.Heads)
	case c.Layers < 0:
		return fmt.Errorf("hypino: %d layers, want 0 or more", c.Layers)
	case c.MLP < 1:
		return fmt.Errorf("hypino: feed-forward width %d, want at least 1", c.MLP)
	}
	return nil
}

type block struct {
	n1, n2 nn.Norm
	attn   *nn.Attention
	ffn    nn.FFN
}

// Model is a HyPINO hypernetwork.
type Model struct {
	Config Config
	PINN   *PINN
	embed  *nn.Linear
	pos    *autograd.Var
	blocks []block
	norm   nn.Norm
	Head   *nn.HyperNet
}

// New builds a model with weights drawn from c.Seed.
func New(c Config) (*Model, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.Param == "" {
		c.Param = nn.HyperResidual
	}
	p, err := NewPINN(c.PINN)
	if err != nil {
		return nil, err
	}
	rng := tensor.NewRNG(c.Seed)
	C := len(pde.Channels)
	T := (c.Grid / c.Patch) * (c.Grid / c.Patch)
	m := &Model{Config: c, PINN: p,
		embed: nn.NewTorchLinear("embed", C*c.Patch*c.Patch, c.Dim, true, rng),
		pos:   autograd.NewParam("pos", autograd.RoleEmbedding, tensor.Normal(rng, 0, 0.02, T, c.Dim)),
	}
	for i := range c.Layers {
		pre := fmt.Sprintf("layers.%d", i)
		n1, _ := nn.NewNorm("layernorm", nn.NormConfig{Prefix: pre + ".n1", Dim: c.Dim, Eps: 1e-5, Bias: true})
		n2, _ := nn.NewNorm("layernorm", nn.NormConfig{Prefix: pre + ".n2", Dim: c.Dim, Eps: 1e-5, Bias: true})
		attn, err := nn.NewAttention(nn.AttentionConfig{Prefix: pre + ".attn", Dim: c.Dim, Heads: c.Heads, Bias: true, Kind: nn.Bidirectional, Init: nn.TorchInit(rng)})
		if err != nil {
			return nil, err
		}
		ffn, err := nn.NewFFN("mlp", nn.FFNConfig{Prefix: pre + ".mlp", Dim: c.Dim, Hidden: c.MLP, Act: "gelu", Bias: true, Init: nn.TorchInit(rng)})
		if err != nil {
			return nil, err
		}
		m.blocks = append(m.blocks, block{n1, n2, attn, ffn})
	}
	m.norm, _ = nn.NewNorm("layernorm", nn.NormConfig{Prefix: "norm", Dim: c.Dim, Eps: 1e-5, Bias: true})
	m.Head, err = nn.NewHyperNet("head", nn.HyperNetConfig{Inputs: c.Dim, Hidden: c.Head, Outputs: p.Specs(), Parametrization: c.Param}, rng)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Params returns every trainable parameter.
func (m *Model) Params() []*autograd.Var {
	ps := append(m.embed.Params(), m.pos)
	for _, b := range m.blocks {
		ps = append(ps, nn.Collect(b.n1, b.attn, b.n2, b.ffn)...)
	}
	ps = append(ps, nn.Collect(m.norm)...)
	return append(ps, m.Head.Params()...)
}

// Patches turns rasters (one per instance, each len(pde.Channels) planes
// of Grid×Grid values) into patch vectors [B, T, C·Patch²].
func (m *Model) Patches(rasters [][][]float64) (*tensor.Tensor, error) {
	c := m.Config
	G, P, C := c.Grid, c.Patch, len(pde.Channels)
	np := G / P
	out := make([]float32, 0, len(rasters)*np*np*C*P*P)
	for b, r := range rasters {
		if len(r) != C {
			return nil, fmt.Errorf("hypino: raster %d has %d channels, want %d", b, len(r), C)
		}
		for _, plane := range r {
			if len(plane) != G*G {
				return nil, fmt.Errorf("hypino: raster %d has planes of %d values, want %d×%d", b, len(plane), G, G)
			}
		}
		for pj := range np {
			for pi := range np {
				for ch := range C {
					for dj := range P {
						for di := range P {
							out = append(out, float32(r[ch][(pj*P+dj)*G+pi*P+di]))
						}
					}
				}
			}
		}
	}
	return tensor.FromFloat32(out, len(rasters), np*np, C*P*P), nil
}

// Embed encodes patches [B, T, C·Patch²] into the head's input [B, Dim]:
// the final LayerNorm of the mean token, divided by √Dim so that its norm
// is about 1 whatever the width (the magnitude the hypernetwork head's
// initialisation assumes, as MIP's encoded input).
func (m *Model) Embed(patches *tensor.Tensor) *autograd.Var {
	x := autograd.Add(m.embed.Forward(autograd.Const(patches)), m.pos)
	for _, b := range m.blocks {
		x = autograd.Add(x, b.attn.Forward(nil, b.n1.Forward(x)))
		x = autograd.Add(x, b.ffn.Forward(b.n2.Forward(x)))
	}
	z := m.norm.Forward(autograd.Mean(x, false, 1))
	return autograd.MulScalar(z, 1/math.Sqrt(float64(m.Config.Dim)))
}

// Theta returns the emitted PINN parameters for the rasters, in the PINN's
// Specs order with a leading batch dimension.
func (m *Model) Theta(rasters [][][]float64) ([]*autograd.Var, error) {
	p, err := m.Patches(rasters)
	if err != nil {
		return nil, err
	}
	return m.PINN.Unflatten(m.Head.Forward(m.Embed(p))), nil
}
