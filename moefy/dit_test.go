package moefy

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/models/dit"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// TestConvertDiT: a DiT's MLPs split into experts (EMoE's clusters, or
// Dense2MoE's shared + routed) and routed to all of them with weight 1
// compute the dense DiT; with a learned router the mixture saves and
// loads.
func TestConvertDiT(t *testing.T) {
	m, err := dit.New(dit.Config{ImageSize: 8, Channels: 1, PatchSize: 2, Hidden: 32, Depth: 2, Heads: 4, MLPRatio: 2, Classes: 2,
		Diffusion: dit.Schedule{Steps: 50}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range m.Blocks { // open adaLN-Zero's gates
		b.Ada.Weight.Value = tensor.RandN(tensor.NewRNG(uint64(10+i)), b.Ada.Weight.Shape()...)
	}
	m.FinalOut.Weight.Value = tensor.RandN(tensor.NewRNG(3), m.FinalOut.Weight.Shape()...)
	x := autograd.Const(tensor.RandN(tensor.NewRNG(4), 3, 1, 8, 8))
	ts, ys := []float64{3, 20, 45}, []int{0, 1, 2}
	out := func(mm *dit.Model) []float32 {
		var v []float32
		autograd.NoGrad(func() { v = mm.Forward(nil, x, ts, ys).Value.Contiguous().F32() })
		return v
	}
	want := out(m)
	calib := []dit.Batch{{X: tensor.RandN(tensor.NewRNG(5), 4, 1, 8, 8), Y: []int{0, 1, 0, 1}}}
	for _, o := range []Options{
		{Method: "emoe", Experts: 4, TopK: 4},
		{Method: "dense2moe", Experts: 4, TopK: 4, Shared: 16, Router: nn.RouterKeys},
	} {
		mix, _, err := ConvertDiT(m, o, calib)
		if err != nil {
			t.Fatal(err)
		}
		got := out(mix)
		for i := range want {
			if math.Abs(float64(got[i]-want[i])) > 1e-4 {
				t.Fatalf("%s at k = E: output %d is %v, the dense DiT's %v", o.Method, i, got[i], want[i])
			}
		}
	}
	mix, rep, err := ConvertDiT(m, Options{Method: "dense2moe", Experts: 4, TopK: 2, Shared: 16}, calib)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Router != nn.RouterSoftmax || mix.Cfg.MoE.ExpertSize != 12 {
		t.Errorf("report %+v, config %+v", rep, mix.Cfg.MoE)
	}
	dir := filepath.Join(t.TempDir(), "d")
	if err := dit.Save(mix, dir); err != nil {
		t.Fatal(err)
	}
	back, err := dit.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, b := out(mix), out(back)
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("the mixture DiT differs after saving and loading")
		}
	}
	if _, _, err := ConvertDiT(m, Options{Method: "emoe", Experts: 5, TopK: 2}, nil); err == nil {
		t.Error("5 experts of 64 units accepted")
	}
}

// TestTaylorPruneDiT: keeping every unit is the dense DiT; keeping fewer
// gives a narrower MLP.
func TestTaylorPruneDiT(t *testing.T) {
	m, _ := dit.New(dit.Config{ImageSize: 8, Channels: 1, PatchSize: 2, Hidden: 32, Depth: 2, Heads: 4, MLPRatio: 2, Classes: 2,
		Diffusion: dit.Schedule{Steps: 50}}, 1)
	for i, b := range m.Blocks {
		b.Ada.Weight.Value = tensor.RandN(tensor.NewRNG(uint64(10+i)), b.Ada.Weight.Shape()...)
	}
	m.FinalOut.Weight.Value = tensor.RandN(tensor.NewRNG(3), m.FinalOut.Weight.Shape()...)
	calib := []dit.Batch{{X: tensor.RandN(tensor.NewRNG(5), 4, 1, 8, 8), Y: []int{0, 1, 0, 1}}}
	x := autograd.Const(tensor.RandN(tensor.NewRNG(4), 2, 1, 8, 8))
	out := func(mm *dit.Model) []float32 {
		var v []float32
		autograd.NoGrad(func() { v = mm.Forward(nil, x, []float64{3, 30}, []int{0, 1}).Value.Contiguous().F32() })
		return v
	}
	full, err := TaylorPruneDiT(m, calib, 64, 1)
	if err != nil {
		t.Fatal(err)
	}
	a, b := out(m), out(full)
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > 1e-5 {
			t.Fatal("keeping every unit changes the output")
		}
	}
	small, err := TaylorPruneDiT(m, calib, 24, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := small.Blocks[0].MLP.(*nn.MLP).Up.(*nn.Linear).Weight.Dim(0); got != 24 {
		t.Errorf("pruned MLP width %d, want 24", got)
	}
}
