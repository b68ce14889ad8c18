package autograd

import (
	"fmt"
	"slices"

	"github.com/loomml/loom/tensor"
)

// Operations for message passing on graphs: rows gathered along edges are
// IndexSelect's, and the sum of edge messages into their destination
// nodes (or of node rows into their graphs) is IndexAdd's. Each is the
// other's gradient, so a message-passing network built from them, Clamp
// and the elementwise ops has derivatives of every order (forces −∂E/∂x
// through a graph network trained against labels).

// IndexAdd returns a zero tensor with n entries along dim into which
// src's slices are added at positions idx: out[idx[i]] += src[i] along dim
// (repeated positions accumulate, positions no index names stay 0), as
// torch.zeros(…).index_add_(dim, idx, src), or PyG's scatter with "sum".
// For src [E, D] and dim 0, out is [n, D]. Its gradient is IndexSelect of
// the output's gradient at idx.
func IndexAdd(src *Var, dim int, idx []int, n int) *Var {
	d := tensor.NormAxis(dim, src.NDim())
	if len(idx) != src.Dim(d) {
		panic(fmt.Sprintf("autograd: IndexAdd with %d indices for %d entries along dimension %d of %v", len(idx), src.Dim(d), d, src.Shape()))
	}
	shape := slices.Clone(src.Shape())
	shape[d] = n
	return indexAddTo(src, shape, d, idx)
}

// Clamp limits x to [lo, hi] elementwise. Its gradient is the upstream
// gradient where lo ≤ x ≤ hi and 0 elsewhere, as torch.clamp's.
func Clamp(x *Var, lo, hi float64) *Var {
	if lo > hi {
		panic(fmt.Sprintf("autograd: Clamp to [%g, %g]", lo, hi))
	}
	lo32, hi32 := float32(lo), float32(hi)
	y := tensor.Map(x.Value,
		func(v float32) float32 { return min(max(v, lo32), hi32) },
		func(v float64) float64 { return min(max(v, lo), hi) })
	pass := func(v float64) float64 {
		if v >= lo && v <= hi {
			return 1
		}
		return 0
	}
	if x.Value.DType() == tensor.Float32 {
		// compare in float32, as the forward pass does
		pass = func(v float64) float64 {
			if f := float32(v); f >= lo32 && f <= hi32 {
				return 1
			}
			return 0
		}
	}
	return unary("clamp", x, y, func(x, _ float64) float64 { return pass(x) }, constDerivative(pass))
}
