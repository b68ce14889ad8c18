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
//
// # Higher-order gradients
//
// Grad returns gradients as Vars, as torch.autograd.grad; with CreateGraph
// they are recorded like any other operation, so that a derivative can be
// differentiated again: forces −∂E/∂x trained against labels, a PDE
// residual with ∂²u/∂x², a gradient penalty. Fitting an energy model's
// forces:
//
//	x := autograd.Leaf(positions)                      // [atoms, 3]
//	E := autograd.Sum(energyModel(x), false)            // a scalar, made with parameters θ
//	dE, err := autograd.Grad(E, []*autograd.Var{x}, autograd.GradOptions{CreateGraph: true})
//	if err != nil { … }
//	F := autograd.Neg(dE[0])                            // forces, a function of x and θ
//	loss := autograd.MSELoss(F, autograd.Const(targetForces))
//	loss.Backward()                                     // θ.Grad holds ∂loss/∂θ, through ∂E/∂x
//
// Grad with CreateGraph keeps the graph behind E (here the final Backward
// frees it). Each op differentiates its own backward pass: the primitive
// ones (arithmetic, reductions, matrix products, views, indexing, softmax,
// cross-entropy, rotary embeddings) have a backward written in
// differentiable operations, and the fused ones (layer and RMS norm, the
// GELUs, SiLU, attention including the flash kernel, softmax with dropout)
// are differentiated through their composition from primitive operations,
// while Backward keeps using the fused kernels. An op recorded with Custom
// has no second derivative and makes Grad with CreateGraph fail naming it;
// CustomComposite gives it one. GradGradCheck checks second derivatives
// against finite differences of the first, as torch.autograd.gradgradcheck.
package autograd
