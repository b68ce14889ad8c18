// Package hypino is HyPINO ("HyPINO: Multi-Physics Neural Operators via
// HyperPINNs and the Method of Manufactured Solutions", Bischof et al.,
// arXiv 2509.05117; code rbischof/hypino): a transformer hypernetwork reads
// a PDE's specification rasterised on a grid and emits the weights of a
// physics-informed MLP (a PINN) that solves it. It is trained on
// manufactured solutions (sciml/pde) with a loss that mixes supervised
// terms and the PDE residual, and refines its answer with delta PINNs: the
// residual problem fed back to the hypernetwork, whose solution is added.
//
// The paper's hypernetwork is a Swin Transformer; loom's is a small ViT
// (patch embedding and a pre-norm Transformer encoder from nn pieces). The
// PINN's input derivatives u_x, u_y, u_xx, u_yy are forward-mode jets
// composed from taped autograd operations, so ∂/∂θ of u_xx, and through θ
// the hypernetwork's gradient, come from one ordinary backward pass.
package hypino

import (
	"fmt"
	"math"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/sciml/pde"
	"github.com/loomml/loom/tensor"
)

// PINNConfig describes the physics-informed MLP: inputs (x, y) and
// Features random Fourier features sin(ω·(x, y)), cos(ω·(x, y)) with
// ω ~ N(0, Scale²) per component, tanh hidden layers, one output.
type PINNConfig struct {
	Features int     `json:"features"`
	Scale    float64 `json:"scale"`
	Hidden   []int   `json:"hidden"`
	Seed     uint64  `json:"seed"` // draws the Fourier frequencies
}

// PINN is the primary network's architecture; its parameters are given to
// Jet (emitted by the hypernetwork, or trained directly).
type PINN struct {
	Config PINNConfig
	Omega  [][2]float64 // Fourier frequencies, Features of them
}

// NewPINN validates c and draws the Fourier frequencies.
func NewPINN(c PINNConfig) (*PINN, error) {
	if c.Features < 0 {
		return nil, fmt.Errorf("hypino: %d Fourier features, want 0 or more", c.Features)
	}
	if math.IsNaN(c.Scale) || math.IsInf(c.Scale, 0) || c.Scale < 0 {
		return nil, fmt.Errorf("hypino: Fourier scale %g, want a finite number ≥ 0", c.Scale)
	}
	if len(c.Hidden) == 0 {
		return nil, fmt.Errorf("hypino: the PINN has no hidden layer, want at least one width")
	}
	for i, h := range c.Hidden {
		if h < 1 {
			return nil, fmt.Errorf("hypino: PINN hidden width %d (layer %d), want at least 1", h, i)
		}
	}
	p := &PINN{Config: c}
	r := tensor.NewRNG(c.Seed)
	om := tensor.Normal(r, 0, c.Scale, c.Features, 2).Float64s()
	for k := range c.Features {
		p.Omega = append(p.Omega, [2]float64{om[2*k], om[2*k+1]})
	}
	return p, nil
}

// In returns the first layer's input width.
func (p *PINN) In() int { return 2 + 2*p.Config.Features }

// Specs returns the PINN's parameters in order: l<i>.weight [out, in],
// l<i>.bias [out] for each hidden layer, then out.weight [1, last],
// out.bias [1].
func (p *PINN) Specs() []nn.ParamSpec {
	var s []nn.ParamSpec
	in := p.In()
	for i, h := range p.Config.Hidden {
		s = append(s, nn.ParamSpec{Name: fmt.Sprintf("l%d.weight", i), Shape: []int{h, in}}, nn.ParamSpec{Name: fmt.Sprintf("l%d.bias", i), Shape: []int{h}})
		in = h
	}
	return append(s, nn.ParamSpec{Name: "out.weight", Shape: []int{1, in}}, nn.ParamSpec{Name: "out.bias", Shape: []int{1}})
}

// NumParams returns the number of PINN parameters.
func (p *PINN) NumParams() int {
	n := 0
	for _, s := range p.Specs() {
		n += s.Size()
	}
	return n
}

// Init returns B copies of the PINN's own initialisation (nn.PrimaryInit:
// Kaiming normal fan-in for weights, zero biases) as trainable leaves
// shaped [B, spec...], in Specs order.
func (p *PINN) Init(B int, rng *tensor.RNG, dt tensor.DType) []*autograd.Var {
	var out []*autograd.Var
	for _, s := range p.Specs() {
		one := nn.PrimaryInit(s, rng).Float64s()
		all := make([]float64, 0, B*len(one))
		for range B {
			all = append(all, one...)
		}
		out = append(out, autograd.Leaf(tensor.FromFloat64(all, append([]int{B}, s.Shape...)...).To(dt)))
	}
	return out
}

// Unflatten cuts flat parameters [B, NumParams] into the Specs shapes with
// the batch dimension in front.
func (p *PINN) Unflatten(flat *autograd.Var) []*autograd.Var {
	specs := p.Specs()
	sizes := make([]int, len(specs))
	for i, s := range specs {
		sizes[i] = s.Size()
	}
	B := flat.Dim(0)
	parts := autograd.Split(flat, 1, sizes...)
	for i, s := range specs {
		parts[i] = autograd.Reshape(parts[i], append([]int{B}, s.Shape...)...)
	}
	return parts
}

// Jet holds a PINN's output and its input derivatives at N points of each
// of B instances, each [B, N], on the tape.
type Jet struct {
	U, UX, UY, UXX, UYY *autograd.Var
}

