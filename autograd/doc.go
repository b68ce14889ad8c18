// Package autograd is loom's reverse-mode automatic differentiation: a Var
// holds a tensor and, while gradients are recorded, the operation that made
// it; Backward walks that graph from a scalar and adds each leaf's gradient
// into its Grad, then frees the graph.
//
//	w := autograd.Param("lm_head.weight", tensor.RandN(r, 256, 64))
//	x := autograd.Const(hidden)                       // [B·T, 64]
//	logits := autograd.MatMul(x, w, false, true)      // [B·T, 256]
//	loss := autograd.CrossEntropy(logits, targets, autograd.IgnoreIndex, 0)
//	loss.Backward()                                   // w.Grad is [256, 64]
//
// Every operation has one vector-Jacobian product here and is checked by
// GradCheck (central differences in float64) and against PyTorch fixtures
// (testdata/gen_parity.py). NoGrad turns recording off for inference.
package autograd
