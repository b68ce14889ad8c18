package nn

// Parameterized hypercomplex convolution (PHC), 1-D, from "PHNNs:
// Lightweight Neural Networks via Parameterized Hypercomplex Convolutions"
// (arXiv 2110.04176; official code eleGAN23/HyperNets,
// layers/ph_layers.py): the kernel of a convolution is a sum of Kronecker
// products over its channel dimensions,
//
//	W = Σᵢ₌₁ⁿ Aᵢ ⊗ Fᵢ,  Aᵢ ∈ ℝⁿˣⁿ,  Fᵢ ∈ ℝ^{(out/n)×(in/n)×k}
//
// (W[a·out/n + p, b·in/n + q, j] = Σᵢ Aᵢ[a,b]·Fᵢ[p,q,j]): n³ + in·out·k/n
// parameters instead of in·out·k.

import (
	"fmt"
	"math"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/tensor"
)

// PHC1D is a 1-D PHC convolution over channels-last input [B, L, in] with
// stride 1 and zero padding Pad on both ends: output [B, L + 2·Pad − k + 1, out].
// Checkpoint names: <prefix>.phm_rule [n, n, n], <prefix>.phm_kernel
// [n, out/n, in/n, k], <prefix>.bias [out].
type PHC1D struct {
	A    *autograd.Var // [n, n, n]
	F    *autograd.Var // [n, out/n, in/n, k]
	Bias *autograd.Var // [out] or nil
	N    int
	Pad  int
}

// NewPHC1D returns a PHC convolution with n components and kernel size k;
// A ~ N(0, 1/n) and F ~ N(0, 1/(in·k)) (fan-in variance for W).
func NewPHC1D(prefix string, in, out, k, n, pad int, bias bool, rng *tensor.RNG) (*PHC1D, error) {
	if n < 1 || in%n != 0 || out%n != 0 || k < 1 || pad < 0 {
		return nil, fmt.Errorf("phc %s: n = %d must divide in (%d) and out (%d); kernel %d ≥ 1, padding %d ≥ 0", prefix, n, in, out, k, pad)
	}
	c := &PHC1D{N: n, Pad: pad,
		A: autograd.NewParam(Join(prefix, "phm_rule"), autograd.RoleFactor, tensor.Normal(rng, 0, 1/math.Sqrt(float64(n)), n, n, n)),
		F: autograd.NewParam(Join(prefix, "phm_kernel"), autograd.RoleFactor, tensor.Normal(rng, 0, 1/math.Sqrt(float64(in*k)), n, out/n, in/n, k)),
	}
	if bias {
		c.Bias = autograd.NewParam(Join(prefix, "bias"), autograd.RoleBias, tensor.Zeros(out))
	}
	return c, nil
}

// Params returns A, F and the bias.
func (c *PHC1D) Params() []*autograd.Var {
	if c.Bias != nil {
		return []*autograd.Var{c.A, c.F, c.Bias}
	}
	return []*autograd.Var{c.A, c.F}
}

// Kernel assembles W [out, in, k] (differentiable).
func (c *PHC1D) Kernel() *autograd.Var {
	n, po, qi, k := c.N, c.F.Dim(1), c.F.Dim(2), c.F.Dim(3)
	w := autograd.MatMul(autograd.Reshape(c.A, n, n*n), autograd.Reshape(c.F, n, po*qi*k), true, false) // [(a b), (p q j)]
	w = autograd.Permute(autograd.Reshape(w, n, n, po, qi, k), 0, 2, 1, 3, 4)                           // [a, p, b, q, j]
	return autograd.Reshape(autograd.Contiguous(w), n*po, n*qi, k)
}

// Forward convolves x [B, L, in] to [B, L', out].
func (c *PHC1D) Forward(x *autograd.Var) *autograd.Var {
	B, L, in := x.Dim(0), x.Dim(1), x.Dim(2)
	k := c.F.Dim(3)
	if c.Pad > 0 {
		z := autograd.Const(tensor.New(x.Value.DType(), B, c.Pad, in))
		x = autograd.Concat(1, z, x, z)
	}
	Lo := L + 2*c.Pad - k + 1
	if Lo < 1 {
		panic(fmt.Sprintf("phc: input length %d too short for kernel %d with padding %d", L, k, c.Pad))
	}
	taps := make([]*autograd.Var, k)
	for j := range k {
		taps[j] = autograd.Slice(x, 1, j, j+Lo) // [B, Lo, in]
	}
	patches := autograd.Concat(2, taps...)                       // [B, Lo, (j in)]
	w := autograd.Permute(c.Kernel(), 0, 2, 1)                   // [out, k, in]
	w = autograd.Reshape(autograd.Contiguous(w), w.Dim(0), k*in) // [out, (j in)]
	return autograd.Linear(patches, w, c.Bias)
}
