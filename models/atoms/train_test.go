package atoms

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/loomml/loom/train"
)

// fewFrames returns n geometries of MMFF training molecules of at most 12
// atoms, four of each (the set has ten frames per molecule, in order).
func fewFrames(t testing.TB, n int) []Molecule {
	tr, _, _ := mmff(t)
	var out []Molecule
	for i := 0; i < len(tr) && len(out) < n; i++ {
		if i%10 < 4 && tr[i].Len() <= 12 {
			out = append(out, tr[i])
		}
	}
	return out
}

// meanLoss is the mean loss of ms[lo:hi].
func meanLoss(ms []train.Metric, lo, hi int) float64 {
	s := 0.0
	for _, m := range ms[lo:hi] {
		s += m.Loss
	}
	return s / float64(hi-lo)
}

// Training through train.Loop, forces by −∂E/∂x through the second-order
// tape (or the direct head), at least halves the loss on eight MMFF frames
// (two molecules) within a few seconds, for both models. The Transformer,
// which has to learn locality from raw coordinates, gets more steps.
func TestTrainSmoke(t *testing.T) {
	mols := fewFrames(t, 8)
	for _, tc := range []struct {
		c     Config
		steps int
		lr    float64
	}{
		{Config{Arch: ArchTransformer, Dim: 32, Layers: 2, Heads: 4, CoordScale: 3, Seed: 1}, 100, 5e-3},
		{Config{Arch: ArchTransformer, Dim: 32, Layers: 2, Heads: 4, CoordScale: 3, DirectForces: true, Seed: 1}, 100, 5e-3},
		{Config{Arch: ArchSchNet, Dim: 32, Layers: 2, Seed: 1}, 60, 3e-3},
	} {
		name := tc.c.Arch
		if tc.c.DirectForces {
			name += "-direct-forces"
		}
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			rc := RunConfig{Model: tc.c, Train: train.Hyper{Steps: tc.steps, BatchSize: 8, LR: tc.lr, Warmup: 5, MinLRFactor: 0.1, Clip: 10}}
			m, ms, err := Fit(rc, mols, nil, FitOptions{})
			if err != nil {
				t.Fatal(err)
			}
			first, last := meanLoss(ms, 0, 5), meanLoss(ms, len(ms)-10, len(ms))
			r, err := Evaluate(m, mols, 8)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("loss %.3f → %.3f in %d steps (%v); energy MAE %.2f kcal/mol, force MAE %.2f kcal/mol/Å", first, last, len(ms), time.Since(start).Round(time.Millisecond), r.EnergyMAE, r.ForceMAE)
			if !(last < first/2) {
				t.Fatalf("loss went from %.4f to %.4f, want at least a halving", first, last)
			}
		})
	}
}

// A run is described by JSON and seeded: the same RunConfig trains to the
// same losses, another seed to others.
func TestFitFromJSONIsSeeded(t *testing.T) {
	mols := fewFrames(t, 8)
	const js = `{"model": {"arch": "transformer", "dim": 16, "layers": 1, "heads": 2, "rotate": true, "energy_weight": 1, "force_weight": 10, "seed": 7},
		"train": {"steps": 4, "batch_size": 4, "lr": 0.003, "clip": 10}}`
	var rc RunConfig
	if err := json.Unmarshal([]byte(js), &rc); err != nil {
		t.Fatal(err)
	}
	run := func(rc RunConfig) []float64 {
		_, ms, err := Fit(rc, mols, mols[:2], FitOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var out []float64
		for _, m := range ms {
			out = append(out, m.Loss)
		}
		return append(out, ms[len(ms)-1].ValLoss)
	}
	a, b := run(rc), run(rc)
	if !slices.Equal(a, b) {
		t.Fatalf("two runs of one config: %v and %v", a, b)
	}
	rc.Model.Seed++
	if c := run(rc); slices.Equal(a, c) {
		t.Fatalf("another seed gave the same losses %v", c)
	}
	back, _ := json.Marshal(rc)
	var again RunConfig
	if err := json.Unmarshal(back, &again); err != nil || again != rc {
		t.Fatalf("config %+v came back as %+v (%v)", rc, again, err)
	}
}
