package atoms

import (
	"fmt"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// Architectures.
const (
	ArchTransformer = "transformer"
	ArchSchNet      = "schnet"
)

// Config describes a model on atoms and its objective. Zero fields take
// the defaults Defaults gives.
type Config struct {
	Arch   string `json:"arch"`   // ArchTransformer or ArchSchNet
	Dim    int    `json:"dim"`    // atom feature width
	Layers int    `json:"layers"` // Transformer blocks or SchNet interactions

	// Transformer.
	Heads int `json:"heads,omitempty"`
	FFN   int `json:"ffn,omitempty"` // feed-forward width (0: 4·Dim)
	// CoordHidden is the hidden width of the coordinate MLP 3 → CoordHidden
	// → Dim (0: Dim).
	CoordHidden int `json:"coord_hidden,omitempty"`
	// CoordLinear embeds coordinates by one linear map 3 → Dim without a
	// bias, as the reference code does (mlp_embed false), instead of the MLP.
	CoordLinear bool `json:"coord_linear,omitempty"`
	// CoordScale multiplies the centred coordinates (Å) before their
	// embedding (0: 1).
	CoordScale float64 `json:"coord_scale,omitempty"`
	// DirectForces predicts forces with a head of their own on each atom's
	// final features, as the paper does, instead of −∂E/∂x (the ablation).
	DirectForces bool `json:"direct_forces,omitempty"`
	// AuxForceWeight, with forces from −∂E/∂x, adds a direct force head
	// whose forces are not predictions but an auxiliary loss of this weight
	// (mean squared error in standardised units), a shortcut for the
	// features to learn the atoms' environments (0: none).
	AuxForceWeight float64 `json:"aux_force_weight,omitempty"`

	// SchNet.
	Filters int     `json:"filters,omitempty"` // filter width (0: Dim)
	RBF     int     `json:"rbf,omitempty"`     // Gaussians of the distance expansion (0: 25)
	Cutoff  float64 `json:"cutoff,omitempty"`  // Å (0: 5)

	// Objective: EnergyWeight·MSE(ε) + ForceWeight·MSE(F/Scale), both in
	// the Reference's standardised units (0, 0: 1 and 10).
	EnergyWeight float64 `json:"energy_weight"`
	ForceWeight  float64 `json:"force_weight"`
	// Rotate turns each training molecule by a random rotation at every
	// step, force labels too (the Transformer's augmentation; SchNet is
	// invariant and needs none).
	Rotate bool `json:"rotate,omitempty"`

	Seed uint64 `json:"seed"` // initialisation
}

// Defaults returns c with zero fields set: a 4-block, 64-wide Transformer
// with 4 heads, or a SchNet of 3 interactions, 64 features, 25 Gaussians
// and a 5 Å cutoff; energy weight 1, force weight 10.
func (c Config) Defaults() Config {
	if c.Arch == "" {
		c.Arch = ArchTransformer
	}
	if c.Dim == 0 {
		c.Dim = 64
	}
	if c.Layers == 0 {
		c.Layers = 4
		if c.Arch == ArchSchNet {
			c.Layers = 3
		}
	}
	if c.Heads == 0 {
		c.Heads = 4
	}
	if c.FFN == 0 {
		c.FFN = 4 * c.Dim
	}
	if c.CoordScale == 0 {
		c.CoordScale = 1
	}
	if c.CoordHidden == 0 {
		c.CoordHidden = c.Dim
	}
	if c.Filters == 0 {
		c.Filters = c.Dim
	}
	if c.RBF == 0 {
		c.RBF = 25
	}
	if c.Cutoff == 0 {
		c.Cutoff = 5
	}
	if c.EnergyWeight == 0 && c.ForceWeight == 0 {
		c.EnergyWeight, c.ForceWeight = 1, 10
	}
	return c
}

// Validate checks c (after Defaults).
func (c Config) Validate() error {
	switch {
	case c.Arch != ArchTransformer && c.Arch != ArchSchNet:
		return fmt.Errorf("atoms: architecture %q, want %q or %q", c.Arch, ArchTransformer, ArchSchNet)
	case c.Dim <= 0 || c.Layers <= 0:
		return fmt.Errorf("atoms: width %d and layers %d must be positive", c.Dim, c.Layers)
	case c.Arch == ArchTransformer && (c.Heads <= 0 || c.Dim%c.Heads != 0):
		return fmt.Errorf("atoms: %d heads do not divide width %d", c.Heads, c.Dim)
	case c.Arch == ArchSchNet && c.DirectForces:
		return fmt.Errorf("atoms: SchNet has no direct force head (forces are −∂E/∂x)")
	case c.Arch == ArchSchNet && (c.RBF < 2 || c.Cutoff <= 0):
		return fmt.Errorf("atoms: SchNet needs at least 2 Gaussians (have %d) and a positive cutoff (have %v)", c.RBF, c.Cutoff)
	case c.AuxForceWeight < 0 || c.AuxForceWeight > 0 && (c.DirectForces || c.Arch == ArchSchNet):
		return fmt.Errorf("atoms: an auxiliary force head (weight %v) needs a Transformer with forces from −∂E/∂x", c.AuxForceWeight)
	case c.EnergyWeight < 0 || c.ForceWeight < 0:
		return fmt.Errorf("atoms: loss weights %v, %v must not be negative", c.EnergyWeight, c.ForceWeight)
	}
	return nil
}

// Input is a batch as a network sees it.
type Input struct {
	B, T    int
	Lengths []int          // atoms of each molecule
	Species []int          // [B·T] rows of the element embedding, 0 in padding
	Mask    *tensor.Tensor // [B, T, 1]: 1 at atoms, 0 at padding
	Pos     *autograd.Var  // [B, T, 3] Å
}

// Net is a network on atoms.
type Net interface {
	nn.Module
	// Forward returns each atom's standardised energy [B, T, 1] (the
	// model sums the atoms') and, for a network with a direct force head,
	// standardised forces [B, T, 3] (nil otherwise). Padding rows are
	// ignored by the caller and must not influence the atoms.
	Forward(ctx *nn.Ctx, in *Input) (energy, forces *autograd.Var)
	// FLOPs estimates the forward pass's floating-point operations on a
	// molecule (a multiply-add counts 2; matrix products, attention and
	// pair terms only).
	FLOPs(mol Molecule) float64
}

// Model is a potential: a network, the reference energies and scale it is
// standardised by, and its configuration.
type Model struct {
	Config Config
	Ref    Reference
	Net    Net
}

// New builds the model c describes (after Defaults) for the elements and
// scale of ref, initialised from c.Seed.
func New(c Config, ref Reference) (*Model, error) {
	c = c.Defaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if len(ref.Elements) == 0 || len(ref.Energy) != len(ref.Elements) || ref.Scale <= 0 {
		return nil, fmt.Errorf("atoms: reference of %d elements, %d energies and scale %v", len(ref.Elements), len(ref.Energy), ref.Scale)
	}
	m := &Model{Config: c, Ref: ref}
	var err error
	switch c.Arch {
	case ArchTransformer:
		m.Net, err = NewTransformer(c, len(ref.Elements))
	case ArchSchNet:
		m.Net = NewSchNet(c, len(ref.Elements))
	}
	return m, err
}

// Params returns the network's parameters.
func (m *Model) Params() []*autograd.Var { return m.Net.Params() }

// dtype is the type of the parameters (float32, or float64 after ToFloat64).
func (m *Model) dtype() tensor.DType { return m.Params()[0].Value.DType() }

// ToFloat64 converts the parameters to float64 in place, for derivative
// checks by finite differences.
func (m *Model) ToFloat64() {
	for _, p := range m.Params() {
		p.Value = p.Value.To(tensor.Float64)
	}
}

// input makes the network's input for b with positions pos [B, T, 3].
func (m *Model) input(b *Batch, pos *autograd.Var) *Input {
	species := make([]int, len(b.Z))
	for i, n := range b.Lengths {
		for t := range n {
			j, ok := m.Ref.Index(b.Z[i*b.T+t])
			if !ok {
				panic(m.Ref.Check(b))
			}
			species[i*b.T+t] = j
		}
	}
	return &Input{B: b.B, T: b.T, Lengths: b.Lengths, Species: species, Mask: b.Mask(pos.Value.DType()), Pos: pos}
}

// Standardised returns b's energies ε [B] and forces f [B, T, 3] in the
// Reference's standardised units (ε = (E − E_ref)/Scale, f = F/Scale), as
// functions of pos (b's positions as a Var, from b.PosVar): the energy is
// the masked sum of the atoms' energies; the forces are −∂ε/∂pos (zero at
// padding), recorded when create is set so that a loss on them trains
// through the second-order tape, or the direct head's. Without create (and
// without a direct head) the graph behind ε is freed, as evaluation wants.
func (m *Model) Standardised(ctx *nn.Ctx, b *Batch, pos *autograd.Var, create bool) (eps, f *autograd.Var, err error) {
	eps, f, _, err = m.standardised(ctx, b, pos, create)
	return eps, f, err
}

// standardised is Standardised that also returns the auxiliary direct
// forces (AuxForceWeight; nil without).
func (m *Model) standardised(ctx *nn.Ctx, b *Batch, pos *autograd.Var, create bool) (eps, f, aux *autograd.Var, err error) {
	in := m.input(b, pos)
	mask := autograd.Const(in.Mask)
	e, direct := m.Net.Forward(ctx, in)
	eps = autograd.Sum(autograd.Mul(e, mask), false, 1, 2) // [B]
	if direct != nil {
		direct = autograd.Mul(direct, mask)
		if m.Config.DirectForces {
			return eps, direct, nil, nil
		}
	}
	dE, err := autograd.Grad(autograd.Sum(eps, false), []*autograd.Var{pos}, autograd.GradOptions{CreateGraph: create})
	if err != nil {
		return nil, nil, nil, err
	}
	return eps, autograd.Neg(dE[0]), direct, nil
}

// Predict returns b's energies [B] (kcal/mol) and forces [B, T, 3]
// (kcal/mol/Å, zero at padding), as constants.
func (m *Model) Predict(b *Batch) (E, F *tensor.Tensor, err error) {
	if err := m.Ref.Check(b); err != nil {
		return nil, nil, err
	}
	eps, f, err := m.Standardised(nil, b, b.PosVar(m.dtype()), false)
	if err != nil {
		return nil, nil, err
	}
	E = tensor.MulScalar(eps.Value.To(tensor.Float64), m.Ref.Scale)
	for i := range b.B {
		E.Set(E.At(i)+m.Ref.Baseline(b.Z[i*b.T:(i+1)*b.T]), i)
	}
	return E, tensor.MulScalar(f.Value.To(tensor.Float64), m.Ref.Scale), nil
}

// Loss is the objective on b in standardised units,
// EnergyWeight·mean_b (ε̂ − ε)² + ForceWeight·mean_{atoms, xyz} (f̂ − f)²,
// trained through −∂E/∂x (or the direct head), plus AuxForceWeight times
// the auxiliary head's force error. Its terms are recorded in ctx's
// auxiliary sink with weight 0, as "energy_mse", "force_mse" and
// "aux_force_mse".
func (m *Model) Loss(ctx *nn.Ctx, b *Batch) *autograd.Var {
	if b.Forces == nil && m.Config.ForceWeight > 0 {
		panic("atoms: a batch without force labels and a force weight")
	}
	dt := m.dtype()
	eps, f, aux, err := m.standardised(ctx, b, b.PosVar(dt), true)
	if err != nil {
		panic(err)
	}
	target := make([]float64, b.B)
	for i := range b.B {
		target[i] = (b.Energy[i] - m.Ref.Baseline(b.Z[i*b.T:(i+1)*b.T])) / m.Ref.Scale
	}
	eLoss := autograd.MSELoss(eps, autograd.Const(tensor.FromFloat64(target, b.B).To(dt)))
	loss := autograd.MulScalar(eLoss, m.Config.EnergyWeight)
	ctx.AddAux("energy_mse", 0, eLoss.Detach())
	if b.Forces != nil {
		ft := tensor.MulScalar(tensor.FromFloat64(b.Forces, b.B, b.T, 3), 1/m.Ref.Scale).To(dt)
		d := autograd.Sub(f, autograd.Const(ft)) // zero at padding on both sides
		fLoss := autograd.MulScalar(autograd.Sum(autograd.Mul(d, d), false), 1/float64(3*b.Tokens()))
		loss = autograd.Add(loss, autograd.MulScalar(fLoss, m.Config.ForceWeight))
		ctx.AddAux("force_mse", 0, fLoss.Detach())
		if aux != nil {
			d := autograd.Sub(aux, autograd.Const(ft))
			aLoss := autograd.MulScalar(autograd.Sum(autograd.Mul(d, d), false), 1/float64(3*b.Tokens()))
			loss = autograd.Add(loss, autograd.MulScalar(aLoss, m.Config.AuxForceWeight))
			ctx.AddAux("aux_force_mse", 0, aLoss.Detach())
		}
	}
	return loss
}

// String describes the model.
func (m *Model) String() string {
	c := m.Config
	forces := "−∂E/∂x"
	if c.DirectForces {
		forces = "a direct head"
	}
	switch c.Arch {
	case ArchSchNet:
		return fmt.Sprintf("SchNet: %d interactions, %d features, %d filters, %d Gaussians to %g Å; %d parameters",
			c.Layers, c.Dim, c.Filters, c.RBF, c.Cutoff, autograd.NumParams(m.Params()))
	}
	return fmt.Sprintf("Transformer on atoms: %d blocks, width %d, %d heads, FFN %d; forces from %s; %d parameters",
		c.Layers, c.Dim, c.Heads, c.FFN, forces, autograd.NumParams(m.Params()))
}
