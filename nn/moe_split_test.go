package nn

import (
	"math"
	"strings"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/tensor"
)

// TestSplitFFNAllExpertsEqualDense: a dense FFN split into E experts and
// routed to all E (EMoE's k = E) computes the dense output, for gated and
// two-layer FFNs with biases (the down bias split b/k).
func TestSplitFFNAllExpertsEqualDense(t *testing.T) {
	groups := [][]int{{0, 5, 7}, {1, 2, 11}, {3, 4, 6}, {8, 9, 10}}
	for _, kind := range []string{"gated", "mlp"} {
		dense, err := NewFFN(kind, FFNConfig{Prefix: "mlp", Dim: 8, Hidden: 12, Act: "gelu", Bias: true, Init: Init{RNG: tensor.NewRNG(4), Std: 0.4}})
		if err != nil {
			t.Fatal(err)
		}
		for _, router := range []string{RouterKeys, RouterSoftmax} {
			m, err := SplitFFN("mlp", dense, Split{Groups: groups}, MoEConfig{TopK: 4, Router: router})
			if err != nil {
				t.Fatal(err)
			}
			if router == RouterSoftmax {
				continue // weights from a softmax sum to 1, not E: only the keys' gate gives the dense output
			}
			x := autograd.Const(tensor.RandN(tensor.NewRNG(5), 2, 5, 8))
			var want, got []float32
			autograd.NoGrad(func() {
				want = dense.Forward(x).Value.Float32s()
				got = m.Forward(x).Value.Float32s()
			})
			for i := range want {
				if math.Abs(float64(want[i]-got[i])) > 1e-5 {
					t.Fatalf("%s: output %d is %v, the dense FFN's %v", kind, i, got[i], want[i])
				}
			}
			if n := autograd.NumParams(m.Params()) - 4*8; n != autograd.NumParams(dense.Params())+3*8 {
				// the router (E·D) is new; the down bias is held by each of the 4 experts
				t.Errorf("%s: %d expert parameters", kind, n)
			}
		}
	}
}

// TestKeyRouter: EMoE's gate is each expert's mean key, tokens go to the
// top k by x·g with weight 1, and the gate follows the keys after they
// change (no gradient reaches it).
func TestKeyRouter(t *testing.T) {
	dense, _ := NewFFN("gated", FFNConfig{Prefix: "mlp", Dim: 4, Hidden: 6, Act: "silu", Init: Init{RNG: tensor.NewRNG(6), Std: 0.5}})
	m, err := SplitFFN("mlp", dense, Split{Groups: [][]int{{0, 1}, {2, 3}, {4, 5}}}, MoEConfig{TopK: 1, Router: RouterKeys})
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.RandN(tensor.NewRNG(7), 1, 6, 4)
	var y []float32
	autograd.NoGrad(func() { y = m.Forward(autograd.Const(x)).Value.Float32s() })
	keys := dense.(*GatedMLP).Gate.(*Linear).Weight.Value.Float32s()
	xs := x.Float32s()
	for tok := range 6 {
		best, bestScore := 0, math.Inf(-1)
		for e := range 3 {
			s := 0.0
			for d := range 4 {
				g := (keys[(2*e)*4+d] + keys[(2*e+1)*4+d]) / 2
				s += float64(g * xs[tok*4+d])
			}
			if s > bestScore {
				best, bestScore = e, s
			}
		}
		var want []float32
		autograd.NoGrad(func() {
			want = m.Experts[best].Forward(autograd.Const(tensor.FromFloat32(xs[tok*4:(tok+1)*4], 1, 4))).Value.Float32s()
		})
		for d := range 4 {
			if math.Abs(float64(want[d]-y[tok*4+d])) > 1e-6 {
				t.Fatalf("token %d: output %v, expert %d alone with weight 1 gives %v", tok, y[tok*4:tok*4+4], best, want)
			}
		}
	}
	// Training: the experts get gradients, the gate none; it follows the keys.
	loss := autograd.Mean(m.ForwardCtx(&Ctx{Train: true, Aux: &AuxLosses{}}, autograd.Const(x)), false)
	loss.Backward()
	if m.Router.Weight.Grad != nil {
		t.Error("the keys' gate got a gradient")
	}
	k := m.Experts[0].(*GatedMLP).Gate.(*Linear).Weight
	k.Value = tensor.Ones(k.Shape()...)
	autograd.NoGrad(func() { m.Forward(autograd.Const(x)) })
	if g := m.Router.Weight.Value.Float32s(); g[0] != 1 || g[3] != 1 {
		t.Errorf("gate row 0 is %v after expert 0's keys became 1", g[:4])
	}
}

