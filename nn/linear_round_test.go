package nn

import (
	"math"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/tensor"
)

// A Linear with RoundInputs multiplies the rounded inputs in forward
// passes without gradients, and the inputs as they are when gradients are
// recorded (training is not changed).
func TestLinearRoundInputs(t *testing.T) {
	l := NewLinear("l", 3, 2, true, Init{RNG: tensor.NewRNG(1), Std: 1})
	x := autograd.Const(tensor.FromFloat32([]float32{0.4, 1.6, -2.3, 0.2, 0.7, 1.1}, 2, 3))
	rounded := autograd.Const(tensor.FromFloat32([]float32{0, 2, -2, 0, 1, 1}, 2, 3))
	l.RoundInputs(func(v []float32) {
		for i := range v {
			v[i] = float32(math.Round(float64(v[i])))
		}
	})
	var got, want []float32
	autograd.NoGrad(func() {
		got = l.Forward(x).Value.Contiguous().F32()
		want = autograd.Linear(rounded, l.Weight, l.Bias).Value.Contiguous().F32()
	})
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("without gradients: %v, want the rounded inputs' %v", got, want)
		}
	}
	if x.Value.F32()[0] != 0.4 {
		t.Fatal("the caller's inputs were changed")
	}
	plain := autograd.Linear(x, l.Weight, l.Bias).Value.Contiguous().F32()
	train := l.Forward(x).Value.Contiguous().F32()
	for i := range plain {
		if train[i] != plain[i] {
			t.Fatalf("with gradients: %v, want the inputs as they are %v", train, plain)
		}
	}
}
