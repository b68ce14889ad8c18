package repro

import (
	"math"
	"strings"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/models/dit"
	"github.com/loomml/loom/moefy"
	"github.com/loomml/loom/tensor"
)

// TestAdoptStage1DiT: the mixture given the stage-1 weights, with its
// routed experts silenced, computes what the stage-1 model computes (the
// shared expert's gate at σ(0) = ½ undone by the doubled down
// projection), and only the shared experts are frozen.
func TestAdoptStage1DiT(t *testing.T) {
	cfg := dit.Config{ImageSize: 8, Channels: 1, PatchSize: 2, Hidden: 32, Depth: 2, Heads: 4, MLPRatio: 4, Classes: 3, Diffusion: dit.Schedule{Steps: 50}}
	teacher, err := dit.New(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range teacher.Params() { // a teacher that computes something
		if strings.Contains(p.Name, "adaLN") || strings.Contains(p.Name, "final_layer") {
			p.Value = tensor.Normal(tensor.NewRNG(uint64(40+i)), 0, 0.2, p.Shape()...)
		}
	}
	calib := []dit.Batch{{X: tensor.RandN(tensor.NewRNG(5), 4, 1, 8, 8), Y: []int{0, 1, 2, 0}}}
	stage1, err := moefy.TaylorPruneDiT(teacher, calib, 32, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range stage1.Params() { // stage 1 trained away from the teacher
		p.Value = tensor.Add(p.Value, tensor.Normal(tensor.NewRNG(uint64(60+i)), 0, 0.05, p.Shape()...))
	}
	m, _, err := moefy.ConvertDiT(teacher, moefy.Options{Method: "dense2moe", Experts: 4, TopK: 2, Shared: 32, Seed: 1}, calib)
	if err != nil {
		t.Fatal(err)
	}
	frozen, err := adoptStage1DiT(m, stage1)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Params() {
		if strings.Contains(p.Name, ".mlp.experts.") && strings.Contains(p.Name, "down_proj") {
			p.Value = tensor.Zeros(p.Shape()...)
		}
		if frozen[p] != strings.Contains(p.Name, ".shared_expert.") {
			t.Errorf("%s frozen: %v", p.Name, frozen[p])
		}
	}
	x := autograd.Const(tensor.RandN(tensor.NewRNG(7), 3, 1, 8, 8))
	ts, ys := []float64{1, 20, 40}, []int{0, 1, 3}
	var a, b []float32
	autograd.NoGrad(func() {
		a = stage1.Forward(nil, x, ts, ys).Value.F32()
		b = m.Forward(nil, x, ts, ys).Value.F32()
	})
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > 1e-5 {
			t.Fatalf("output %d: mixture %v, stage 1 %v", i, b[i], a[i])
		}
	}
}

// TestNearestAndShares: the nearest-image classifier labels the reference
// images themselves correctly (and a clipped copy), and the least expert
// share is the smallest load over its block's mean.
func TestNearestAndShares(t *testing.T) {
	x := tensor.FromFloat32([]float32{-1, -1, 1, 1, 0, 0}, 3, 2)
	n := newNearest(x, []int{0, 1, 2})
	if got := n.agreement(x, []int{0, 1, 2}); got != 1 {
		t.Errorf("agreement on the references %v", got)
	}
	if got := n.agreement(tensor.FromFloat32([]float32{5, 3, -0.1, 0.2}, 2, 2), []int{1, 2}); got != 1 {
		t.Errorf("agreement on near copies %v", got)
	}
	if got := leastShare([][]int{{3, 1}, {2, 2}, nil}); got != 0.5 {
		t.Errorf("least share %v, want 0.5", got)
	}
}
