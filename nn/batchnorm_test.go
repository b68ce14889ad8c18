package nn

import (
	"fmt"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/format/safetensors"
	"github.com/loomml/loom/tensor"
)

// TestBatchNorm1dMatchesPyTorch replays testdata/gen_batchnorm.py: three
// training steps (one of two rows) and an evaluation step of
// torch.nn.BatchNorm1d, comparing outputs, the gradients of the input,
// gain and bias, and the running estimates after each step.
func TestBatchNorm1dMatchesPyTorch(t *testing.T) {
	f, err := safetensors.Open("testdata/batchnorm.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	bn := NewBatchNorm1d("bn", 5)
	bn.Weight.Value = loadFixture(t, f, "weight")
	bn.Bias.Value = loadFixture(t, f, "bias")
	for _, step := range []string{"train0", "train1", "train2", "eval"} {
		ctx := &Ctx{Train: step != "eval"}
		bn.Weight.ZeroGrad()
		bn.Bias.ZeroGrad()
		x := autograd.Leaf(loadFixture(t, f, step+".x"))
		y := bn.Forward(ctx, x)
		y.BackwardWith(loadFixture(t, f, step+".gout"))
		for _, c := range []struct {
			name string
			got  *tensor.Tensor
			tol  float64
		}{
			// train2 has a column of mean 100 and deviation 0.5, whose
			// centring rounds at float32's 8e-6 either way
			{"out", y.Value, 5e-6},
			{"gx", x.Grad, 2e-5},
			{"gweight", bn.Weight.Grad, 2e-6},
			{"gbias", bn.Bias.Grad, 2e-6},
			{"running_mean", bn.RunningMean.Value, 2e-6},
			{"running_var", bn.RunningVar.Value, 2e-6},
		} {
			want := loadFixture(t, f, step+"."+c.name)
			scale := max(1, maxAbs(want))
			d := maxAbsDiff(c.got, want)
			if d > c.tol*scale {
				t.Errorf("%s %s: max |diff| %.3g from PyTorch (scale %.3g)", step, c.name, d, scale)
			}
			t.Logf("%s %s: max |diff| %.3g (scale %.3g)", step, c.name, d, scale)
		}
	}
}

// TestBatchNorm1dGradients checks the derivatives of both modes, first
// and second order, in float64: training through the batch statistics,
// evaluation through the running estimates.
func TestBatchNorm1dGradients(t *testing.T) {
	r := tensor.NewRNG(8)
	for _, train := range []bool{true, false} {
		t.Run(fmt.Sprint("train=", train), func(t *testing.T) {
			bn := NewBatchNorm1d("bn", 3)
			bn.RunningMean.Value = tensor.RandN(r, 3)
			bn.RunningVar.Value = tensor.Uniform(r, 0.5, 2, 3)
			f := func(xs []*autograd.Var) *autograd.Var {
				bn.Weight, bn.Bias = xs[1], xs[2]
				return autograd.Tanh(bn.Forward(&Ctx{Train: train}, xs[0]))
			}
			in := []*tensor.Tensor{tensor.RandN(r, 6, 3), tensor.Uniform(r, 0.5, 1.5, 3), tensor.RandN(r, 3)}
			if err := autograd.GradCheck(f, in, autograd.CheckOptions{Float32Tol: 1e-4}); err != nil {
				t.Fatal(err)
			}
			if err := autograd.GradGradCheck(f, in, autograd.CheckOptions{}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestBatchNorm1dFewRows: a training batch of one row (or none) is
// normalised with the running estimates and leaves them as they were.
func TestBatchNorm1dFewRows(t *testing.T) {
	bn := NewBatchNorm1d("bn", 2)
	bn.RunningMean.Value = tensor.FromFloat32([]float32{1, -1}, 2)
	bn.RunningVar.Value = tensor.FromFloat32([]float32{4, 0.25}, 2)
	ctx := &Ctx{Train: true}
	y := bn.Forward(ctx, autograd.Const(tensor.FromFloat32([]float32{3, 0}, 1, 2)))
	want := []float64{2 / 2.0000025, 1 / 0.50001} // (x − mean)/√(var + 1e-5)
	for i, v := range y.Value.Float64s() {
		if d := v - want[i]; d > 1e-5 || d < -1e-5 {
			t.Fatalf("one row: %v, want %v", y.Value.Float64s(), want)
		}
	}
	if e := bn.Forward(ctx, autograd.Const(tensor.Zeros(0, 2))); e.Dim(0) != 0 {
		t.Fatalf("no rows gave %v", e.Shape())
	}
	if m := bn.RunningMean.Value.Float64s(); m[0] != 1 || m[1] != -1 {
		t.Fatalf("running mean changed to %v", m)
	}
	if len(bn.Params()) != 2 || len(bn.Buffers()) != 2 || bn.Buffers()[1].Name != "bn.running_var" {
		t.Fatalf("params %v, buffers %v", bn.Params(), bn.Buffers())
	}
}
