package nn

// Parameterized hypercomplex multiplication (PHM) layers, from "Beyond
// Fully-Connected Layers with Quaternions: Parameterization of
// Hypercomplex Multiplications with 1/n Parameters" (arXiv 2102.08597) and
// its convolutional form in "PHNNs: Lightweight Neural Networks via
// Parameterized Hypercomplex Convolutions" (arXiv 2110.04176; official code
// eleGAN23/HyperNets, layers/ph_layers.py).
//
// The weight of a PHM layer is a sum of Kronecker products,
//
//	W = Σᵢ₌₁ⁿ Aᵢ ⊗ Sᵢ,  Aᵢ ∈ ℝⁿˣⁿ (the learned "rule"),  Sᵢ ∈ ℝ^{(out/n)×(in/n)}
//
// so W[a·out/n + p, b·in/n + q] = Σᵢ Aᵢ[a,b]·Sᵢ[p,q]: n³ + in·out/n
// parameters instead of in·out (plus a bias). With n = 4 and Aᵢ fixed to
// the quaternion units it is a quaternion layer; learned, it finds such
// rules from data.

import (
	"fmt"
	"math"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/tensor"
)

// PHM is a PHM linear layer [..., in] → [..., out]. Checkpoint names:
// <prefix>.phm_rule [n, n, n] (A), <prefix>.phm_weight [n, out/n, in/n]
// (S) and <prefix>.bias [out].
type PHM struct {
	A    *autograd.Var // [n, n, n]: Aᵢ = A[i]
	S    *autograd.Var // [n, out/n, in/n]: Sᵢ = S[i]
	Bias *autograd.Var // [out] or nil
	N    int
}

// NewPHM returns a PHM layer with n components. A is drawn from N(0, 1/n)
// and S from N(0, σ²), so that every entry of W has variance σ²: the
// variance of the dense layer it replaces (σ = init.Std, or the fan-in
// 1/√in when init.Std is 0).
func NewPHM(prefix string, in, out, n int, bias bool, init Init) (*PHM, error) {
	if n < 1 || in%n != 0 || out%n != 0 {
		return nil, fmt.Errorf("phm %s: n = %d must divide in (%d) and out (%d)", prefix, n, in, out)
	}
	sd := init.Std
	if sd == 0 {
		sd = 1 / math.Sqrt(float64(in))
	}
	p := &PHM{N: n}
	if init.Empty {
		p.A = autograd.NewParam(Join(prefix, "phm_rule"), autograd.RoleFactor, tensor.Empty(tensor.Float32, n, n, n))
		p.S = autograd.NewParam(Join(prefix, "phm_weight"), autograd.RoleFactor, tensor.Empty(tensor.Float32, n, out/n, in/n))
	} else {
		p.A = autograd.NewParam(Join(prefix, "phm_rule"), autograd.RoleFactor, tensor.Normal(init.RNG, 0, 1/math.Sqrt(float64(n)), n, n, n))
		p.S = autograd.NewParam(Join(prefix, "phm_weight"), autograd.RoleFactor, tensor.Normal(init.RNG, 0, sd, n, out/n, in/n))
	}
	if bias {
		p.Bias = autograd.NewParam(Join(prefix, "bias"), autograd.RoleBias, tensor.Zeros(out))
	}
	return p, nil
}

// PHMLayers returns an Init.Layer that builds PHM layers with n components.
func PHMLayers(n int) func(prefix string, in, out int, bias bool, init Init) (Layer, error) {
	return func(prefix string, in, out int, bias bool, init Init) (Layer, error) {
		return NewPHM(prefix, in, out, n, bias, init)
	}
}

// InFeatures returns in.
func (p *PHM) InFeatures() int { return p.S.Dim(2) * p.N }

// OutFeatures returns out.
func (p *PHM) OutFeatures() int { return p.S.Dim(1) * p.N }

// Params returns A, S and the bias.
func (p *PHM) Params() []*autograd.Var {
	if p.Bias != nil {
		return []*autograd.Var{p.A, p.S, p.Bias}
	}
	return []*autograd.Var{p.A, p.S}
}

// Weight assembles W = Σᵢ Aᵢ ⊗ Sᵢ [out, in] (differentiable).
func (p *PHM) Weight() *autograd.Var {
	n, po, qi := p.N, p.S.Dim(1), p.S.Dim(2)
	a := autograd.Reshape(p.A, n, n*n)   // [i, (a b)]
	s := autograd.Reshape(p.S, n, po*qi) // [i, (p q)]
	w := autograd.MatMul(a, s, true, false)
	w = autograd.Reshape(w, n, n, po, qi) // [a, b, p, q]
	w = autograd.Permute(w, 0, 2, 1, 3)   // [a, p, b, q]
	return autograd.Reshape(autograd.Contiguous(w), n*po, n*qi)
}

// Direct reports whether Forward on rows tokens skips assembling W:
// assembling costs n·in·out multiply-adds once and then in·out per token;
// the direct product costs in·out + n²·out per token. Direct is chosen
// when it does less work: for fewer rows than in/n (decoding a few tokens
// at a time); training and prefill assemble W.
func (p *PHM) Direct(rows int) bool {
	in, out := p.InFeatures(), p.OutFeatures()
	direct := float64(rows) * float64(in*out+p.N*p.N*out)
	assemble := float64(p.N*in*out) + float64(rows)*float64(in*out)
	return direct < assemble
}

// Forward maps x [..., in] to [..., out].
func (p *PHM) Forward(x *autograd.Var) *autograd.Var {
	in, out := p.InFeatures(), p.OutFeatures()
	rows := x.Value.Numel() / in
	if !p.Direct(rows) {
		return autograd.Linear(x, p.Weight(), p.Bias)
	}
	shape := append([]int(nil), x.Shape()...)
	n, po, qi := p.N, out/p.N, in/p.N
	// y[t, a, p] = Σᵢ Σ_b A[i,a,b] · (Sᵢ x[t, b, :])[p]
	xb := autograd.Reshape(autograd.Contiguous(x), rows*n, qi)                         // [(t b), q]
	z := autograd.MatMul(xb, autograd.Reshape(p.S, n*po, qi), false, true)             // [(t b), (i p)]
	z = autograd.Permute(autograd.Reshape(z, rows, n, n, po), 0, 3, 2, 1)              // [t, p, i, b]
	z = autograd.Reshape(autograd.Contiguous(z), rows*po, n*n)                         // [(t p), (i b)]
	a := autograd.Reshape(autograd.Contiguous(autograd.Permute(p.A, 0, 2, 1)), n*n, n) // [(i b), a]
	y := autograd.MatMul(z, a, false, false)                                           // [(t p), a]
	y = autograd.Permute(autograd.Reshape(y, rows, po, n), 0, 2, 1)                    // [t, a, p]
	y = autograd.Reshape(autograd.Contiguous(y), rows, out)
	if p.Bias != nil {
		y = autograd.Add(y, p.Bias)
	}
	shape[len(shape)-1] = out
	return autograd.Reshape(y, shape...)
}
