package optim

import (
	"fmt"
	"math"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/format/safetensors"
	"github.com/loomml/loom/tensor"
)

func load(t *testing.T, f *safetensors.File, name string) *tensor.Tensor {
	t.Helper()
	d, s, err := f.Float32(name)
	if err != nil {
		t.Fatal(err)
	}
	return tensor.FromFloat32(d, s...)
}

func closeTo(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	for i := range want {
		if d := math.Abs(float64(got[i] - want[i])); d > tol*math.Max(1, math.Abs(float64(want[i]))) {
			t.Fatalf("%s[%d] = %.9g, PyTorch %.9g", what, i, got[i], want[i])
		}
	}
}

// TestMatchesPyTorch replays the gradients of testdata/gen_optim.py through
// each optimizer with two parameter groups, the warmup+cosine schedule and
// clipping, and compares every step's parameters with torch.optim's.
func TestMatchesPyTorch(t *testing.T) {
	f, err := safetensors.Open("testdata/optim.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sched := WarmupCosine{Warmup: 2, Total: 6, MinFactor: 0.1}
	makers := map[string]func([]*Group) Optimizer{
		"sgd":          func(g []*Group) Optimizer { return NewSGD(g, 0, false) },
		"sgd_momentum": func(g []*Group) Optimizer { return NewSGD(g, 0.9, false) },
		"sgd_nesterov": func(g []*Group) Optimizer { return NewSGD(g, 0.9, true) },
		"adam":         func(g []*Group) Optimizer { return NewAdam(g) },
		"adamw":        func(g []*Group) Optimizer { return NewAdamW(g) },
	}
	for name, make := range makers {
		t.Run(name, func(t *testing.T) {
			ws := []*autograd.Var{autograd.Param("w0", load(t, f, "init.w0")), autograd.Param("w1", load(t, f, "init.w1"))}
			lr0, lr1 := 0.01, 0.02
			if name[:3] == "sgd" {
				lr0, lr1 = 0.1, 0.05
			}
			opt := make([]*Group{{Params: ws[:1], LR: lr0, WeightDecay: 0.1}, {Params: ws[1:], LR: lr1}})
			norms := load(t, f, name+".norm").F32()
			for s := 0; s < 6; s++ {
				for i, w := range ws {
					w.Grad = load(t, f, fmt.Sprintf("grad.step%d.w%d", s, i))
				}
				norm := ClipGradNorm(ws, 1.0)
				closeTo(t, fmt.Sprintf("norm at step %d", s), []float32{float32(norm)}, norms[s:s+1], 1e-6)
				opt.SetLRScale(sched.Factor(s))
				opt.Step()
				for i, w := range ws {
					closeTo(t, fmt.Sprintf("step %d w%d", s, i), w.Value.F32(), load(t, f, fmt.Sprintf("%s.step%d.w%d", name, s, i)).F32(), 2e-6)
				}
			}
		})
	}
}

func TestSchedules(t *testing.T) {
	cases := []struct {
		s    Schedule
		step int
		want float64
	}{
		{Constant{}, 7, 1},
		{WarmupCosine{Warmup: 10, Total: 110}, 0, 0},
		{WarmupCosine{Warmup: 10, Total: 110}, 5, 0.5},
		{WarmupCosine{Warmup: 10, Total: 110}, 10, 1},
		{WarmupCosine{Warmup: 10, Total: 110}, 60, 0.5},
		{WarmupCosine{Warmup: 10, Total: 110}, 110, 0},
		{WarmupCosine{Warmup: 10, Total: 110, MinFactor: 0.1}, 500, 0.1},
		{WarmupCosine{Warmup: 10, Total: 110, MinFactor: 0.1}, 60, 0.55},
		{WarmupLinear{Warmup: 4, Total: 104}, 2, 0.5},
		{WarmupLinear{Warmup: 4, Total: 104}, 54, 0.5},
		{WarmupLinear{Warmup: 4, Total: 104}, 200, 0},
	}
	for _, c := range cases {
		if got := c.s.Factor(c.step); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%T%+v.Factor(%d) = %v, want %v", c.s, c.s, c.step, got, c.want)
		}
	}
}

func TestClipGradNorm(t *testing.T) {
	a := autograd.Param("a", tensor.FromFloat32([]float32{3, 0}))
	b := autograd.Param("b", tensor.FromFloat32([]float32{4}))
	a.Grad, b.Grad = tensor.FromFloat32([]float32{3, 0}), tensor.FromFloat32([]float32{4})
	if n := ClipGradNorm([]*autograd.Var{a, b}, 1); math.Abs(n-5) > 1e-12 {
		t.Fatalf("norm %v, want 5", n)
	}
	if g := b.Grad.F32()[0]; math.Abs(float64(g)-0.8) > 1e-6 {
		t.Fatalf("clipped grad %v, want 0.8", g)
	}
	a.Grad = tensor.FromFloat32([]float32{0.1, 0})
	b.Grad = nil
	ClipGradNorm([]*autograd.Var{a, b}, 1)
	if a.Grad.F32()[0] != 0.1 {
		t.Fatal("a gradient under the limit was changed")
	}
}

// TestStateRoundTrip checks that saving and restoring the state in the middle
// of training gives the same trajectory as not stopping.
func TestStateRoundTrip(t *testing.T) {
	run := func(stopAt int) []float32 {
		w := autograd.Param("w", tensor.FromFloat32([]float32{1, -2, 3}))
		opt := NewAdamW([]*Group{{Params: []*autograd.Var{w}, LR: 0.1, WeightDecay: 0.01}})
		for s := 0; s < 6; s++ {
			if s == stopAt {
				st := opt.State()
				saved := w.Value.Clone()
				w = autograd.Param("w", saved)
				opt = NewAdamW([]*Group{{Params: []*autograd.Var{w}, LR: 0.1, WeightDecay: 0.01}})
				if err := opt.LoadState(st); err != nil {
					t.Fatal(err)
				}
			}
			w.Grad = tensor.Mul(w.Value, w.Value)
			opt.Step()
		}
		return w.Value.F32()
	}
	want, got := run(-1), run(3)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("resumed %v, uninterrupted %v", got, want)
		}
	}
	opt := NewAdam([]*Group{{Params: []*autograd.Var{autograd.Param("w", tensor.Zeros(2))}}})
	bad := map[string]*tensor.Tensor{"step": tensor.Scalar(1), "w.exp_avg": tensor.Zeros(3), "w.exp_avg_sq": tensor.Zeros(3)}
	if err := opt.LoadState(bad); err == nil {
		t.Fatal("state with a wrong shape accepted")
	}
}
