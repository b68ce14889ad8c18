package forecast

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// Every architecture builds for each task with the right output shapes;
// a classifier's Forward refuses; a model saved with buffers (PatchTST's
// BatchNorm) loads back to the same outputs.
func TestTaskHeads(t *testing.T) {
	const B, L, N, C = 3, 24, 2, 4
	x := tensor.RandN(tensor.NewRNG(5), B, L, N)
	mask := tensor.Ones(B, L)
	for _, arch := range []string{"transformer", "itransformer", "dlinear", "patchtst"} {
		t.Run(arch, func(t *testing.T) {
			c := smallConfig(arch, N)
			c.Marks = 0
			c.Task, c.Horizon = TaskReconstruction, L
			m, err := New(c)
			if err != nil {
				t.Fatal(err)
			}
			if got := forward(t, m, x, nil); !tensor.EqualShape(got.Shape(), []int{B, L, N}) {
				t.Fatalf("reconstruction shape %v", got.Shape())
			}
			c.Task, c.Classes = TaskClassification, C
			m, err = New(c)
			if err != nil {
				t.Fatal(err)
			}
			cl := m.(Classifier)
			var logits *tensor.Tensor
			autograd.NoGrad(func() { logits = cl.Classify(nil, autograd.Const(x), mask).Value })
			if !tensor.EqualShape(logits.Shape(), []int{B, C}) {
				t.Fatalf("logits shape %v", logits.Shape())
			}
			// Training mode runs (dropout, BatchNorm's batch statistics) and
			// gradients reach every parameter.
			ctx := &nn.Ctx{Train: true, RNG: tensor.NewRNG(1)}
			loss := autograd.Mean(autograd.Mul(cl.Classify(ctx, autograd.Const(x), mask), cl.Classify(ctx, autograd.Const(x), mask)), false)
			loss.Backward()
			for _, p := range m.Params() {
				if p.Grad == nil {
					t.Errorf("%s: no gradient", p.Name)
				}
			}
			func() {
				defer func() {
					if r := recover(); r == nil || !strings.Contains(r.(string), "built for classification") {
						t.Errorf("Forward on a classifier: %v", r)
					}
				}()
				forward(t, m, x, nil)
			}()
			dir := filepath.Join(t.TempDir(), "m")
			if err := Save(dir, m, &Saved{Model: c}); err != nil {
				t.Fatal(err)
			}
			back, _, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			var again *tensor.Tensor
			autograd.NoGrad(func() {
				logits = cl.Classify(nil, autograd.Const(x), mask).Value
				again = back.(Classifier).Classify(nil, autograd.Const(x), mask).Value
			})
			if d := maxDiff(logits, again); d != 0 {
				t.Fatalf("saved and loaded logits differ by %g", d)
			}
		})
	}
	if _, err := New(Config{Arch: "dlinear", Lookback: 8, Horizon: 4, Task: TaskReconstruction}); err == nil {
		t.Error("reconstruction with horizon ≠ lookback accepted")
	}
	if _, err := New(Config{Arch: "dlinear", Lookback: 8, Horizon: 8, Task: TaskClassification, Classes: 1, Variates: 1}); err == nil {
		t.Error("one class accepted")
	}
}
