package nn

import (
	"fmt"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/internal/registry"
)

// FFN is a position-wise feed-forward network [..., D] → [..., D].
type FFN interface {
	Module
	Forward(x *autograd.Var) *autograd.Var
}

// FFNConfig describes a feed-forward network to build.
type FFNConfig struct {
	Prefix string // e.g. "model.layers.0.mlp"
	Dim    int    // model width
	Hidden int    // inner width (intermediate_size)
	Act    string // activation name
	Bias   bool   // biases on the projections
	Init   Init
	// MoE makes the "moe" network: a mixture of experts of width Hidden
	// (nil for every other network).
	MoE *MoESpec
	// Tau is a Pattention network's τ (pattention.go: the slot count its
	// √τ normalisation keeps after growing; 0: Hidden). Other networks
	// ignore it.
	Tau int
}

var ffns = registry.New[func(FFNConfig) (FFN, error)]("ffn")

// RegisterFFN makes a feed-forward network constructible by name.
func RegisterFFN(name string, ctor func(FFNConfig) (FFN, error)) { ffns.Register(name, ctor) }

// NewFFN builds the feed-forward network registered as name.
func NewFFN(name string, c FFNConfig) (FFN, error) {
	if c.Dim <= 0 || c.Hidden <= 0 {
		return nil, fmt.Errorf("ffn %s: widths %d → %d", c.Prefix, c.Dim, c.Hidden)
	}
	ctor, err := ffns.Get(name)
	if err != nil {
		return nil, err
	}
	return ctor(c)
}

// FFNNames lists the registered feed-forward networks.
func FFNNames() []string { return ffns.Names() }

// GatedMLP is Llama's SwiGLU-style network: down(act(gate(x)) ⊙ up(x)).
type GatedMLP struct {
	Gate, Up, Down Layer
	Act            Activation
}

// Forward maps [..., D] to [..., D].
func (m *GatedMLP) Forward(x *autograd.Var) *autograd.Var {
	g := m.Gate.Forward(x)
	a := m.Act.Apply(g)
	autograd.Recycle(g, x, a) // without gradients: temporaries reused (tensor.Recycle)
	u := m.Up.Forward(x)
	p := autograd.Mul(a, u)
	autograd.Recycle(a, x, p)
	autograd.Recycle(u, x, p)
	out := m.Down.Forward(p)
	autograd.Recycle(p, x, out)
	return out
}

// Params returns gate, up and down projections (and the activation's).
func (m *GatedMLP) Params() []*autograd.Var { return Collect(m.Gate, m.Up, m.Down, m.Act) }

// MLP is the two-layer network of GPT-2: down(act(up(x))).
type MLP struct {
	Up, Down Layer
	Act      Activation
}

// Forward maps [..., D] to [..., D].
func (m *MLP) Forward(x *autograd.Var) *autograd.Var {
	u := m.Up.Forward(x)
	a := m.Act.Apply(u)
	autograd.Recycle(u, x, a) // without gradients: temporaries reused (tensor.Recycle)
	out := m.Down.Forward(a)
	autograd.Recycle(a, x, out)
	return out
}

// Params returns the projections (and the activation's parameters).
func (m *MLP) Params() []*autograd.Var { return Collect(m.Up, m.Act, m.Down) }

// projections builds the named projections of an FFN (Linear, or the
// layer c.Init chooses).
func projections(c FFNConfig, specs ...proj) ([]Layer, error) {
	out := make([]Layer, len(specs))
	for i, s := range specs {
		l, err := c.Init.NewLayer(Join(c.Prefix, s.name), s.in, s.out, c.Bias)
		if err != nil {
			return nil, err
		}
		out[i] = l
	}
	return out, nil
}

type proj = struct {
	name    string
	in, out int
}

func init() {
	RegisterFFN("gated", func(c FFNConfig) (FFN, error) {
		act, err := NewActivation(c.Act, ActivationConfig{Prefix: Join(c.Prefix, "act_fn"), Dim: c.Hidden, Init: c.Init})
		if err != nil {
			return nil, err
		}
		ls, err := projections(c, proj{"gate_proj", c.Dim, c.Hidden}, proj{"up_proj", c.Dim, c.Hidden}, proj{"down_proj", c.Hidden, c.Dim})
		if err != nil {
			return nil, err
		}
		return &GatedMLP{Gate: ls[0], Up: ls[1], Down: ls[2], Act: act}, nil
	})
	RegisterFFN("mlp", func(c FFNConfig) (FFN, error) {
		act, err := NewActivation(c.Act, ActivationConfig{Prefix: Join(c.Prefix, "act_fn"), Dim: c.Hidden, Init: c.Init})
		if err != nil {
			return nil, err
		}
		ls, err := projections(c, proj{"up_proj", c.Dim, c.Hidden}, proj{"down_proj", c.Hidden, c.Dim})
		if err != nil {
			return nil, err
		}
		return &MLP{Up: ls[0], Down: ls[1], Act: act}, nil
	})
}
