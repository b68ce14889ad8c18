package nn

import (
	"math"
	"strings"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/tensor"
)

// TestLinearPack24: a Linear with a 2:4 weight gives the same outputs
// through its packed copy as through the dense product, and a weight that
// is not 2:4 is refused with its name.
func TestLinearPack24(t *testing.T) {
	for _, tc := range []struct {
		in, out int
		bias    bool
		shape   []int
	}{{8, 5, false, []int{3, 8}}, {16, 12, true, []int{2, 4, 16}}, {64, 33, true, []int{1, 64}}} {
		l := NewLinear("p", tc.in, tc.out, tc.bias, Init{RNG: tensor.NewRNG(3), Std: 0.5})
		w := l.Weight.Value.F32()
		for g := 0; g < len(w); g += 4 {
			w[g+(g/4)%4] = 0 // zero 2 of every 4, at varying positions
			w[g+(g/4+1)%4] = 0
		}
		if l.Bias != nil {
			for i := range l.Bias.Value.F32() {
				l.Bias.Value.F32()[i] = float32(i) / 10
			}
		}
		n := 1
		for _, d := range tc.shape {
			n *= d
		}
		xs := make([]float32, n)
		for i := range xs {
			xs[i] = float32(math.Cos(float64(3*i + 1)))
		}
		x := autograd.Const(tensor.FromFloat32(xs, tc.shape...))
		var dense, sparse []float32
		autograd.NoGrad(func() { dense = l.Forward(x).Value.Contiguous().F32() })
		if _, err := l.Pack24(); err != nil {
			t.Fatal(err)
		}
		autograd.NoGrad(func() { sparse = l.Forward(x).Value.Contiguous().F32() })
		for i := range dense {
			if math.Abs(float64(dense[i]-sparse[i])) > 1e-5*(1+math.Abs(float64(dense[i]))) {
				t.Fatalf("%+v: out[%d] dense %v, 2:4 %v", tc, i, dense[i], sparse[i])
			}
		}
	}
	l := NewLinear("q_proj", 8, 2, false, Init{RNG: tensor.NewRNG(1), Std: 1})
	if _, err := l.Pack24(); err == nil || !strings.Contains(err.Error(), "q_proj.weight") || !strings.Contains(err.Error(), "more than 2 non-zeros") {
		t.Fatalf("a dense weight packed as 2:4: %v", err)
	}
}
