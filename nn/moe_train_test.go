package nn_test

import (
	"slices"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/train"
)

// moeModel's objective ignores the mixture's output (times 0), so only
// the auxiliary losses move the router.
type moeModel struct{ M *nn.MoE }

func (m moeModel) Params() []*autograd.Var { return m.M.Params() }
func (m moeModel) Loss(ctx *nn.Ctx, x *tensor.Tensor) *autograd.Var {
	return autograd.MulScalar(autograd.Sum(m.M.ForwardCtx(ctx, autograd.Const(x)), false), 0)
}

// TestMoEBalanceReachesOptimizer: through train.Loop, the balance and z
// losses are logged and change the router when nothing else does.
func TestMoEBalanceReachesOptimizer(t *testing.T) {
	m, err := nn.NewMoE("mlp", nn.FFNConfig{Dim: 4, Hidden: 6, Act: "silu", Init: nn.Init{RNG: tensor.NewRNG(1), Std: 0.5}}, "gated",
		nn.MoEConfig{Experts: 4, TopK: 2, BalanceCoef: 0.5, ZLossCoef: 0.01}, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	before := m.Router.Weight.Value.Float32s()
	loop := &train.Loop[*tensor.Tensor]{Model: moeModel{m}, Data: train.Repeat[*tensor.Tensor]{Batch: tensor.RandN(tensor.NewRNG(2), 16, 4)}, Hyper: train.Hyper{Steps: 3, LR: 0.05}}
	if err := loop.Train(); err != nil {
		t.Fatal(err)
	}
	if slices.Equal(before, m.Router.Weight.Value.Float32s()) {
		t.Fatal("the router did not move: the auxiliary losses did not reach the optimizer")
	}
	aux := loop.Metrics()[len(loop.Metrics())-1].Aux
	for _, k := range []string{"moe_balance", "moe_zloss", "moe_dropped", "moe_load_e0", "moe_load_max"} {
		if _, ok := aux[k]; !ok {
			t.Errorf("metrics lack %s: %v", k, aux)
		}
	}
}
