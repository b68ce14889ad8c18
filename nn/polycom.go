package nn

// PolyCom: polynomial composition activations, from "Polynomial Composition
// Activations: Unleashing the Dynamics of Large Language Models" (arXiv
// 2411.03884; official code BryceZhuo/PolyCom).
//
//	PolyReLU(x) = a₃·ReLU(x)³ + a₂·ReLU(x)² + a₁·ReLU(x) + b
//	PolyNorm(x) = a₃·N(x³) + a₂·N(x²) + a₁·N(x) + b,  N(u) = u/√(mean(u², last dim) + ε)
//
// One set of four scalars per activation (per layer), a = 1/3 and b = 0 at
// initialisation. The coefficients are stored highest power first, as the
// official code stores them: Weight = [a₃, a₂, a₁]. Both are meant for a
// non-gated FFN (loom.ffn "mlp", hidden_act "polynorm" or "polyrelu").
//
// Both are fused kernels with hand-written gradients. Rows are reduced in
// float64, so x⁶ cannot overflow for any finite float32 input and every
// PolyNorm term stays finite (|N(u)| ≤ √width); PolyReLU's value saturates
// at ±MaxFloat32 instead of becoming infinite.

import (
	"fmt"
	"math"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/internal/kernels"
	"github.com/loomml/loom/tensor"
)

// PolyEps is PolyNorm's ε, as in the official code.
const PolyEps = 1e-6

// PolyReLU is a₃·ReLU(x)³ + a₂·ReLU(x)² + a₁·ReLU(x) + b.
type PolyReLU struct {
	Weight *autograd.Var // [3]: a₃, a₂, a₁
	Bias   *autograd.Var // [1]: b
}

// Apply maps x elementwise.
func (p *PolyReLU) Apply(x *autograd.Var) *autograd.Var {
	return polyOp("polyrelu", x, p.Weight, p.Bias, 0, false)
}

// Params returns weight and bias.
func (p *PolyReLU) Params() []*autograd.Var { return []*autograd.Var{p.Weight, p.Bias} }

// PolyNorm is a₃·N(x³) + a₂·N(x²) + a₁·N(x) + b over the last dimension.
type PolyNorm struct {
	Weight *autograd.Var // [3]: a₃, a₂, a₁
	Bias   *autograd.Var // [1]: b
	Eps    float64
}

// Apply maps each row of x (the last dimension).
func (p *PolyNorm) Apply(x *autograd.Var) *autograd.Var {
	return polyOp("polynorm", x, p.Weight, p.Bias, p.Eps, true)
}

// Params returns weight and bias.
func (p *PolyNorm) Params() []*autograd.Var { return []*autograd.Var{p.Weight, p.Bias} }

// polyParams are the initial coefficients a = 1/3, b = 0.
func polyParams(prefix string, in Init) (w, b *autograd.Var) {
	if in.Empty {
		return autograd.NewParam(Join(prefix, "weight"), autograd.RoleScalar, tensor.Empty(tensor.Float32, 3)),
			autograd.NewParam(Join(prefix, "bias"), autograd.RoleScalar, tensor.Empty(tensor.Float32, 1))
	}
	return autograd.NewParam(Join(prefix, "weight"), autograd.RoleScalar, tensor.Full(1.0/3, 3)),
		autograd.NewParam(Join(prefix, "bias"), autograd.RoleScalar, tensor.Zeros(1))
}

func init() {
	RegisterActivation("polyrelu", func(c ActivationConfig) (Activation, error) {
		w, b := polyParams(c.Prefix, c.Init)
		return &PolyReLU{Weight: w, Bias: b}, nil
	})
	RegisterActivation("polynorm", func(c ActivationConfig) (Activation, error) {
		w, b := polyParams(c.Prefix, c.Init)
		return &PolyNorm{Weight: w, Bias: b, Eps: PolyEps}, nil
	})
}

// polyRows is how many rows one parallel work item takes.
const polyRows = 32

// polyOp records the fused PolyReLU (norm false) or PolyNorm (norm true).
func polyOp(op string, x, w, b *autograd.Var, eps float64, norm bool) *autograd.Var {
	if w.Value.Numel() != 3 || b.Value.Numel() != 1 {
		panic(fmt.Sprintf("nn: %s wants 3 coefficients and 1 bias, has %v and %v", op, w.Shape(), b.Shape()))
	}
	xv := x.Value.Contiguous()
	var coef [3]float64
	copy(coef[:], w.Value.Float64s())
	bias := b.Value.Float64s()[0]
	n := 1
	if xv.NDim() > 0 {
		n = xv.Dim(-1)
	}
	if !norm {
		n = xv.Numel() // elementwise: any split into rows will do
		n = min(n, 4096)
	}
	if n < 1 {
		n = 1
	}
	out := tensor.New(xv.DType(), xv.Shape()...)
	if xv.DType() == tensor.Float32 {
		polyForward(tensor.Data[float32](xv), tensor.Data[float32](out), n, coef, bias, eps, norm)
	} else {
		polyForward(tensor.Data[float64](xv), tensor.Data[float64](out), n, coef, bias, eps, norm)
	}
	return autograd.Custom(op, out, func(g *tensor.Tensor) []*tensor.Tensor {
		g = g.Contiguous()
		dx := tensor.New(xv.DType(), xv.Shape()...)
		var dw [3]float64
		var db float64
		if xv.DType() == tensor.Float32 {
			dw, db = polyBackward(tensor.Data[float32](xv), tensor.Data[float32](g), tensor.Data[float32](dx), n, coef, eps, norm)
		} else {
			dw, db = polyBackward(tensor.Data[float64](xv), tensor.Data[float64](g), tensor.Data[float64](dx), n, coef, eps, norm)
		}
		return []*tensor.Tensor{dx, scalars(w.Value, dw[:]...), scalars(b.Value, db)}
	}, x, w, b)
}

