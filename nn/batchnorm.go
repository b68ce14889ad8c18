package nn

import (
	"fmt"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/tensor"
)

// BatchNorm1d normalises each feature (column) of x [N, D] over the N
// rows, as torch.nn.BatchNorm1d on 2-D input (Ioffe & Szegedy, "Batch
// Normalization", arXiv 1502.03167): in training with the batch's mean and
// biased variance, updating running estimates by
// running ← (1 − Momentum)·running + Momentum·batch (the variance's
// unbiased, as PyTorch does); in evaluation with the running estimates.
// Then y = x̂·Weight + Bias. The graph models normalise node and edge rows
// with it (the Graph Transformer's BatchNorm).
//
// The running estimates are buffers, not parameters: Params leaves them
// out (no gradient, no optimizer state) and Buffers returns them, named as
// PyTorch's state_dict names them, for checkpoints.
type BatchNorm1d struct {
	Weight, Bias *autograd.Var // [D] gain and bias; nil: not affine
	// RunningMean and RunningVar [D] hold the running estimates (float32;
	// each training step replaces their Value).
	RunningMean, RunningVar *autograd.Var
	Momentum                float64 // weight of a batch in the running estimates (0.1)
	Eps                     float64 // added to the variance (1e-5)
}

// NewBatchNorm1d returns an affine BatchNorm1d over dim features named
// prefix (prefix.weight, prefix.bias; buffers prefix.running_mean,
// prefix.running_var) with PyTorch's defaults: gain 1, bias 0, running
// mean 0 and variance 1, momentum 0.1, eps 1e-5.
func NewBatchNorm1d(prefix string, dim int) *BatchNorm1d {
	return &BatchNorm1d{
		Weight:      autograd.NewParam(Join(prefix, "weight"), autograd.RoleNorm, tensor.Ones(dim)),
		Bias:        autograd.NewParam(Join(prefix, "bias"), autograd.RoleBias, tensor.Zeros(dim)),
		RunningMean: &autograd.Var{Name: Join(prefix, "running_mean"), Value: tensor.Zeros(dim)},
		RunningVar:  &autograd.Var{Name: Join(prefix, "running_var"), Value: tensor.Ones(dim)},
		Momentum:    0.1,
		Eps:         1e-5,
	}
}

// Forward normalises the columns of x [N, D]: with batch statistics when
// ctx is training, updating the running estimates, and with the running
// estimates otherwise. A training batch of fewer than two rows, which
// PyTorch refuses, is normalised with the running estimates and leaves
// them unchanged (a batch of graphs may hold one edge, or none).
func (n *BatchNorm1d) Forward(ctx *Ctx, x *autograd.Var) *autograd.Var {
	if x.NDim() != 2 || x.Dim(1) != n.RunningMean.Dim(0) {
		panic(fmt.Sprintf("nn: BatchNorm1d over %d features given %v, want [N, %d]", n.RunningMean.Dim(0), x.Shape(), n.RunningMean.Dim(0)))
	}
	rows := x.Dim(0)
	dt := x.Value.DType()
	var y *autograd.Var
	if ctx.Training() && rows > 1 {
		mean := autograd.Mean(x, true, 0) // [1, D]
		xc := autograd.Sub(x, mean)
		v := autograd.Mean(autograd.Mul(xc, xc), true, 0) // biased
		y = autograd.Mul(xc, autograd.Rsqrt(autograd.AddScalar(v, n.Eps)))
		n.update(mean.Value, v.Value, rows)
	} else {
		rm := autograd.Const(n.RunningMean.Value.Reshape(1, -1).To(dt))
		rstd := autograd.Const(tensor.Rsqrt(tensor.AddScalar(n.RunningVar.Value, n.Eps)).Reshape(1, -1).To(dt))
		y = autograd.Mul(autograd.Sub(x, rm), rstd)
	}
	if n.Weight != nil {
		y = autograd.Mul(y, n.Weight)
	}
	if n.Bias != nil {
		y = autograd.Add(y, n.Bias)
	}
	return y
}

// update folds a training batch's mean and biased variance [1, D] of rows
// rows into the running estimates.
func (n *BatchNorm1d) update(mean, biased *tensor.Tensor, rows int) {
	m := n.Momentum
	unbiased := tensor.MulScalar(biased.Reshape(-1), float64(rows)/float64(rows-1))
	n.RunningMean.Value = tensor.Add(tensor.MulScalar(n.RunningMean.Value, 1-m), tensor.MulScalar(mean.Reshape(-1).To(tensor.Float32), m))
	n.RunningVar.Value = tensor.Add(tensor.MulScalar(n.RunningVar.Value, 1-m), tensor.MulScalar(unbiased.To(tensor.Float32), m))
}

// Params returns the gain and bias.
func (n *BatchNorm1d) Params() []*autograd.Var {
	var out []*autograd.Var
	for _, p := range []*autograd.Var{n.Weight, n.Bias} {
		if p != nil {
			out = append(out, p)
		}
	}
	return out
}

// Buffers returns the running mean and variance.
func (n *BatchNorm1d) Buffers() []*autograd.Var {
	return []*autograd.Var{n.RunningMean, n.RunningVar}
}

// Buffered is a module with state besides its parameters (BatchNorm1d's
// running estimates) that a checkpoint must hold.
type Buffered interface {
	Buffers() []*autograd.Var
}
