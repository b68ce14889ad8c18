package nn

import (
	"fmt"
	"math"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/tensor"
)

// The assembled W equals the explicit sum of Kronecker products.
func TestPHMWeightIsKroneckerSum(t *testing.T) {
	for _, c := range []struct{ in, out, n int }{{8, 12, 4}, {6, 4, 2}, {5, 10, 5}, {3, 3, 1}} {
		p, err := NewPHM("p", c.in, c.out, c.n, false, Init{RNG: tensor.NewRNG(1), Std: 0.5})
		if err != nil {
			t.Fatal(err)
		}
		w := p.Weight().Value
		po, qi := c.out/c.n, c.in/c.n
		for r := range c.out {
			for col := range c.in {
				a, pp, b, q := r/po, r%po, col/qi, col%qi
				var want float64
				for i := range c.n {
					want += p.A.Value.At(i, a, b) * p.S.Value.At(i, pp, q)
				}
				if got := w.At(r, col); math.Abs(got-want) > 1e-6 {
					t.Fatalf("%+v: W[%d,%d] = %v, Σ Aᵢ⊗Sᵢ = %v", c, r, col, got, want)
				}
			}
		}
	}
}

func TestPHMParamCount(t *testing.T) {
	for _, c := range []struct{ in, out, n int }{{128, 512, 4}, {128, 128, 2}, {64, 32, 8}} {
		p, _ := NewPHM("p", c.in, c.out, c.n, true, Init{RNG: tensor.NewRNG(1), Std: 0.02})
		if got, want := autograd.NumParams(p.Params()), c.n*c.n*c.n+c.in*c.out/c.n+c.out; got != want {
			t.Errorf("%+v: %d parameters, want n³ + in·out/n + out = %d", c, got, want)
		}
	}
	if _, err := NewPHM("p", 10, 12, 4, false, Init{}); err == nil {
		t.Error("n = 4 not dividing in = 10 was accepted")
	}
}

// The direct product and the assembled weight give the same output, and
// each path is chosen where it does less work.
func TestPHMPathsAgree(t *testing.T) {
	p, _ := NewPHM("p", 32, 16, 4, true, Init{RNG: tensor.NewRNG(2), Std: 0.3})
	p.Bias.Value = tensor.RandN(tensor.NewRNG(3), 16)
	if !p.Direct(1) || p.Direct(64) {
		t.Fatalf("path choice: direct(1)=%v direct(64)=%v", p.Direct(1), p.Direct(64))
	}
	for _, rows := range []int{1, 3, 7} {
		x := autograd.Const(tensor.RandN(tensor.NewRNG(uint64(rows)), 1, rows, 32))
		if !p.Direct(rows) {
			t.Fatalf("rows %d should take the direct path", rows)
		}
		got := p.Forward(x).Value
		want := autograd.Linear(x, p.Weight(), p.Bias).Value
		if d := maxAbsDiff(got, want); d > 1e-5 {
			t.Fatalf("rows %d: direct and assembled differ by %g", rows, d)
		}
		if s := got.Shape(); s[0] != 1 || s[1] != rows || s[2] != 16 {
			t.Fatalf("shape %v", s)
		}
	}
}

func TestPHMGradCheck(t *testing.T) {
	rng := tensor.NewRNG(4)
	for _, rows := range []int{2, 12} { // direct, assembled
		inputs := []*tensor.Tensor{tensor.RandN(rng, rows, 8), tensor.RandN(rng, 2, 2, 2), tensor.RandN(rng, 2, 3, 4), tensor.RandN(rng, 6)}
		err := autograd.GradCheck(func(xs []*autograd.Var) *autograd.Var {
			return (&PHM{A: xs[1], S: xs[2], Bias: xs[3], N: 2}).Forward(xs[0])
		}, inputs, autograd.CheckOptions{Float32Tol: 1e-4})
		if err != nil {
			t.Errorf("rows %d: %v", rows, err)
		}
	}
}

