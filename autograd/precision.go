package autograd

import (
	"sync/atomic"

	"github.com/loomml/loom/tensor"
)

// Mixed precision. SetPrecision(tensor.BF16) makes the matrix products
// recorded from then on — forward and their backward — round their
// operands to bfloat16 and sum in float32, as PyTorch's CPU autocast to
// bfloat16 does for linear layers and matmuls: Linear whose weight's role
// is a matrix (RoleMatrix, RoleHead, RoleExpert, or an embedding used as
// the output head), MatMul of activations (attention's scores and
// mixing when composed) and FlashAttention's tile products. Everything
// else — elementwise work, softmax, norms, losses, reductions, weights of
// RoleFactor or RoleOther and float64 tensors — stays in float32 (or
// float64), and parameters, gradients and optimizer state are float32
// (the master weights). Each node keeps the precision it was recorded
// with, so its backward pass uses it whatever the setting is then.
//
// The setting is process-wide (a training job sets it around its steps);
// the default is tensor.FP32.

var precision atomic.Uint32

// SetPrecision sets the precision of matrix products recorded from now on
// and returns the previous one.
func SetPrecision(p tensor.Precision) tensor.Precision {
	return tensor.Precision(precision.Swap(uint32(p)))
}

// Precision returns the current setting.
func Precision() tensor.Precision { return tensor.Precision(precision.Load()) }

// WithPrecision runs f with the precision set to p and restores the
// previous setting.
func WithPrecision(p tensor.Precision, f func()) {
	prev := SetPrecision(p)
	defer SetPrecision(prev)
	f()
}

// linearPrecision is the precision of a product with weight w: the
// current setting for declared weight matrices, float32 for the rest.
func linearPrecision(w *Var) tensor.Precision {
	p := Precision()
	switch w.Role {
	case RoleMatrix, RoleHead, RoleExpert, RoleEmbedding:
		return p
	}
	return tensor.FP32
}

// matmulPrecision is the precision of MatMul(a, b): the current setting,
// unless an operand is a parameter (a leaf with a name or role) that is
// not a declared weight matrix.
func matmulPrecision(a, b *Var) tensor.Precision {
	p := Precision()
	for _, v := range []*Var{a, b} {
		if v.IsLeaf() && (v.Name != "" || v.Role != RoleOther) && linearPrecision(v) != p {
			return tensor.FP32
		}
	}
	return p
}
