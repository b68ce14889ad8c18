package autograd

import (
	"sync/atomic"

	"github.com/loomml/loom/tensor"
)

// Mixed precision. SetPrecision(tensor.BF16) makes the matrix products
// recorded from then on — forward and their backward — round their
// operands to bfloat16 and sum in float32, as PyTorch's CPU autocast to
// bfloat16 does for linear layers and matmuls: Linear and MatMul whose
// parameter operands are declared weight matrices (RoleMatrix, RoleHead,
// RoleExpert, or an embedding used as the output head) or weights derived
// from them in the graph, MatMul of activations (attention's scores and
// mixing when composed) and FlashAttention's tile products. Products with
// another parameter (RoleFactor, RoleNorm, a parameter without a role) and
// everything else — elementwise work, softmax, norms, losses, reductions,
// float64 tensors — stay in float32 (or float64), and parameters, gradients and optimizer state are float32
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

// operandPrecision is the precision of a product of the operands vs: the
// current setting, unless one of them is a parameter (a leaf with a name
// or a role) that is not a declared weight matrix — a norm's gain, a PHM
// factor, a parameter whose builder gave no role —, which keeps the
// product in float32. Weights derived in the graph (a MatFormer slice, an
// assembled PHM weight) follow the setting.
func operandPrecision(vs ...*Var) tensor.Precision {
	p := Precision()
	if p == tensor.FP32 {
		return p
	}
	for _, v := range vs {
		if v.IsLeaf() && (v.Name != "" || v.Role != RoleOther) {
			switch v.Role {
			case RoleMatrix, RoleHead, RoleExpert, RoleEmbedding:
			default:
				return tensor.FP32
			}
		}
	}
	return p
}
