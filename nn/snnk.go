package nn

// Scalable neural network kernels (SNNK), from "Scalable Neural Network
// Kernels" (Sehanobish, Choromanski, Zhao, Dubey, Likhosherstov; ICLR 2024,
// arXiv 2310.13225; official code arijitthegame/neural-network-kernels,
// src/nnk/nnk.py). A fully connected unit f(wᵀx + b) is written as a
// kernel of the input and the parameters, K(x, (w, b)) = f(wᵀx + b), and
// estimated by random features: f(wᵀx + b) ≈ φ(x)ᵀψ(w, b). The input and
// the parameters meet only in the final dot product, so a layer becomes
//
//	y = Ψ φ(x),  Ψ [out, F] initialised to the rows ψ(Wᵢ, bᵢ), then trained,
//
// with φ fixed (a random projection G [m, d], iid Gaussian rows or
// block-orthogonal ones with χ_d-distributed norms as in Performers).
//
// Kernels (features of x and of (w, b); g the rows of G, z = wᵀx + b):
//
//   - relu: φ(x) = m^{-1/2} max(Gx, 0), ψ(w) the same: the ReLU-SNNK. Its
//     kernel is not relu(wᵀx) but the arc-cosine kernel of order 1,
//     E[relu(gᵀx)·relu(gᵀw)] = |x||w|(sin θ + (π − θ) cos θ)/(2π), θ the
//     angle between x and w (no bias). This is the layer of the SNNK
//     adapters (relu_adapter_bert.py).
//   - exp: f(z) = exp(z), the universal random features (URFs) with
//     a = b = A = 1 (positive random features): φ(x) = m^{-1/2}
//     exp(Gx − |x|²/2), ψ(w, b) = m^{-1/2} exp(b + Gw − |w|²/2), since
//     E[exp(gᵀ(x + w))] = exp(|x + w|²/2).
//   - cos and sin: f(z) = cos z or sin z from the Fourier pair ξ = ±1
//     (a = iξ on the input, b = 1 on the parameters, as in the paper's
//     URF test), each ξ drawn with its antithetic partner (the code's
//     first_rfv_plus/minus), written in real arithmetic:
//     φ(x) = m^{-1/2} exp(|x|²/2) [cos Gx, sin Gx] and
//     ψ(w, b) = m^{-1/2} exp(Gw − |w|²/2) ⊙ [cos b, −sin b] (cos) or
//     [sin b, cos b] (sin), F = 2m; unbiased since
//     E[exp(gᵀw + i gᵀx)] = exp((|w|² − |x|² + 2i xᵀw)/2).
//
// The exp, cos and sin features grow as exp(|x|²/2) or exp(gᵀw): they are
// for inputs and weights of moderate norm (the code rescales x by 1/d).
//
// Bundling (the paper's "neural network bundling"): a stack of layers
// N(x) replaced by one SNNK layer y = Ψ φ(x) whose parameters Ψ, for the
// mean squared error, have a closed form — ridge regression on the random
// features (BundleSNNK). The fully bundled network is trained without
// backpropagation.

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/tensor"
)

// SNNKKernels are the feature maps NewSNNK knows.
var SNNKKernels = []string{"relu", "exp", "cos", "sin"}

// SNNKConfig is an SNNK layer's random features.
type SNNKConfig struct {
	Kernel     string // one of SNNKKernels
	Features   int    // m, the number of random projections
	Orthogonal bool   // block-orthogonal G (χ_d row norms) instead of iid Gaussian rows
	Seed       uint64 // draws G
}

// Check returns an error naming the field at fault.
func (c SNNKConfig) Check() error {
	if !slices.Contains(SNNKKernels, c.Kernel) {
		return fmt.Errorf("snnk: kernel %q, want one of %v", c.Kernel, SNNKKernels)
	}
	if c.Features < 1 {
		return fmt.Errorf("snnk: features %d, want at least 1", c.Features)
	}
	return nil
}

// FeatureDim is the width F of φ(x): m, or 2m for cos and sin.
func (c SNNKConfig) FeatureDim() int {
	if c.Kernel == "cos" || c.Kernel == "sin" {
		return 2 * c.Features
	}
	return c.Features
}

