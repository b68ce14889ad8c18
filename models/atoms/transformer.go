package atoms

import (
	"strconv"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/models/encoder"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// Transformer is the graph-free Transformer over atoms (Kreiman et al.,
// "Transformers Discover Molecular Structure Without Graph Priors", arXiv
// 2510.02259): each atom is one token, the sum of its element's embedding
// and an MLP embedding of its Cartesian coordinates (centred on the
// molecule's centroid); no positional encoding, no graph, no distances;
// pre-norm blocks (models/encoder's Layer: LayerNorm, bidirectional
// multi-head attention over the molecule's atoms with the padding masked,
// LayerNorm, GELU FFN); a final LayerNorm (the reference's
// pre_readout_layer_norm) and an energy head per atom, D → D → 1, whose
// outputs the model sums. A direct force head D → D → 3 is the ablation.
type Transformer struct {
	Species *nn.Embedding // [elements+1, D], row 0 padding
	// CoordIn and CoordOut embed the centred coordinates: 3 → H → D with a
	// SiLU between, or (CoordLinear) CoordOut alone, 3 → D without bias.
	CoordIn, CoordOut *nn.Linear
	Layers            []*encoder.Layer
	Norm              *nn.LayerNorm
	// EnergyIn, EnergyOut are the energy head D → D → 1 (SiLU).
	EnergyIn, EnergyOut *nn.Linear
	// ForceIn, ForceOut are the direct force head D → D → 3, for
	// DirectForces or AuxForceWeight (nil without).
	ForceIn, ForceOut *nn.Linear

	dim, ffn, heads int
	coordScale      float64
}

// NewTransformer builds a Transformer for c over elements elements, with
// PyTorch's default initialisation (linear layers uniform in ±1/√in,
// embeddings N(0, 1)) drawn from c.Seed; the heads' last layers start at
// zero, so that a new model predicts the reference energies.
func NewTransformer(c Config, elements int) (*Transformer, error) {
	r := tensor.NewRNG(c.Seed)
	init := nn.TorchInit(r)
	init.Std = 1
	D := c.Dim
	t := &Transformer{Species: nn.NewEmbedding("species", elements+1, D, init), dim: D, ffn: c.FFN, heads: c.Heads, coordScale: c.CoordScale}
	if c.CoordLinear {
		t.CoordOut = nn.NewTorchLinear("coord.out", 3, D, false, r)
	} else {
		t.CoordIn = nn.NewTorchLinear("coord.in", 3, c.CoordHidden, true, r)
		t.CoordOut = nn.NewTorchLinear("coord.out", c.CoordHidden, D, true, r)
	}
	for i := range c.Layers {
		p := nn.Join("layers", strconv.Itoa(i))
		attn, err := nn.NewAttention(nn.AttentionConfig{Prefix: nn.Join(p, "attn"), Dim: D, Heads: c.Heads, Bias: true,
			Kind: nn.Bidirectional, Layer: i, Init: init})
		if err != nil {
			return nil, err
		}
		ffn := &nn.MLP{Up: nn.NewTorchLinear(nn.Join(p, "ffn.up"), D, c.FFN, true, r),
			Down: nn.NewTorchLinear(nn.Join(p, "ffn.down"), c.FFN, D, true, r), Act: nn.Func(autograd.Gelu)}
		t.Layers = append(t.Layers, &encoder.Layer{Attn: attn, FFN: ffn, Pre: true,
			AttnNorm: nn.NewLayerNorm(nn.Join(p, "attn_norm"), D, 1e-5, true),
			FFNNorm:  nn.NewLayerNorm(nn.Join(p, "ffn_norm"), D, 1e-5, true)})
	}
	t.Norm = nn.NewLayerNorm("norm", D, 1e-5, true)
	t.EnergyIn = nn.NewTorchLinear("energy.in", D, D, true, r)
	t.EnergyOut = zeroLinear("energy.out", D, 1)
	if c.DirectForces || c.AuxForceWeight > 0 {
		t.ForceIn = nn.NewTorchLinear("force.in", D, D, true, r)
		t.ForceOut = zeroLinear("force.out", D, 3)
	}
	return t, nil
}

// zeroLinear is a Linear in → out with zero weight and bias.
func zeroLinear(prefix string, in, out int) *nn.Linear {
	return &nn.Linear{Weight: autograd.NewParam(nn.Join(prefix, "weight"), autograd.RoleMatrix, tensor.Zeros(out, in)),
		Bias: autograd.NewParam(nn.Join(prefix, "bias"), autograd.RoleBias, tensor.Zeros(out))}
}

// Params returns every parameter once, in module order.
func (t *Transformer) Params() []*autograd.Var {
	ps := nn.Collect(t.Species)
	if t.CoordIn != nil {
		ps = append(ps, t.CoordIn.Params()...)
	}
	ps = append(ps, t.CoordOut.Params()...)
	for _, l := range t.Layers {
		ps = append(ps, l.Params()...)
	}
	ps = append(ps, nn.Collect(t.Norm, t.EnergyIn, t.EnergyOut)...)
	if t.ForceIn != nil {
		ps = append(ps, nn.Collect(t.ForceIn, t.ForceOut)...)
	}
	return ps
}

// centred returns in's positions minus each molecule's centroid, zero at
// padding: [B, T, 3]. It is recorded, so forces through it are right (and
// sum to zero over a molecule).
func centred(in *Input) *autograd.Var {
	mask := autograd.Const(in.Mask)
	n := make([]float64, in.B)
	for i, l := range in.Lengths {
		n[i] = float64(max(l, 1))
	}
	count := autograd.Const(tensor.FromFloat64(n, in.B, 1, 1).To(in.Mask.DType()))
	mean := autograd.Div(autograd.Sum(autograd.Mul(in.Pos, mask), true, 1), count) // [B, 1, 3]
	return autograd.Mul(autograd.Sub(in.Pos, mean), mask)
}

// embed returns the atoms' tokens [B, T, D].
func (t *Transformer) embed(in *Input) *autograd.Var {
	x := centred(in)
	if t.coordScale != 1 {
		x = autograd.MulScalar(x, t.coordScale)
	}
	if t.CoordIn != nil {
		x = autograd.Silu(t.CoordIn.Forward(x))
	}
	return autograd.Add(t.Species.Forward(in.Species, in.B, in.T), t.CoordOut.Forward(x))
}

// maskCtx returns ctx with in's padding as the attention's key lengths.
func maskCtx(ctx *nn.Ctx, in *Input) *nn.Ctx {
	c := nn.Ctx{}
	if ctx != nil {
		c = *ctx
	}
	c.Mask.KeyLengths = in.Lengths
	return &c
}

// Forward returns the atoms' energies [B, T, 1] and, with a direct force
// head, forces [B, T, 3] (standardised units).
func (t *Transformer) Forward(ctx *nn.Ctx, in *Input) (energy, forces *autograd.Var) {
	h := t.embed(in)
	ctx = maskCtx(ctx, in)
	for _, l := range t.Layers {
		h = l.Forward(ctx, h)
	}
	h = t.Norm.Forward(h)
	energy = t.EnergyOut.Forward(autograd.Silu(t.EnergyIn.Forward(h)))
	if t.ForceIn != nil {
		forces = t.ForceOut.Forward(autograd.Silu(t.ForceIn.Forward(h)))
	}
	return energy, forces
}

// FLOPs estimates the forward pass on a molecule of n atoms: the
// coordinate MLP, per block the four projections (8nD²), scores and
// weighted values (4n²D) and the FFN (4nDF), and the heads.
func (t *Transformer) FLOPs(mol Molecule) float64 {
	N, D, F := float64(mol.Len()), float64(t.dim), float64(t.ffn)
	f := 2 * N * 3 * float64(t.CoordOut.OutFeatures())
	if t.CoordIn != nil {
		H := float64(t.CoordIn.OutFeatures())
		f = 2*N*3*H + 2*N*H*D
	}
	f += float64(len(t.Layers)) * (8*N*D*D + 4*N*N*D + 4*N*D*F)
	f += 2*N*D*D + 2*N*D
	if t.ForceIn != nil {
		f += 2*N*D*D + 6*N*D
	}
	return f
}
