package graph

import (
	"bytes"
	"encoding/csv"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/chem"
	"github.com/loomml/loom/data/molecules"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/optim"
	"github.com/loomml/loom/tensor"
)

// esolGraphs parses the first n ESOL molecules (the last CSV column).
func esolGraphs(b testing.TB, n int) []*Graph {
	rows, err := csv.NewReader(bytes.NewReader(molecules.ESOL())).ReadAll()
	if err != nil {
		b.Fatal(err)
	}
	var gs []*Graph
	for _, r := range rows[1:] {
		if len(gs) == n {
			break
		}
		m, err := chem.ParseSMILES(r[len(r)-1])
		if err != nil {
			b.Fatal(err)
		}
		g, err := FromMolecule(m)
		if err != nil {
			b.Fatal(err)
		}
		gs = append(gs, g)
	}
	return gs
}

// BenchmarkTrainStep times one training step (forward, backward, Adam) of
// each architecture at the reference's ZINC size on 128 ESOL molecules.
func BenchmarkTrainStep(b *testing.B) {
	gs := esolGraphs(b, 128)
	ys := make([][]float64, len(gs))
	for i := range ys {
		ys[i] = []float64{float64(i%7) - 3}
	}
	for _, arch := range []string{"gt", "gt-full", "gcn", "gin"} {
		b.Run(arch, func(b *testing.B) {
			set, err := NewSet(gs, ys, 8)
			if err != nil {
				b.Fatal(err)
			}
			c := Defaults(arch, chem.AtomFeatureDims, chem.BondFeatureDims)
			c.PEDim = 8
			m, err := New(c)
			if err != nil {
				b.Fatal(err)
			}
			idx := make([]int, len(gs))
			for i := range idx {
				idx[i] = i
			}
			batch := set.Batch(idx)
			opt := optim.NewAdamW([]*optim.Group{{Params: m.Params(), LR: 1e-3}})
			tr := Trainer{M: m}
			rng := tensor.NewRNG(1)
			b.ResetTimer()
			for range b.N {
				ctx := &nn.Ctx{Train: true, RNG: rng}
				loss := tr.Loss(ctx, batch)
				autograd.ZeroGrads(m.Params())
				loss.Backward()
				opt.Step()
			}
		})
	}
}
