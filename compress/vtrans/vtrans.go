// Package vtrans is VTrans (Dutta, Gupta & Agarwal, arXiv 2406.05276):
// structured pruning of a decoder, or of a BERT encoder classifier as in
// the paper (encoder.go), guided by the variational information
// bottleneck (VIB; Dai et al., arXiv 1802.10399). Every prunable structure
// carries a stochastic mask z = μ + σ·ε, ε ~ N(0, 1): the hidden
// (embedding) dims (one mask shared by every layer, applied to everything
// that writes the residual stream: the embedding, o_proj and down_proj),
// the attention heads (on o_proj's input), the FFN neurons (on down_proj's
// input) and the layers (on both branches' outputs). The masks train on
//
//	task (next-token cross-entropy) + distillation (KL to the unpruned
//	model, package distill) + β Σ log(1 + μ²/σ²)
//
// the last term being the VIB's KL bound on the information each
// structure passes. The structures with the lowest α = μ²/σ² are then
// pruned down to the budget (Ratio: the fraction of the parameters
// removed), the kept masks' μ are folded into the weights, and the pruned
// structures are removed physically (compress/structured).
//
// Variants: "full" trains masks and weights on all the data; "fast"
// (Fast-VTrans) on 3 % of it; "faster" (Faster-VTrans) trains the masks
// only, the weights frozen. The paper has no public code; this follows its
// description (VIB layers as VIBNet's: μ initialised at 1, log σ² at −9).
// One difference: the paper prunes iteratively during training; here the
// masks train for the schedule and the budget is applied once at the end.
package vtrans