// SNNKProjection draws G [m, d] row-major: iid N(0, 1) entries, or (orthogonal)
// blocks of d orthonormal rows (Gram–Schmidt of Gaussian rows, a Haar-random
// orthogonal block; the last block truncated) each rescaled to the norm of
// an independent Gaussian d-vector, so every row is still N(0, I_d) and the
// rows of a block are exactly orthogonal (gaussian_orthogonal_random_matrix
// with scaling 0 in the code).
func SNNKProjection(m, d int, orthogonal bool, r *tensor.RNG) []float64 {
	g := make([]float64, m*d)
	for i := range g {
		g[i] = r.Normal()
	}
	if !orthogonal {
		return g
	}
	for lo := 0; lo < m; lo += d {
		hi := min(m, lo+d)
		// Gram–Schmidt over a full block of d Gaussian rows (the first hi−lo kept).
		block := make([]float64, d*d)
		copy(block, g[lo*d:hi*d])
		for i := (hi - lo) * d; i < d*d; i++ {
			block[i] = r.Normal()
		}
		for i := range d {
			row := block[i*d : (i+1)*d]
			for j := range i {
				prev := block[j*d : (j+1)*d]
				dot := 0.0
				for k := range d {
					dot += row[k] * prev[k]
				}
				for k := range d {
					row[k] -= dot * prev[k]
				}
			}
			n := 0.0
			for _, v := range row {
				n += v * v
			}
			n = math.Sqrt(n)
			for k := range row {
				row[k] /= n
			}
		}
		for i := lo; i < hi; i++ {
			chi := 0.0
			for range d {
				v := r.Normal()
				chi += v * v
			}
			chi = math.Sqrt(chi)
			for k := range d {
				g[i*d+k] = chi * block[(i-lo)*d+k]
			}
		}
	}
	return g
}

// snnkProject returns Gx for G [m, d].
func snnkProject(g []float64, m, d int, x []float64) []float64 {
	u := make([]float64, m)
	for j := range m {
		s := 0.0
		for k := range d {
			s += g[j*d+k] * x[k]
		}
		u[j] = s
	}
	return u
}

func sqNorm(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v * v
	}
	return s
}

// SNNKInputFeatures returns φ(x) [F] for the kernel of c and G [m, d].
func SNNKInputFeatures(c SNNKConfig, g []float64, x []float64) []float64 {
	m, d := c.Features, len(x)
	u := snnkProject(g, m, d, x)
	s := 1 / math.Sqrt(float64(m))
	switch c.Kernel {
	case "relu":
		for j := range u {
			u[j] = s * max(u[j], 0)
		}
		return u
	case "exp":
		h := sqNorm(x) / 2
		for j := range u {
			u[j] = s * math.Exp(u[j]-h)
		}
		return u
	default: // cos, sin
		e := s * math.Exp(sqNorm(x)/2)
		out := make([]float64, 2*m)
		for j, v := range u {
			out[j], out[m+j] = e*math.Cos(v), e*math.Sin(v)
		}
		return out
	}
}

// SNNKWeightFeatures returns ψ(w, b) [F] for the kernel of c and G [m, d]
// (relu ignores b).
func SNNKWeightFeatures(c SNNKConfig, g []float64, w []float64, b float64) []float64 {
	m, d := c.Features, len(w)
	u := snnkProject(g, m, d, w)
	s := 1 / math.Sqrt(float64(m))
	switch c.Kernel {
	case "relu":
		for j := range u {
			u[j] = s * max(u[j], 0)
		}
		return u
	case "exp":
		h := sqNorm(w)/2 - b
		for j := range u {
			u[j] = s * math.Exp(u[j]-h)
		}
		return u
	default:
		c0, c1 := math.Cos(b), -math.Sin(b)
		if c.Kernel == "sin" {
			c0, c1 = math.Sin(b), math.Cos(b)
		}
		h := sqNorm(w) / 2
		out := make([]float64, 2*m)
		for j, v := range u {
			e := s * math.Exp(v-h)
			out[j], out[m+j] = e*c0, e*c1
		}
		return out
	}
}

// SNNKExact is the kernel the features estimate: the arc-cosine kernel
// |x||w|(sin θ + (π − θ) cos θ)/(2π) for relu (b unused), exp(wᵀx + b),
// cos(wᵀx + b) or sin(wᵀx + b).
func SNNKExact(kernel string, x, w []float64, b float64) float64 {
	dot := 0.0
	for i := range x {
		dot += x[i] * w[i]
	}
	switch kernel {
	case "relu":
		nx, nw := math.Sqrt(sqNorm(x)), math.Sqrt(sqNorm(w))
		if nx == 0 || nw == 0 {
			return 0
		}
		cos := max(-1, min(1, dot/(nx*nw)))
		th := math.Acos(cos)
		return nx * nw * (math.Sin(th) + (math.Pi-th)*cos) / (2 * math.Pi)
	case "exp":
		return math.Exp(dot + b)
	case "cos":
		return math.Cos(dot + b)
	case "sin":
		return math.Sin(dot + b)
	}
	return math.NaN()
}

