package graph

import (
	"strings"
	"testing"

	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/train"
)

// toySet is random molecule-like graphs of 3 to 12 nodes labelled with
// two counts: their number of nodes and of nodes whose first feature is 1
// (say, of nitrogens), each over 10.
func toySet(t testing.TB, seed uint64, n, k int) *Set {
	r := tensor.NewRNG(seed)
	var gs []*Graph
	var ys [][]float64
	for range n {
		g := randomGraph(t, r, 3+r.Intn(10), r.Intn(3))
		var count float64
		for _, row := range g.Nodes {
			if row[0] == 1 {
				count++
			}
		}
		gs = append(gs, g)
		ys = append(ys, []float64{float64(g.NumNodes()) / 10, count / 10})
	}
	s, err := NewSet(gs, ys, k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestTrainLoop trains each architecture through train.Loop on the toy
// counting task (sum readout, BatchNorm, LapPE with sign flips; 200
// steps, the GCN, which learns it slowest, 600): the held-out mean
// absolute error must fall to a quarter of the untrained model's or
// below, and under 0.07 (counts over 10).
func TestTrainLoop(t *testing.T) {
	trainSet, valSet := toySet(t, 31, 192, 3), toySet(t, 32, 64, 3)
	for _, c := range []struct {
		arch  string
		steps int
	}{{"gt", 200}, {"gt-full", 200}, {"gcn", 600}, {"gin", 200}} {
		arch, steps := c.arch, c.steps
		t.Run(arch, func(t *testing.T) {
			c := small(arch, NormBatch, ReadoutSum)
			m := mustNew(t, c)
			before := Evaluate(m, valSet, 64)
			loop := &train.Loop[*Batch]{
				Model: Trainer{M: m},
				Data:  train.NewEpochSampler[*Batch](trainSet, 16, 1),
				Hyper: train.Hyper{Steps: steps, LR: 5e-3, Warmup: 10, MinLRFactor: 0.1},
				RNG:   tensor.NewRNG(2),
				Validate: func() (float64, error) {
					return Evaluate(m, valSet, 64).MAE, nil
				},
				EvalEvery: 80,
			}
			if err := loop.Train(); err != nil {
				t.Fatal(err)
			}
			after := Evaluate(m, valSet, 64)
			t.Logf("%s: validation MAE %.4f → %.4f (RMSE %.4f); first loss %.4f, last %.4f", arch, before.MAE, after.MAE, after.RMSE,
				loop.Metrics()[0].Loss, loop.Metrics()[len(loop.Metrics())-1].Loss)
			if after.MAE > before.MAE/4 || after.MAE > 0.07 {
				t.Fatalf("validation MAE %.4f → %.4f", before.MAE, after.MAE)
			}
		})
	}
}

// TestNewSet refuses targets that do not match the graphs.
func TestNewSet(t *testing.T) {
	g := ring(t, 4)
	for _, c := range []struct {
		ys   [][]float64
		want string
	}{
		{[][]float64{{1}}, "2 graphs with 1 targets"},
		{[][]float64{{1}, {1, 2}}, "graph 1 has 2 targets"},
	} {
		if _, err := NewSet([]*Graph{g, g}, c.ys, 2); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("targets %v: error %v, want one mentioning %q", c.ys, err, c.want)
		}
	}
}
