package optim

import (
	"math"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/tensor"
)

// TestTrainsSmallNetwork is an end-to-end check of tensor, autograd and
// optim together: a two-layer GELU network with LayerNorm fits sin(3x) from
// 256 points. A broken gradient anywhere keeps the loss high.
func TestTrainsSmallNetwork(t *testing.T) {
	r := tensor.NewRNG(42)
	const n, hidden = 256, 32
	xs := tensor.Uniform(r, -1, 1, n, 1)
	ys := tensor.Map(xs, func(v float32) float32 { return float32(math.Sin(3 * float64(v))) }, nil)
	w1 := autograd.Param("w1", tensor.KaimingUniform(r, 1, tensor.FanIn, hidden, 1))
	b1 := autograd.Param("b1", tensor.Zeros(hidden))
	g := autograd.Param("ln.weight", tensor.Ones(hidden))
	w2 := autograd.Param("w2", tensor.KaimingUniform(r, 1, tensor.FanIn, 1, hidden))
	b2 := autograd.Param("b2", tensor.Zeros(1))
	params := []*autograd.Var{w1, b1, g, w2, b2}
	opt := NewAdamW([]*Group{
		{Params: []*autograd.Var{w1, w2}, LR: 1e-2, WeightDecay: 1e-4},
		{Params: []*autograd.Var{b1, g, b2}, LR: 1e-2},
	})
	sched := WarmupCosine{Warmup: 20, Total: 400, MinFactor: 0.1}
	x, y := autograd.Const(xs), autograd.Const(ys)
	forward := func() *autograd.Var {
		h := autograd.Add(autograd.MatMul(x, w1, false, true), b1)
		h = autograd.Gelu(autograd.LayerNorm(h, g, nil, 1e-5))
		return autograd.MSELoss(autograd.Add(autograd.MatMul(h, w2, false, true), b2), y)
	}
	first := forward().Item()
	var last float64
	for step := 0; step < 400; step++ {
		loss := forward()
		last = loss.Item()
		loss.Backward()
		ClipGradNorm(params, 1)
		opt.SetLRScale(sched.Factor(step))
		opt.Step()
		opt.ZeroGrad()
	}
	if !(last < first/20) || last > 0.02 {
		t.Fatalf("loss went from %.4f to %.4f; want below %.4f and 0.02", first, last, first/20)
	}
}