// Var(W) matches the dense layer's: σ² for σ = init.Std.
func TestPHMInitVariance(t *testing.T) {
	for _, n := range []int{2, 4, 8} {
		p, _ := NewPHM("p", 256, 512, n, false, Init{RNG: tensor.NewRNG(uint64(n)), Std: 0.02})
		var s, s2 float64
		w := p.Weight().Value.F32()
		for _, v := range w {
			s += float64(v)
			s2 += float64(v) * float64(v)
		}
		v := s2/float64(len(w)) - (s/float64(len(w)))*(s/float64(len(w)))
		if r := v / (0.02 * 0.02); r < 0.7 || r > 1.3 {
			t.Errorf("n=%d: Var(W) = %.3g, want ≈ %.3g (ratio %.2f)", n, v, 0.02*0.02, r)
		}
	}
}

// PHC: the kernel is the Kronecker sum and the output is the direct
// convolution sum, with gradients that pass gradcheck.
func TestPHC1D(t *testing.T) {
	c, err := NewPHC1D("c", 4, 6, 3, 2, 1, true, tensor.NewRNG(5))
	if err != nil {
		t.Fatal(err)
	}
	c.Bias.Value = tensor.RandN(tensor.NewRNG(6), 6)
	if got, want := autograd.NumParams(c.Params()), 8+4*6*3/2+6; got != want {
		t.Fatalf("%d parameters, want n³ + in·out·k/n + out = %d", got, want)
	}
	w := c.Kernel().Value
	for o := range 6 {
		for i := range 4 {
			for j := range 3 {
				var want float64
				for r := range 2 {
					want += c.A.Value.At(r, o/3, i/2) * c.F.Value.At(r, o%3, i%2, j)
				}
				if math.Abs(w.At(o, i, j)-want) > 1e-6 {
					t.Fatalf("W[%d,%d,%d] = %v, want %v", o, i, j, w.At(o, i, j), want)
				}
			}
		}
	}
	x := tensor.RandN(tensor.NewRNG(7), 2, 5, 4)
	y := c.Forward(autograd.Const(x)).Value
	if s := y.Shape(); s[0] != 2 || s[1] != 5 || s[2] != 6 {
		t.Fatalf("shape %v, want [2 5 6]", s)
	}
	for b := range 2 {
		for l := range 5 {
			for o := range 6 {
				want := c.Bias.Value.At(o)
				for j := range 3 {
					src := l + j - 1
					if src < 0 || src >= 5 {
						continue
					}
					for i := range 4 {
						want += w.At(o, i, j) * x.At(b, src, i)
					}
				}
				if math.Abs(y.At(b, l, o)-want) > 1e-5 {
					t.Fatalf("y[%d,%d,%d] = %v, want %v", b, l, o, y.At(b, l, o), want)
				}
			}
		}
	}
	err = autograd.GradCheck(func(xs []*autograd.Var) *autograd.Var {
		return (&PHC1D{A: xs[1], F: xs[2], Bias: xs[3], N: 2, Pad: 1}).Forward(xs[0])
	}, []*tensor.Tensor{x, c.A.Value, c.F.Value, c.Bias.Value}, autograd.CheckOptions{Float32Tol: 1e-4})
	if err != nil {
		t.Error(err)
	}
}

// BenchmarkPHMPaths times the direct product and the assembled weight for
// a 512 → 512 PHM layer (n = 4) at several row counts: Direct picks the
// first for fewer than in/n = 128 rows.
func BenchmarkPHMPaths(b *testing.B) {
	p, _ := NewPHM("p", 512, 512, 4, true, Init{RNG: tensor.NewRNG(1), Std: 0.02})
	for _, rows := range []int{1, 16, 128, 2048} {
		x := autograd.Const(tensor.RandN(tensor.NewRNG(2), rows, 512))
		b.Run(fmt.Sprintf("rows=%d/chosen=%s", rows, map[bool]string{true: "direct", false: "assembled"}[p.Direct(rows)]), func(b *testing.B) {
			autograd.NoGrad(func() {
				for b.Loop() {
					p.Forward(x)
				}
			})
		})
		b.Run(fmt.Sprintf("rows=%d/assembled", rows), func(b *testing.B) {
			autograd.NoGrad(func() {
				for b.Loop() {
					autograd.Linear(x, p.Weight(), p.Bias)
				}
			})
		})
	}
}
