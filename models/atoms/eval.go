package atoms

import (
	"fmt"
	"math"

	"github.com/loomml/loom/autograd"
)

// Metrics are a model's errors on a set of molecules.
type Metrics struct {
	Molecules int `json:"molecules"`
	Atoms     int `json:"atoms"`
	// EnergyMAE and EnergyRMSE are per molecule, kcal/mol.
	EnergyMAE  float64 `json:"energy_mae"`
	EnergyRMSE float64 `json:"energy_rmse"`
	// ForceMAE and ForceRMSE are per Cartesian component, kcal/mol/Å.
	ForceMAE  float64 `json:"force_mae"`
	ForceRMSE float64 `json:"force_rmse"`
	// Loss is the training objective (Model.Loss, standardised units)
	// without the auxiliary force head's term.
	Loss float64 `json:"loss"`
}

// Evaluate predicts mols, batch molecules at a time (forces as the model
// makes them, −∂E/∂x or its direct head), and returns the errors. Forces
// are scored on the molecules with force labels (a batch holding one
// without is scored on energies only); with none at all the force errors
// are NaN and Loss is the energy term alone.
func Evaluate(m *Model, mols []Molecule, batch int) (Metrics, error) {
	var out Metrics
	var eAbs, eSq, fAbs, fSq float64
	forceComps := 0
	batch = max(batch, 1)
	for lo := 0; lo < len(mols); lo += batch {
		b := Collate(mols[lo:min(len(mols), lo+batch)])
		E, F, err := m.Predict(b)
		if err != nil {
			return Metrics{}, err
		}
		f := F.Float64s()
		for i := range b.B {
			d := E.At(i) - b.Energy[i]
			eAbs += math.Abs(d)
			eSq += d * d
			if b.Forces == nil {
				continue
			}
			for k := range 3 * b.Lengths[i] {
				d := f[i*b.T*3+k] - b.Forces[i*b.T*3+k]
				fAbs += math.Abs(d)
				fSq += d * d
			}
			forceComps += 3 * b.Lengths[i]
		}
		out.Molecules += b.B
		out.Atoms += b.Tokens()
	}
	if out.Molecules == 0 {
		return out, fmt.Errorf("atoms: no molecules to evaluate")
	}
	n, s2 := float64(out.Molecules), m.Ref.Scale*m.Ref.Scale
	out.EnergyMAE, out.EnergyRMSE = eAbs/n, math.Sqrt(eSq/n)
	out.Loss = m.Config.EnergyWeight * eSq / n / s2
	out.ForceMAE, out.ForceRMSE = math.NaN(), math.NaN()
	if c := float64(forceComps); c > 0 {
		out.ForceMAE, out.ForceRMSE = fAbs/c, math.Sqrt(fSq/c)
		out.Loss += m.Config.ForceWeight * fSq / c / s2
	}
	return out, nil
}

// Cost is a model's size and compute, for comparisons at comparable
// parameters and compute.
type Cost struct {
	Params int `json:"params"`
	// FLOPs is the forward pass's estimate (Net.FLOPs) averaged over the
	// molecules' sizes. Forces by −∂E/∂x cost about two forward passes
	// more, and a training step through them about three times that.
	FLOPs     float64 `json:"flops_per_molecule"`
	MeanAtoms float64 `json:"mean_atoms"`
}

// Cost returns m's parameter count and forward FLOPs per molecule of mols.
func (m *Model) Cost(mols []Molecule) Cost {
	c := Cost{Params: autograd.NumParams(m.Params())}
	for _, mol := range mols {
		c.FLOPs += m.Net.FLOPs(mol)
		c.MeanAtoms += float64(mol.Len())
	}
	if n := float64(len(mols)); n > 0 {
		c.FLOPs /= n
		c.MeanAtoms /= n
	}
	return c
}