// Terms returns the jet's components in pde's coefficient order (u, ux,
// uy, uxx, uyy).
func (j Jet) Terms() [5]*autograd.Var { return [5]*autograd.Var{j.U, j.UX, j.UY, j.UXX, j.UYY} }

// inputJet returns the first layer's input and its derivatives, stacked
// along the point axis as [B, 5N, In] (value, ∂x, ∂y, ∂xx, ∂yy), for
// points xy [B, N, 2].
func (p *PINN) inputJet(xy *tensor.Tensor) *tensor.Tensor {
	B, N := xy.Dim(0), xy.Dim(1)
	in := p.In()
	pts := xy.Contiguous().Float64s()
	out := make([]float64, B*5*N*in)
	at := func(b, comp, n int) []float64 {
		o := ((b*5+comp)*N + n) * in
		return out[o : o+in]
	}
	F := p.Config.Features
	for b := range B {
		for n := range N {
			x, y := pts[(b*N+n)*2], pts[(b*N+n)*2+1]
			v, dx, dy, dxx, dyy := at(b, 0, n), at(b, 1, n), at(b, 2, n), at(b, 3, n), at(b, 4, n)
			v[0], v[1], dx[0], dy[1] = x, y, 1, 1
			for k, w := range p.Omega {
				z := w[0]*x + w[1]*y
				s, c := math.Sin(z), math.Cos(z)
				v[2+k], v[2+F+k] = s, c
				dx[2+k], dx[2+F+k] = w[0]*c, -w[0]*s
				dy[2+k], dy[2+F+k] = w[1]*c, -w[1]*s
				dxx[2+k], dxx[2+F+k] = -w[0]*w[0]*s, -w[0]*w[0]*c
				dyy[2+k], dyy[2+F+k] = -w[1]*w[1]*s, -w[1]*w[1]*c
			}
		}
	}
	return tensor.FromFloat64(out, B, 5*N, in).To(xy.DType())
}

// Jet evaluates the PINN with parameters theta (Specs order, each with a
// leading batch dimension B) at points xy [B, N, 2], returning u and its
// first and second derivatives in x and y. Every step is a taped operation
// (forward-mode jets through the linear maps and tanh), so a loss on u_xx
// differentiates into theta by Backward.
func (p *PINN) Jet(theta []*autograd.Var, xy *tensor.Tensor) (Jet, error) {
	specs := p.Specs()
	if len(theta) != len(specs) {
		return Jet{}, fmt.Errorf("hypino: %d PINN parameters, want %d", len(theta), len(specs))
	}
	if xy.NDim() != 3 || xy.Dim(2) != 2 {
		return Jet{}, fmt.Errorf("hypino: points of shape %v, want [B, N, 2]", xy.Shape())
	}
	B, N := xy.Dim(0), xy.Dim(1)
	for i, s := range specs {
		want := append([]int{B}, s.Shape...)
		if !sameShape(theta[i].Shape(), want) {
			return Jet{}, fmt.Errorf("hypino: PINN parameter %s has shape %v, want %v", s.Name, theta[i].Shape(), want)
		}
	}
	h := autograd.Const(p.inputJet(xy))
	L := len(p.Config.Hidden)
	for l := 0; l <= L; l++ {
		w, b := theta[2*l], theta[2*l+1]
		z := autograd.MatMul(h, w, false, true) // [B, 5N, out]
		c := autograd.Split(z, 1, N, N, N, N, N)
		c[0] = autograd.Add(c[0], autograd.Unsqueeze(b, 1))
		if l == L {
			for i := range c {
				c[i] = autograd.Squeeze(c[i], 2)
			}
			return Jet{U: c[0], UX: c[1], UY: c[2], UXX: c[3], UYY: c[4]}, nil
		}
		// tanh jet: a' = 1 − a², a'' = −2·a·a'; (a∘z)_x = a'·z_x,
		// (a∘z)_xx = a'·z_xx + a''·z_x².
		a := autograd.Tanh(c[0])
		d1 := autograd.AddScalar(autograd.Neg(autograd.Mul(a, a)), 1)
		d2 := autograd.MulScalar(autograd.Mul(a, d1), -2)
		ax, ay := autograd.Mul(d1, c[1]), autograd.Mul(d1, c[2])
		axx := autograd.Add(autograd.Mul(d1, c[3]), autograd.Mul(d2, autograd.Mul(c[1], c[1])))
		ayy := autograd.Add(autograd.Mul(d1, c[4]), autograd.Mul(d2, autograd.Mul(c[2], c[2])))
		h = autograd.Concat(1, a, ax, ay, axx, ayy)
	}
	panic("unreachable")
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Residual returns L u − f at the jet's points, [B, N], for each
// instance's operator; f is [B, N] values (nil: 0).
func Residual(ops []pde.Operator, j Jet, f *tensor.Tensor) *autograd.Var {
	B := len(ops)
	dt := j.U.Value.DType()
	terms := j.Terms()
	var r *autograd.Var
	for k := range 5 {
		c := make([]float64, B)
		any := false
		for b, op := range ops {
			c[b] = op.Coeffs()[k]
			any = any || c[b] != 0
		}
		if !any {
			continue
		}
		t := autograd.Mul(terms[k], autograd.Const(tensor.FromFloat64(c, B, 1).To(dt)))
		if r == nil {
			r = t
		} else {
			r = autograd.Add(r, t)
		}
	}
	if f != nil {
		r = autograd.Sub(r, autograd.Const(f.To(dt)))
	}
	return r
}
