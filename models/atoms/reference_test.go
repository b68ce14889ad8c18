package atoms

import (
	"math"
	"testing"

	"github.com/loomml/loom/tensor"
)

// The fit recovers per-element energies that explain the energies exactly,
// and its scale is the residuals' root mean square.
func TestFitReference(t *testing.T) {
	r := tensor.NewRNG(1)
	truth := map[int]float64{1: -0.5, 6: -38, 8: -75}
	for _, tc := range []struct {
		name  string
		noise float64
	}{{"exact", 0}, {"noisy", 0.3}} {
		t.Run(tc.name, func(t *testing.T) {
			var mols []Molecule
			var noise []float64
			for range 40 {
				var z []int
				e := 0.0
				for _, el := range []int{1, 6, 8} {
					for range 1 + r.Intn(6) {
						z = append(z, el)
						e += truth[el]
					}
				}
				n := tc.noise * r.Normal()
				noise = append(noise, n)
				mols = append(mols, Molecule{Z: z, Pos: make([]float64, 3*len(z)), Energy: e + n})
			}
			ref, err := FitReference(mols)
			if err != nil {
				t.Fatal(err)
			}
			if len(ref.Elements) != 3 || ref.Elements[0] != 1 || ref.Elements[2] != 8 {
				t.Fatalf("elements %v", ref.Elements)
			}
			for j, z := range ref.Elements {
				if d := math.Abs(ref.Energy[j] - truth[z]); d > 0.2 || tc.noise == 0 && d > 1e-6 {
					t.Errorf("element %d: reference %.6f, want %.6f", z, ref.Energy[j], truth[z])
				}
			}
			ss := 0.0
			for _, m := range mols {
				d := m.Energy - ref.Baseline(m.Z)
				ss += d * d
			}
			if want := math.Sqrt(ss / float64(len(mols))); tc.noise > 0 && math.Abs(ref.Scale-want) > 1e-9 {
				t.Errorf("scale %v, want %v", ref.Scale, want)
			}
			if tc.noise == 0 && ref.Scale != 1 {
				t.Errorf("scale %v of an exact fit, want the fallback 1", ref.Scale)
			}
			if i, ok := ref.Index(6); !ok || i != 2 {
				t.Errorf("Index(6) = %d, %v; want 2, true", i, ok)
			}
			if _, ok := ref.Index(7); ok {
				t.Error("Index(7) found an element the set does not have")
			}
			if err := ref.Check(Collate([]Molecule{{Z: []int{1, 7}, Pos: make([]float64, 6)}})); err == nil {
				t.Error("Check passed a molecule with nitrogen")
			}
		})
	}
}

// On the MMFF94 training set the fit leaves a scale of the order of the
// strain energies of the rattled geometries.
func TestFitReferenceMMFF(t *testing.T) {
	tr, _, _ := mmff(t)
	ref, err := FitReference(tr)
	if err != nil {
		t.Fatal(err)
	}
	if len(ref.Elements) != 10 {
		t.Errorf("elements %v, want the ten of the set", ref.Elements)
	}
	var fs float64
	var n int
	for _, m := range tr {
		for _, f := range m.Forces {
			fs += f * f
			n++
		}
	}
	t.Logf("references %v kcal/mol for %v; residual scale %.1f kcal/mol; force components' RMS %.1f kcal/mol/Å", ref.Energy, ref.Elements, ref.Scale, math.Sqrt(fs/float64(n)))
	if ref.Scale < 10 || ref.Scale > 1000 {
		t.Errorf("scale %v kcal/mol", ref.Scale)
	}
}
