package atoms

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// Evaluate's errors are those of Predict, averaged by hand; its Loss is
// Model.Loss on the same molecules.
func TestEvaluate(t *testing.T) {
	mols := small(t, 3, 30)
	for _, tc := range configs {
		t.Run(tc.name, func(t *testing.T) {
			m := testModel(t, tc.c)
			r, err := Evaluate(m, mols, 2)
			if err != nil {
				t.Fatal(err)
			}
			var eAbs, fAbs float64
			atoms := 0
			for _, mol := range mols {
				E, F := predictOne(t, m, mol)
				eAbs += math.Abs(E - mol.Energy)
				for k, f := range F {
					fAbs += math.Abs(f - mol.Forces[k])
				}
				atoms += mol.Len()
			}
			if r.Molecules != 3 || r.Atoms != atoms {
				t.Fatalf("counted %d molecules, %d atoms", r.Molecules, r.Atoms)
			}
			if !closeRel(r.EnergyMAE, eAbs/3, 1e-6, eAbs) || !closeRel(r.ForceMAE, fAbs/float64(3*atoms), 1e-6, fAbs/float64(3*atoms)) {
				t.Fatalf("MAEs %v, %v; by hand %v, %v", r.EnergyMAE, r.ForceMAE, eAbs/3, fAbs/float64(3*atoms))
			}
			ctx := &nn.Ctx{Aux: &nn.AuxLosses{}}
			l := m.Loss(ctx, Collate(mols)).Item()
			parts := ctx.Aux.Values()
			if w := m.Config.AuxForceWeight; w > 0 {
				l -= w * parts["aux_force_mse"] // validation leaves the auxiliary head out
			}
			if !closeRel(r.Loss, l, 1e-4, l) {
				t.Fatalf("loss %v, Model.Loss %v", r.Loss, l)
			}
			if want := m.Config.EnergyWeight*parts["energy_mse"] + m.Config.ForceWeight*parts["force_mse"]; !closeRel(l, want, 1e-5, l) {
				t.Fatalf("loss %v, from its recorded terms %v", l, want)
			}
			if r.EnergyRMSE < r.EnergyMAE || r.ForceRMSE < r.ForceMAE {
				t.Fatalf("RMSE below MAE: %+v", r)
			}
			// Without force labels: the same energy errors, no force errors,
			// the energy term of the loss alone.
			bare := make([]Molecule, len(mols))
			for i, mol := range mols {
				bare[i] = mol
				bare[i].Forces = nil
			}
			e, err := Evaluate(m, bare, 2)
			if err != nil {
				t.Fatal(err)
			}
			if e.EnergyMAE != r.EnergyMAE || !math.IsNaN(e.ForceMAE) || !closeRel(e.Loss, m.Config.EnergyWeight*parts["energy_mse"], 1e-4, e.Loss) {
				t.Fatalf("energies only: %+v", e)
			}
		})
	}
}

// Cost counts the parameters and scales its FLOPs with the molecule: the
// Transformer's quadratic term in the atom count, SchNet's with the pairs
// in its cutoff.
func TestCost(t *testing.T) {
	mols := small(t, 2, 40)
	for _, tc := range configs {
		m := testModel(t, tc.c)
		c := m.Cost(mols)
		if c.Params != autograd.NumParams(m.Params()) || c.FLOPs <= 0 || c.MeanAtoms != float64(mols[0].Len()+mols[1].Len())/2 {
			t.Fatalf("%s: cost %+v", tc.name, c)
		}
		small, big := m.Net.FLOPs(mols[0]), m.Net.FLOPs(mols[1])
		if (mols[0].Len() < mols[1].Len()) != (small < big) {
			t.Fatalf("%s: %d atoms %g FLOPs, %d atoms %g", tc.name, mols[0].Len(), small, mols[1].Len(), big)
		}
		t.Logf("%s: %d parameters, %.3g FLOPs per forward on %.1f atoms", tc.name, c.Params, c.FLOPs, c.MeanAtoms)
	}
}

// A saved model loads back with the same predictions.
func TestSaveLoad(t *testing.T) {
	mols := small(t, 2, 30)
	for _, tc := range configs {
		t.Run(tc.name, func(t *testing.T) {
			m := testModel(t, tc.c)
			dir := filepath.Join(t.TempDir(), "model")
			if err := Save(m, dir); err != nil {
				t.Fatal(err)
			}
			l, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			E, F, _ := m.Predict(Collate(mols))
			El, Fl, _ := l.Predict(Collate(mols))
			for i := range 2 {
				if E.At(i) != El.At(i) {
					t.Fatalf("energy %d: %v, loaded %v", i, E.At(i), El.At(i))
				}
			}
			if d := maxAbs(tensor.Sub(F, Fl).Float64s()); d != 0 {
				t.Fatalf("forces differ by %g after loading", d)
			}
			if l.Config != m.Config || l.Ref.Scale != m.Ref.Scale {
				t.Fatalf("config %+v, reference %v; loaded %+v, %v", m.Config, m.Ref.Scale, l.Config, l.Ref.Scale)
			}
		})
	}
}

// The Trainer turns each training batch by rotations drawn from the
// loop's stream: its loss is Model.Loss on the batch Rotated with the same
// stream, and outside training (or without Rotate) the batch is left alone.
func TestTrainerRotates(t *testing.T) {
	mols := small(t, 3, 30)
	c := configs[0].c
	c.Rotate = true
	m := testModel(t, c)
	b := Collate(mols)
	got := Trainer{m}.Loss(&nn.Ctx{Train: true, RNG: tensor.NewRNG(4)}, b).Item()
	want := m.Loss(nil, b.Rotated(tensor.NewRNG(4))).Item()
	plain := m.Loss(nil, b).Item()
	if got != want {
		t.Fatalf("trainer loss %v, loss of the rotated batch %v", got, want)
	}
	if got == plain {
		t.Fatal("rotation changed nothing")
	}
	if e := (Trainer{m}).Loss(&nn.Ctx{RNG: tensor.NewRNG(4)}, b).Item(); e != plain {
		t.Fatalf("evaluation loss %v, unrotated %v", e, plain)
	}
}