// SNNK is a layer y = Ψ φ(x): φ fixed random features of the input, Ψ
// [out, F] trainable. Checkpoint name: <prefix>.psi.
type SNNK struct {
	Psi    *autograd.Var  // [out, F]
	G      *tensor.Tensor // [m, in], fixed
	Config SNNKConfig
	g      []float64 // G as float64, for the float64 helpers
}

// NewSNNKFeatures returns an SNNK layer in → out with Ψ zero and G drawn
// from c.Seed.
func NewSNNKFeatures(prefix string, in, out int, c SNNKConfig) (*SNNK, error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	if in < 1 || out < 1 {
		return nil, fmt.Errorf("snnk %s: widths %d → %d, want at least 1", prefix, in, out)
	}
	g := SNNKProjection(c.Features, in, c.Orthogonal, tensor.NewRNG(c.Seed))
	return &SNNK{Psi: autograd.NewParam(Join(prefix, "psi"), autograd.RoleMatrix, tensor.Zeros(out, c.FeatureDim())),
		G: tensor.FromFloat64(g, c.Features, in).To(tensor.Float32), Config: c, g: g}, nil
}

// NewSNNK returns the SNNK layer that approximates f(Wx + b) (for relu,
// the arc-cosine kernel of x and each row of W): W [out, in] and b [out]
// (nil: zero; relu takes none) give Ψ's rows ψ(Wᵢ, bᵢ).
func NewSNNK(prefix string, w *tensor.Tensor, b []float64, c SNNKConfig) (*SNNK, error) {
	if len(w.Shape()) != 2 {
		return nil, fmt.Errorf("snnk %s: weight of shape %v, want [out, in]", prefix, w.Shape())
	}
	out, in := w.Dim(0), w.Dim(1)
	if b != nil && len(b) != out {
		return nil, fmt.Errorf("snnk %s: %d biases for %d outputs", prefix, len(b), out)
	}
	if b != nil && c.Kernel == "relu" {
		return nil, errors.New("snnk " + prefix + ": the relu kernel (arc-cosine) takes no bias")
	}
	s, err := NewSNNKFeatures(prefix, in, out, c)
	if err != nil {
		return nil, err
	}
	wv := w.Float64s()
	psi := s.Psi.Value.F32()
	F := c.FeatureDim()
	for i := range out {
		bi := 0.0
		if b != nil {
			bi = b[i]
		}
		for j, v := range SNNKWeightFeatures(c, s.g, wv[i*in:(i+1)*in], bi) {
			psi[i*F+j] = float32(v)
		}
	}
	return s, nil
}

// Features maps x [..., in] to φ(x) [..., F] (differentiable in x).
func (s *SNNK) Features(x *autograd.Var) *autograd.Var {
	shape := x.Shape()
	in := s.G.Dim(1)
	n := x.Value.Numel() / in
	x2 := autograd.Reshape(x, n, in)
	m := s.Config.Features
	sc := 1 / math.Sqrt(float64(m))
	u := autograd.MatMul(x2, autograd.Const(s.G), false, true) // [n, m]
	var f *autograd.Var
	switch s.Config.Kernel {
	case "relu":
		f = autograd.MulScalar(autograd.Relu(u), sc)
	case "exp":
		h := autograd.MulScalar(autograd.Sum(autograd.Mul(x2, x2), true, 1), 0.5)
		f = autograd.MulScalar(autograd.Exp(autograd.Sub(u, h)), sc)
	default:
		h := autograd.MulScalar(autograd.Sum(autograd.Mul(x2, x2), true, 1), 0.5)
		f = autograd.Mul(autograd.Concat(1, autograd.Cos(u), autograd.Sin(u)), autograd.MulScalar(autograd.Exp(h), sc))
	}
	out := slices.Clone(shape)
	out[len(out)-1] = s.Config.FeatureDim()
	return autograd.Reshape(f, out...)
}

// Forward maps x [..., in] to Ψ φ(x) [..., out].
func (s *SNNK) Forward(x *autograd.Var) *autograd.Var {
	return autograd.Linear(s.Features(x), s.Psi, nil)
}

// Params returns Ψ.
func (s *SNNK) Params() []*autograd.Var { return []*autograd.Var{s.Psi} }

// InFeatures returns the input width.
func (s *SNNK) InFeatures() int { return s.G.Dim(1) }

// OutFeatures returns the output width.
func (s *SNNK) OutFeatures() int { return s.Psi.Dim(0) }

