package nn

import (
	"math"
	"strings"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/tensor"
)

func newTestMoE(t *testing.T, c MoEConfig, shared int, gate bool) *MoE {
	t.Helper()
	m, err := NewMoE("mlp", FFNConfig{Dim: 4, Hidden: 6, Act: "silu", Init: Init{RNG: tensor.NewRNG(2), Std: 0.5}}, "gated", c, shared, gate)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestMoERouting compares the mixture with a hand computation, token by
// token: softmax of the router, the top k, renormalised or not, each
// selected expert run on the token alone, plus the gated shared expert.
func TestMoERouting(t *testing.T) {
	for _, renorm := range []bool{false, true} {
		m := newTestMoE(t, MoEConfig{Experts: 4, TopK: 2, Renormalize: renorm}, 5, true)
		x := tensor.RandN(tensor.NewRNG(3), 2, 3, 4)
		var got []float32
		autograd.NoGrad(func() { got = m.Forward(autograd.Const(x)).Value.Float32s() })
		xs := x.Float32s()
		W := m.Router.Weight.Value.Float32s()
		for tok := range 6 {
			row := xs[tok*4 : tok*4+4]
			p := make([]float64, 4)
			sum := 0.0
			for e := range 4 {
				for d := range 4 {
					p[e] += float64(W[e*4+d] * row[d])
				}
				p[e] = math.Exp(p[e])
				sum += p[e]
			}
			best, second := 0, -1
			for e := range 4 {
				p[e] /= sum
				if p[e] > p[best] {
					best = e
				}
			}
			for e := range 4 {
				if e != best && (second < 0 || p[e] > p[second]) {
					second = e
				}
			}
			wb, ws := p[best], p[second]
			if renorm {
				wb, ws = wb/(wb+ws), ws/(wb+ws)
			}
			want := make([]float64, 4)
			xt := autograd.Const(tensor.FromFloat32(row, 1, 4))
			autograd.NoGrad(func() {
				for _, ew := range []struct {
					e int
					w float64
				}{{best, wb}, {second, ws}} {
					for d, v := range m.Experts[ew.e].Forward(xt).Value.Float32s() {
						want[d] += ew.w * float64(v)
					}
				}
				s := m.Shared.Forward(xt).Value.Float32s()
				g := 1 / (1 + math.Exp(-float64(m.SharedGate.Forward(xt).Value.Float32s()[0])))
				for d := range 4 {
					want[d] += g * float64(s[d])
				}
			})
			for d := range 4 {
				if math.Abs(want[d]-float64(got[tok*4+d])) > 1e-5 {
					t.Fatalf("renormalize=%v token %d: got %v, want %v", renorm, tok, got[tok*4:tok*4+4], want)
				}
			}
		}
	}
}

// TestMoECapacity: with capacity int(N·cf·k/E) = 1 each expert takes its
// first token; the other slots are dropped and counted. The training
// factor limits training passes, the evaluation factor evaluation.
func TestMoECapacity(t *testing.T) {
	for _, train := range []bool{true, false} {
		cfg := MoEConfig{Experts: 2, TopK: 1, Capacity: 0.5}
		if !train {
			cfg = MoEConfig{Experts: 2, TopK: 1, Capacity: 4, EvalCapacity: 0.5}
		}
		testMoECapacity(t, cfg, &Ctx{Train: train})
	}
	// Dropless evaluation whatever the training factor.
	m := newTestMoE(t, MoEConfig{Experts: 2, TopK: 1, Capacity: 0.5}, 0, false)
	m.Router.Weight.Value = tensor.FromFloat32([]float32{10, 10, 10, 10, -10, -10, -10, -10}, 2, 4)
	autograd.NoGrad(func() { m.Forward(autograd.Const(tensor.Ones(1, 4, 4))) })
	if m.Stats.Dropped != 0 || m.Stats.Load[0] != 4 {
		t.Fatalf("evaluation without an evaluation factor: load %v, dropped %v; want [4 0], 0", m.Stats.Load, m.Stats.Dropped)
	}
}

func testMoECapacity(t *testing.T, cfg MoEConfig, ctx *Ctx) {
	m := newTestMoE(t, cfg, 0, false)
	// Force every token to expert 0: router row 0 large along x's sign.
	m.Router.Weight.Value = tensor.FromFloat32([]float32{10, 10, 10, 10, -10, -10, -10, -10}, 2, 4)
	x := tensor.Ones(1, 4, 4)
	var y []float32
	autograd.NoGrad(func() { y = m.ForwardCtx(ctx, autograd.Const(x)).Value.Float32s() })
	if m.Stats.Load[0] != 1 || m.Stats.Load[1] != 0 || m.Stats.Dropped != 0.75 {
		t.Fatalf("load %v, dropped %v; want [1 0] and 0.75", m.Stats.Load, m.Stats.Dropped)
	}
	for i := 4; i < 16; i++ {
		if y[i] != 0 {
			t.Fatalf("a dropped token's output is %v, want 0 (the residual carries it)", y[4:])
		}
	}
	if y[0] == 0 {
		t.Fatal("the first token was dropped")
	}
}

// TestMoEGradients checks the router's and the experts' gradients (and
// the input's) by finite differences, and that the balance and z losses
// reach the router through the auxiliary-loss sink.
func TestMoEGradients(t *testing.T) {
	m := newTestMoE(t, MoEConfig{Experts: 3, TopK: 2, Renormalize: true, BalanceCoef: 0.01, ZLossCoef: 0.001}, 0, false)
	params := m.Params()
	inputs := []*tensor.Tensor{tensor.RandN(tensor.NewRNG(5), 5, 4)}
	for _, p := range params {
		inputs = append(inputs, p.Value)
	}
	// The leaves GradCheck makes become the module's parameters, in
	// Params order: the router, then each expert's gate, up and down.
	f := func(xs []*autograd.Var) *autograd.Var {
		m.Router.Weight = xs[1]
		i := 2
		for _, e := range m.Experts {
			g := e.(*GatedMLP)
			for _, l := range []Layer{g.Gate, g.Up, g.Down} {
				l.(*Linear).Weight = xs[i]
				i++
			}
		}
		if i != len(xs) {
			t.Fatalf("%d leaves for %d parameters", len(xs), i)
		}
		return m.Forward(xs[0])
	}
	if err := autograd.GradCheck(f, inputs, autograd.CheckOptions{Atol: 1e-6, Rtol: 1e-4}); err != nil {
		t.Fatal(err)
	}
	m = newTestMoE(t, MoEConfig{Experts: 3, TopK: 2, BalanceCoef: 0.01, ZLossCoef: 0.001}, 0, false)
	ctx := &Ctx{Train: true, Aux: &AuxLosses{}}
	m.ForwardCtx(ctx, autograd.Const(tensor.RandN(tensor.NewRNG(6), 2, 5, 4)))
	names := []string{}
	for _, a := range ctx.Aux.List {
		names = append(names, a.Name)
	}
	if strings.Join(names, ",") != "moe_balance,moe_zloss,moe_dropped,moe_load_e0,moe_load_e1,moe_load_e2,moe_load_max" {
		t.Fatalf("auxiliary losses %v", names)
	}
	// The load histogram: shares of the 2·5·2 slots summing to 1.
	v := ctx.Aux.Values()
	if s := v["moe_load_e0"] + v["moe_load_e1"] + v["moe_load_e2"]; math.Abs(s-1) > 1e-6 || v["moe_load_max"] < 1 {
		t.Errorf("load shares %v", v)
	}
	for _, a := range ctx.Aux.List[3:] {
		if a.Weight != 0 {
			t.Errorf("%s weighs %v in the objective", a.Name, a.Weight)
		}
	}
	ctx.Aux.Total().Backward()
	g := m.Router.Weight.Grad
	nonzero := false
	for _, v := range g.Float32s() {
		nonzero = nonzero || v != 0
	}
	if g == nil || !nonzero {
		t.Fatal("the auxiliary losses do not reach the router")
	}
}

// TestMoEConfigErrors names the setting at fault.
func TestMoEConfigErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  MoEConfig
		want string
	}{
		{MoEConfig{Experts: 2, TopK: 3}, "top-k 3 with 2 experts"},
		{MoEConfig{Experts: 2, TopK: 1, Capacity: -1}, "capacity factor -1"},
		{MoEConfig{Experts: 0, TopK: 1}, "0 experts"},
	} {
		if err := c.cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
}
