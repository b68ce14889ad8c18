// Package tensor is loom's numeric base: dense float32 (and float64)
// n-dimensional arrays with shapes, strides and views; a seeded, restorable
// random number generator and PyTorch's initialisers; bf16 and f16
// conversion; and the forward kernels of every operation (elementwise maps
// with broadcasting, reductions, matrix products through internal/kernels,
// softmax, norms, rotary embeddings, attention, indexing, losses).
//
// Operations here need no autograd tape, so inference code can call them
// directly; package autograd wraps them with their gradients.
//
//	r := tensor.NewRNG(1)
//	x := tensor.RandN(r, 4, 8)                    // [4, 8]
//	w := tensor.KaimingUniform(r, 1, tensor.FanIn, 16, 8)
//	y := tensor.MatMul(x, w, false, true)         // [4, 16] = x·wᵀ
//	p := tensor.Softmax(y, -1)
//
// float64 tensors exist so that gradient checks and analyses can evaluate
// the same operations in double precision; models run in float32.
// Shape mismatches are programming errors and panic with the shapes named;
// validate user input (files, configs) before it reaches this package.
package tensor
