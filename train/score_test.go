package train

import (
	"math"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// fixedSet is 4 examples whose batches are their indices; fixedLogits
// returns each example's row of a fixed table.
type fixedSet struct{ labels []int }

func (s fixedSet) Len() int              { return len(s.labels) }
func (s fixedSet) Batch(idx []int) []int { return idx }
func (s fixedSet) Label(i int) int       { return s.labels[i] }

type fixedLogits [][]float32

func (f fixedLogits) Logits(_ *nn.Ctx, idx []int) *autograd.Var {
	var v []float32
	for _, i := range idx {
		v = append(v, f[i]...)
	}
	return autograd.Const(tensor.FromFloat32(v, len(idx), len(f[0])))
}

// TestScore: accuracy, mean cross-entropy and per-class counts against
// values worked by hand, the same for every batch size.
func TestScore(t *testing.T) {
	m := fixedLogits{{2, 0, 0}, {0, 1, 1}, {0, 0, 3}, {1, 1, 0}}
	ex := fixedSet{labels: []int{0, 2, 2, 1}}
	// Predictions 0, 1 (tie 1–2: the first), 2, 0 (tie: the first): right on
	// examples 0 and 2. Cross-entropies: log(e²+2)−2, log(1+2e)−1,
	// log(2+e³)−3, log(2e+1)−1.
	e := math.E
	wantCE := (math.Log(e*e+2) - 2 + 2*(math.Log(1+2*e)-1) + math.Log(2+e*e*e) - 3) / 4
	for _, bs := range []int{1, 3, 4, 64} {
		s := Score[[]int](m, ex, bs)
		if s.Examples != 4 || s.Accuracy != 0.5 || math.Abs(s.Loss-wantCE) > 1e-12 {
			t.Errorf("bs %d: %d examples, accuracy %v, loss %v; want 4, 0.5, %v", bs, s.Examples, s.Accuracy, s.Loss, wantCE)
		}
		if want := []int{1, 1, 2}; s.Count[0] != want[0] || s.Count[1] != want[1] || s.Count[2] != want[2] {
			t.Errorf("bs %d: counts %v, want %v", bs, s.Count, want)
		}
		if want := []int{1, 0, 1}; s.Right[0] != want[0] || s.Right[1] != want[1] || s.Right[2] != want[2] {
			t.Errorf("bs %d: right %v, want %v", bs, s.Right, want)
		}
		if a := Accuracy[[]int](m, ex, bs); a != 0.5 {
			t.Errorf("bs %d: Accuracy %v, want 0.5", bs, a)
		}
	}
}