// BundleLoss is the bundled objective for Ψ [out, F] on features Φ [n, F]
// and targets Y [n, out] (row-major): (1/n) Σ |Ψ φₙ − yₙ|² + λ|Ψ|².
func BundleLoss(phi []float64, y []float64, psi []float64, n, F, out int, ridge float64) float64 {
	loss := 0.0
	for i := range n {
		for o := range out {
			p := 0.0
			for j := range F {
				p += psi[o*F+j] * phi[i*F+j]
			}
			d := p - y[i*out+o]
			loss += d * d
		}
	}
	loss /= float64(n)
	return loss + ridge*sqNorm(psi)
}

// BundleSolve returns the Ψ [out, F] minimising BundleLoss: the solution
// of (ΦᵀΦ/n + λI) Ψᵀ = ΦᵀY/n by Cholesky factorisation (λ > 0 makes it
// unique; λ = 0 needs Φ of full column rank).
func BundleSolve(phi, y []float64, n, F, out int, ridge float64) ([]float64, error) {
	if ridge < 0 {
		return nil, fmt.Errorf("snnk bundle: ridge %g, want at least 0", ridge)
	}
	if n < 1 || len(phi) != n*F || len(y) != n*out {
		return nil, fmt.Errorf("snnk bundle: %d features and %d targets for %d examples of %d features and %d outputs", len(phi), len(y), n, F, out)
	}
	a := make([]float64, F*F)
	rhs := make([]float64, F*out)
	for i := range n {
		row := phi[i*F : (i+1)*F]
		for p := range F {
			if row[p] == 0 {
				continue
			}
			for q := range F {
				a[p*F+q] += row[p] * row[q]
			}
			for o := range out {
				rhs[p*out+o] += row[p] * y[i*out+o]
			}
		}
	}
	for i := range a {
		a[i] /= float64(n)
	}
	for i := range rhs {
		rhs[i] /= float64(n)
	}
	for p := range F {
		a[p*F+p] += ridge
	}
	// Cholesky: a = L Lᵀ, L lower, in place.
	for j := range F {
		s := a[j*F+j]
		for k := range j {
			s -= a[j*F+k] * a[j*F+k]
		}
		if s <= 0 {
			return nil, fmt.Errorf("snnk bundle: the features' Gram matrix is singular (add a ridge)")
		}
		a[j*F+j] = math.Sqrt(s)
		for i := j + 1; i < F; i++ {
			t := a[i*F+j]
			for k := range j {
				t -= a[i*F+k] * a[j*F+k]
			}
			a[i*F+j] = t / a[j*F+j]
		}
	}
	psi := make([]float64, out*F)
	z := make([]float64, F)
	for o := range out {
		for i := range F { // L z = rhs
			t := rhs[i*out+o]
			for k := range i {
				t -= a[i*F+k] * z[k]
			}
			z[i] = t / a[i*F+i]
		}
		for i := F - 1; i >= 0; i-- { // Lᵀ ψ = z
			t := z[i]
			for k := i + 1; k < F; k++ {
				t -= a[k*F+i] * psi[o*F+k]
			}
			psi[o*F+i] = t / a[i*F+i]
		}
	}
	return psi, nil
}

// BundleSNNK collapses a network into one SNNK layer (the fully bundled
// network): given inputs X [n, in] and targets Y [n, out] — the labels,
// or a stack of layers' outputs on X to distil that stack — it draws the
// features of c and sets Ψ to the closed-form minimiser of the mean
// squared error with ridge λ (BundleSolve). It also returns the loss.
func BundleSNNK(prefix string, x, y []float64, n int, c SNNKConfig, ridge float64) (*SNNK, float64, error) {
	if n < 1 || len(x)%n != 0 || len(y)%n != 0 {
		return nil, 0, fmt.Errorf("snnk bundle: %d inputs and %d targets do not split into %d examples", len(x), len(y), n)
	}
	in, out := len(x)/n, len(y)/n
	s, err := NewSNNKFeatures(prefix, in, out, c)
	if err != nil {
		return nil, 0, err
	}
	phi := s.FeatureMatrix(x, n)
	F := c.FeatureDim()
	psi, err := BundleSolve(phi, y, n, F, out, ridge)
	if err != nil {
		return nil, 0, err
	}
	for i, v := range psi {
		s.Psi.Value.F32()[i] = float32(v)
	}
	return s, BundleLoss(phi, y, psi, n, F, out, ridge), nil
}

// FeatureMatrix returns Φ [n, F] for the rows of x [n, in] (float64).
func (s *SNNK) FeatureMatrix(x []float64, n int) []float64 {
	in := len(x) / n
	var phi []float64
	for i := range n {
		phi = append(phi, SNNKInputFeatures(s.Config, s.g, x[i*in:(i+1)*in])...)
	}
	return phi
}