// scalars returns vs as a tensor of like's dtype and shape.
func scalars(like *tensor.Tensor, vs ...float64) *tensor.Tensor {
	t := tensor.FromFloat64(vs, like.Shape()...)
	if like.DType() != tensor.Float64 {
		t = t.To(like.DType())
	}
	return t
}

// sat converts v to T, saturating at T's largest finite value.
func sat[T tensor.Float](v float64) T {
	var z T
	if _, f32 := any(z).(float32); f32 {
		switch {
		case v > math.MaxFloat32:
			return T(math.MaxFloat32)
		case v < -math.MaxFloat32:
			return T(-math.MaxFloat32)
		}
	}
	return T(v)
}

// polyForward writes y for rows of n elements of x.
func polyForward[T tensor.Float](x, y []T, n int, a [3]float64, b, eps float64, norm bool) {
	rows := (len(x) + n - 1) / n
	kernels.Parallel((rows+polyRows-1)/polyRows, func(c int) {
		for r := c * polyRows; r < min(rows, (c+1)*polyRows); r++ {
			xr, yr := x[r*n:min(len(x), (r+1)*n)], y[r*n:min(len(y), (r+1)*n)]
			if !norm {
				for j, v := range xr {
					u := max(float64(v), 0)
					yr[j] = sat[T](((a[0]*u+a[1])*u+a[2])*u + b)
				}
				continue
			}
			var s [3]float64 // Σu² for u = x³, x², x
			for _, v := range xr {
				u := float64(v)
				u2 := u * u
				s[0] += u2 * u2 * u2
				s[1] += u2 * u2
				s[2] += u2
			}
			var k [3]float64 // a_i / √(mean u² + ε)
			for i := range k {
				k[i] = a[i] / math.Sqrt(s[i]/float64(len(xr))+eps)
			}
			for j, v := range xr {
				u := float64(v)
				yr[j] = T(((k[0]*u+k[1])*u+k[2])*u + b)
			}
		}
	})
}

// polyBackward writes dx and returns the gradients of the coefficients and
// the bias, summed in a fixed order (deterministic for any thread count).
func polyBackward[T tensor.Float](x, g, dx []T, n int, a [3]float64, eps float64, norm bool) ([3]float64, float64) {
	rows := (len(x) + n - 1) / n
	chunks := (rows + polyRows - 1) / polyRows
	part := make([][4]float64, chunks) // per chunk: dw₃, dw₂, dw₁, db
	kernels.Parallel(chunks, func(c int) {
		var acc [4]float64
		for r := c * polyRows; r < min(rows, (c+1)*polyRows); r++ {
			lo, hi := r*n, min(len(x), (r+1)*n)
			xr, gr, dr := x[lo:hi], g[lo:hi], dx[lo:hi]
			if !norm {
				for j, v := range xr {
					gj := float64(gr[j])
					acc[3] += gj
					if v <= 0 {
						dr[j] = 0
						continue
					}
					u := float64(v)
					acc[0] += gj * u * u * u
					acc[1] += gj * u * u
					acc[2] += gj * u
					dr[j] = sat[T](gj * ((3*a[0]*u+2*a[1])*u + a[2]))
				}
				continue
			}
			m := float64(len(xr))
			// Row sums for the powers p = 3, 2, 1 (index i = 3 − p):
			// s = Σu², q = Σg·u with u = x^p.
			var s, q [3]float64
			for j, v := range xr {
				u := float64(v)
				gj := float64(gr[j])
				u2 := u * u
				s[0] += u2 * u2 * u2
				s[1] += u2 * u2
				s[2] += u2
				q[0] += gj * u2 * u
				q[1] += gj * u2
				q[2] += gj * u
				acc[3] += gj
			}
			// N(u) = u·r with r = (mean u² + ε)^−½; for upstream h = a·g,
			// ∂/∂u = a·r·(g − u·r²·mean(g·u)).
			var r, c2 [3]float64
			for i := range r {
				r[i] = 1 / math.Sqrt(s[i]/m+eps)
				acc[i] += q[i] * r[i]
				c2[i] = r[i] * r[i] * q[i] / m
			}
			for j, v := range xr {
				u := float64(v)
				gj := float64(gr[j])
				u2 := u * u
				d3 := a[0] * r[0] * (gj - u2*u*c2[0]) // ∂/∂(x³)
				d2 := a[1] * r[1] * (gj - u2*c2[1])   // ∂/∂(x²)
				d1 := a[2] * r[2] * (gj - u*c2[2])    // ∂/∂x
				dr[j] = sat[T](3*u2*d3 + 2*u*d2 + d1)
			}
		}
		part[c] = acc
	})
	var dw [3]float64
	var db float64
	for _, p := range part {
		dw[0] += p[0]
		dw[1] += p[1]
		dw[2] += p[2]
		db += p[3]
	}
	return dw, db
}