import (
	"fmt"
	"math"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/compress/structured"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/encoder"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// Variants of VTrans.
const (
	Full   = "full"
	Fast   = "fast"
	Faster = "faster"
)

// Variants lists them.
var Variants = []string{Full, Fast, Faster}

// FastFraction is the share of the data Fast-VTrans trains on.
const FastFraction = 0.03

// Gate is one group of VIB masks: z = μ + exp(½·logσ²)·ε.
type Gate struct {
	Mu, LogVar *autograd.Var // [n]
	z          *autograd.Var // this forward's mask
}

func newGate(name string, n int) *Gate {
	mu, lv := tensor.Zeros(n), tensor.Zeros(n)
	m, l := mu.F32(), lv.F32()
	for i := range m {
		m[i], l[i] = 1, -9
	}
	return &Gate{Mu: autograd.NewParam(name+".mu", autograd.RoleBias, mu), LogVar: autograd.NewParam(name+".logvar", autograd.RoleBias, lv)}
}

// sample sets z: a draw in training, μ·keep otherwise (keep nil: all).
func (g *Gate) sample(rng *tensor.RNG, keep []bool) {
	if rng == nil {
		if keep == nil {
			g.z = g.Mu
			return
		}
		k := tensor.Zeros(len(keep))
		for i, v := range keep {
			if v {
				k.F32()[i] = 1
			}
		}
		g.z = autograd.Mul(g.Mu, autograd.Const(k))
		return
	}
	n := g.Mu.Value.Numel()
	eps := tensor.Zeros(n)
	for i := range eps.F32() {
		eps.F32()[i] = float32(rng.Normal())
	}
	g.z = autograd.Add(g.Mu, autograd.Mul(autograd.Exp(autograd.MulScalar(g.LogVar, 0.5)), autograd.Const(eps)))
}

// KL returns Σ log(1 + μ²/σ²), the VIB's bound on the information the
// gate passes.
func (g *Gate) KL() *autograd.Var {
	alpha := autograd.Mul(autograd.Mul(g.Mu, g.Mu), autograd.Exp(autograd.Neg(g.LogVar)))
	return autograd.Sum(autograd.Log(autograd.AddScalar(alpha, 1)), false)
}

// LogAlpha returns log(μ²/σ²) per mask.
func (g *Gate) LogAlpha() []float64 {
	mu, lv := g.Mu.Value.Float32s(), g.LogVar.Value.Float32s()
	out := make([]float64, len(mu))
	for i := range mu {
		out[i] = math.Log(float64(mu[i])*float64(mu[i])+1e-30) - float64(lv[i])
	}
	return out
}

// VIB holds a model's masks and, while attached, its gated layers.
type VIB struct {
	Model   *decoder.Model // nil for an encoder
	Encoder *encoder.Model // nil for a decoder
	Hidden  *Gate          // [hidden]; nil for an encoder
	Heads   []*Gate        // [layer] → [heads]
	Neurons []*Gate        // [layer] → [neurons]
	Layers  *Gate          // [layers]

	shape   structured.Shape
	restore []func()
	embed   *autograd.Var
}

// gated is a Layer whose input and output are multiplied by masks.
type gated struct {
	nn.Layer
	in, out func() *autograd.Var
}

func (g *gated) Forward(x *autograd.Var) *autograd.Var {
	if g.in != nil {
		x = autograd.Mul(x, g.in())
	}
	y := g.Layer.Forward(x)
	if g.out != nil {
		y = autograd.Mul(y, g.out())
	}
	return y
}

// New makes masks for m's structures and gates m's layers with them (m's
// forward passes are masked until Detach).
func New(m *decoder.Model) (*VIB, error) {
	s, err := structured.ShapeOf(m)
	if err != nil {
		return nil, err
	}
	if m.Positions != nil {
		return nil, fmt.Errorf("vtrans: learned positions are not supported (loom.positions must be rope)")
	}
	v := &VIB{Model: m, shape: s, Hidden: newGate("vib.hidden", s.Hidden)}
	v.makeGates()
	for i, b := range m.Layers {
		pb, ok := b.(*decoder.PreNorm)
		if !ok {
			return nil, fmt.Errorf("vtrans: layer %d is not a prenorm block", i)
		}
		out := func() *autograd.Var {
			return autograd.Mul(v.Hidden.z, autograd.Contiguous(autograd.Slice(v.Layers.z, 0, i, i+1)))
		}
		if pb.Attn != nil {
			a, ok := pb.Attn.(*nn.Attention)
			if !ok {
				return nil, fmt.Errorf("vtrans: layer %d's attention is a %T", i, pb.Attn)
			}
			if a.Heads != s.Heads {
				return nil, fmt.Errorf("vtrans: layer %d has %d of %d heads: prune an unpruned model", i, a.Heads, s.Heads)
			}
			v.gateAttn(a, i, out)
		}
		if pb.FFN != nil {
			g := v.Neurons[i]
			in := func() *autograd.Var { return g.z }
			switch f := pb.FFN.(type) {
			case *nn.GatedMLP:
				d := f.Down
				f.Down = &gated{Layer: d, in: in, out: out}
				v.restore = append(v.restore, func() { f.Down = d })
			case *nn.MLP:
				v.gateMLP(f, i, out)
			default:
				return nil, fmt.Errorf("vtrans: layer %d's FFN is a %T", i, pb.FFN)
			}
		}
	}
	v.embed = m.Embed.Weight
	v.Sample(nil, nil)
	return v, nil
}

// makeGates makes the layer, head and neuron masks of v.shape.
func (v *VIB) makeGates() {
	s := v.shape
	v.Layers = newGate("vib.layers", s.Layers)
	for i := range s.Layers {
		v.Heads = append(v.Heads, newGate(fmt.Sprintf("vib.%d.heads", i), s.Heads))
		v.Neurons = append(v.Neurons, newGate(fmt.Sprintf("vib.%d.neurons", i), s.Neurons[i]))
	}
}

// gateAttn masks a's heads (on its output projection's input) and its
// output by out.
func (v *VIB) gateAttn(a *nn.Attention, i int, out func() *autograd.Var) {
	o, g, s := a.O, v.Heads[i], v.shape
	hd := s.HeadDim
	a.O = &gated{Layer: o, out: out, in: func() *autograd.Var {
		return autograd.Reshape(autograd.Contiguous(autograd.Expand(autograd.Reshape(g.z, s.Heads, 1), s.Heads, hd)), s.Heads*hd)
	}}
	v.restore = append(v.restore, func() { a.O = o })
}

// gateMLP masks f's neurons (on down's input) and its output by out.
func (v *VIB) gateMLP(f *nn.MLP, i int, out func() *autograd.Var) {
	d, g := f.Down, v.Neurons[i]
	f.Down = &gated{Layer: d, in: func() *autograd.Var { return g.z }, out: out}
	v.restore = append(v.restore, func() { f.Down = d })
}

// Params returns the masks' μ and log σ².
func (v *VIB) Params() []*autograd.Var {
	var ps []*autograd.Var
	if v.Hidden != nil {
		ps = append(ps, v.Hidden.Mu, v.Hidden.LogVar)
	}
	ps = append(ps, v.Layers.Mu, v.Layers.LogVar)
	for i := range v.Heads {
		ps = append(ps, v.Heads[i].Mu, v.Heads[i].LogVar, v.Neurons[i].Mu, v.Neurons[i].LogVar)
	}
	return ps
}

// KL returns Σ log(1 + μ²/σ²) over every mask.
func (v *VIB) KL() *autograd.Var {
	kl := v.Layers.KL()
	if v.Hidden != nil {
		kl = autograd.Add(v.Hidden.KL(), kl)
	}
	for i := range v.Heads {
		kl = autograd.Add(kl, autograd.Add(v.Heads[i].KL(), v.Neurons[i].KL()))
	}
	return kl
}

// Sample draws every mask for the next forward pass (rng nil: the
// deterministic masks μ, times keep when it is not nil) and masks the
// embedding table (which a tied head shares, as Apply's masking does).
func (v *VIB) Sample(rng *tensor.RNG, keep *structured.Mask) {
	if v.Hidden != nil {
		if keep == nil {
			v.Hidden.sample(rng, nil)
		} else {
			v.Hidden.sample(rng, keep.Hidden)
		}
	}
	if keep == nil {
		v.Layers.sample(rng, nil)
	} else {
		v.Layers.sample(rng, keep.Layers)
	}
	for i := range v.Heads {
		var kh, kn []bool
		if keep != nil {
			kh, kn = keep.Heads[i], keep.Neurons[i]
		}
		v.Heads[i].sample(rng, kh)
		v.Neurons[i].sample(rng, kn)
	}
	if v.Hidden == nil {
		return
	}
	v.Model.Embed.Weight = autograd.Mul(v.embed, v.Hidden.z)
}

// Detach restores m's ungated layers and embedding (the masks stay in
// v).
func (v *VIB) Detach() {
	for _, r := range v.restore {
		r()
	}
	v.restore = nil
	if v.Model != nil {
		v.Model.Embed.Weight = v.embed
	}
}