func TestSplitFFNErrors(t *testing.T) {
	dense, _ := NewFFN("gated", FFNConfig{Prefix: "mlp", Dim: 4, Hidden: 6, Act: "silu", Init: Init{RNG: tensor.NewRNG(6), Std: 0.5}})
	for _, tc := range []struct {
		groups [][]int
		k      int
		want   string
	}{
		{[][]int{{0, 1, 2}, {3, 4}}, 1, "hidden unit 5 is in no expert"},
		{[][]int{{0, 1, 2}, {2, 3, 4, 5}}, 1, "in two experts"},
		{[][]int{{0, 1, 2}, {3, 4, 5}}, 3, "top-k 3 with 2 experts"},
		{[][]int{{0, 1, 2, 3, 4, 5}, {}}, 1, "expert 1 has no hidden units"},
	} {
		if _, err := SplitFFN("mlp", dense, Split{Groups: tc.groups}, MoEConfig{TopK: tc.k}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.groups, err, tc.want)
		}
	}
}

// TestSplitFFNShared: with a shared expert (gated as Qwen2-MoE's, starting
// at σ(0)·2 = 1) taking the down bias, routing every expert with weight 1
// still computes the dense FFN.
func TestSplitFFNShared(t *testing.T) {
	dense, err := NewFFN("gated", FFNConfig{Prefix: "mlp", Dim: 8, Hidden: 12, Act: "silu", Bias: true, Init: Init{RNG: tensor.NewRNG(8), Std: 0.4}})
	if err != nil {
		t.Fatal(err)
	}
	for _, gate := range []bool{false, true} {
		m, err := SplitFFN("mlp", dense, Split{Groups: [][]int{{0, 5, 7}, {1, 2, 11}, {3, 4, 6}}, Shared: []int{8, 9, 10}, SharedGate: gate}, MoEConfig{TopK: 3, Router: RouterKeys})
		if err != nil {
			t.Fatal(err)
		}
		if (m.SharedGate != nil) != gate || m.Shared == nil {
			t.Fatal("shared expert or gate missing")
		}
		x := autograd.Const(tensor.RandN(tensor.NewRNG(9), 2, 5, 8))
		var want, got []float32
		autograd.NoGrad(func() { want, got = dense.Forward(x).Value.Float32s(), m.Forward(x).Value.Float32s() })
		for i := range want {
			if math.Abs(float64(want[i]-got[i])) > 1e-5 {
				t.Fatalf("gate %v: output %d is %v, the dense FFN's %v", gate, i, got[i], want[i])
			}
		}
	}
}

// TestKeyRouterNeedsKeys: a key-routed mixture of experts without Linear
// first projections (PHM layers) is refused when built, not at its first
// pass.
func TestKeyRouterNeedsKeys(t *testing.T) {
	phm := Init{RNG: tensor.NewRNG(1), Std: 0.1, Layer: func(prefix string, in, out int, bias bool, init Init) (Layer, error) {
		return NewPHM(prefix, in, out, 2, bias, init)
	}}
	_, err := NewMoE("mlp", FFNConfig{Dim: 4, Hidden: 6, Act: "silu", Init: phm}, "gated", MoEConfig{Experts: 2, TopK: 1, Router: RouterKeys}, 0, false)
	if err == nil || !strings.Contains(err.Error(), `router "keys"`) {
		t.Errorf("got %v", err)
	}
}

// TestKeyGateRefresh: evaluation passes reuse the gate; a training pass,
// or new key tensors, make the next pass recompute it.
func TestKeyGateRefresh(t *testing.T) {
	dense, _ := NewFFN("gated", FFNConfig{Prefix: "mlp", Dim: 4, Hidden: 6, Act: "silu", Init: Init{RNG: tensor.NewRNG(6), Std: 0.5}})
	m, err := SplitFFN("mlp", dense, Split{Groups: [][]int{{0, 1}, {2, 3}, {4, 5}}}, MoEConfig{TopK: 1, Router: RouterKeys})
	if err != nil {
		t.Fatal(err)
	}
	x := autograd.Const(tensor.RandN(tensor.NewRNG(7), 1, 3, 4))
	key := m.Experts[0].(*GatedMLP).Gate.(*Linear).Weight
	pass := func(train bool) *tensor.Tensor {
		autograd.NoGrad(func() { m.ForwardCtx(&Ctx{Train: train}, x) })
		return m.Router.Weight.Value
	}
	g0 := pass(false)
	if pass(false) != g0 {
		t.Error("a second evaluation pass recomputed the gate")
	}
	f := key.Value.F32() // the optimizer's in-place step
	for i := range f {
		f[i] += 1
	}
	g1 := pass(true)
	if g1 == g0 || g1.F32()[0] != g0.F32()[0]+1 {
		t.Fatalf("a training pass kept the old gate: %v vs %v", g1.F32()[:4], g0.F32()[:4])
	}
	for i := range f {
		f[i] += 1
	}
	if g2 := pass(false); g2.F32()[0] != g1.F32()[0]+1 {
		t.Error("the evaluation pass after training did not recompute the gate")
	}
	key.Value = tensor.Ones(key.Shape()...)
	if g3 := pass(false); g3.F32()[0] != 1 {
		t.Errorf("new key tensors: gate %v", g3.F32()[:4])
	}
}
