package autograd

import (
	"math"

	"github.com/loomml/loom/tensor"
)

// Elementwise operations with broadcasting. The gradient of a broadcast
// operand is the upstream gradient summed back to the operand's shape.

// grads2 returns the per-input gradients of a binary op, computing only those
// needed.
func grads2(a, b *Var, da, db func() *tensor.Tensor) []*tensor.Tensor {
	out := make([]*tensor.Tensor, 2)
	if a.requiresGrad {
		out[0] = tensor.SumTo(da(), a.Shape())
	}
	if b.requiresGrad {
		out[1] = tensor.SumTo(db(), b.Shape())
	}
	return out
}

// vgrads2 is grads2 for a binary op's vjp.
func vgrads2(in []*Var, need []bool, da, db func() *Var) []*Var {
	out := make([]*Var, 2)
	if need[0] {
		out[0] = sumTo(da(), in[0].Shape())
	}
	if need[1] {
		out[1] = sumTo(db(), in[1].Shape())
	}
	return out
}

// Add returns a + b (broadcasting).
func Add(a, b *Var) *Var {
	return record("add", tensor.Add(a.Value, b.Value), func(g *tensor.Tensor) []*tensor.Tensor {
		return grads2(a, b, func() *tensor.Tensor { return g }, func() *tensor.Tensor { return g })
	}, vjpFunc(addVJP), a, b)
}

func addVJP(in []*Var, _, g *Var, need []bool) []*Var {
	return vgrads2(in, need, func() *Var { return g }, func() *Var { return g })
}

// Sub returns a − b (broadcasting).
func Sub(a, b *Var) *Var {
	return record("sub", tensor.Sub(a.Value, b.Value), func(g *tensor.Tensor) []*tensor.Tensor {
		return grads2(a, b, func() *tensor.Tensor { return g }, func() *tensor.Tensor { return tensor.Neg(g) })
	}, vjpFunc(subVJP), a, b)
}

func subVJP(in []*Var, _, g *Var, need []bool) []*Var {
	return vgrads2(in, need, func() *Var { return g }, func() *Var { return Neg(g) })
}

// Mul returns a · b (broadcasting).
func Mul(a, b *Var) *Var {
	return record("mul", tensor.Mul(a.Value, b.Value), func(g *tensor.Tensor) []*tensor.Tensor {
		return grads2(a, b,
			func() *tensor.Tensor { return tensor.Mul(g, b.Value) },
			func() *tensor.Tensor { return tensor.Mul(g, a.Value) })
	}, vjpFunc(mulVJP), a, b)
}

func mulVJP(in []*Var, _, g *Var, need []bool) []*Var {
	return vgrads2(in, need, func() *Var { return Mul(g, in[1]) }, func() *Var { return Mul(g, in[0]) })
}

// Div returns a / b (broadcasting).
func Div(a, b *Var) *Var {
	out := tensor.Div(a.Value, b.Value)
	return record("div", out, func(g *tensor.Tensor) []*tensor.Tensor {
		return grads2(a, b,
			func() *tensor.Tensor { return tensor.Div(g, b.Value) },
			func() *tensor.Tensor { return tensor.Neg(tensor.Div(tensor.Mul(g, out), b.Value)) })
	}, vjpFunc(divVJP), a, b)
}

func divVJP(in []*Var, out, g *Var, need []bool) []*Var {
	return vgrads2(in, need,
		func() *Var { return Div(g, in[1]) },
		func() *Var { return Neg(Div(Mul(g, out), in[1])) })
}

// Pow returns a^b elementwise (broadcasting). The gradient with respect to b
// is taken as 0 where a = 0, as PyTorch does.
func Pow(a, b *Var) *Var {
	out := tensor.Pow(a.Value, b.Value)
	return record("pow", out, func(g *tensor.Tensor) []*tensor.Tensor {
		return grads2(a, b,
			func() *tensor.Tensor {
				// g · b · a^(b−1)
				ab := tensor.Pow(a.Value, tensor.AddScalar(b.Value, -1))
				return tensor.Mul(tensor.Mul(g, b.Value), ab)
			},
			func() *tensor.Tensor {
				// g · a^b · ln a, 0 where a = 0
				la := tensor.Map(a.Value.Expand(out.Shape()...),
					func(v float32) float32 {
						if v == 0 {
							return 0
						}
						return float32(math.Log(float64(v)))
					},
					func(v float64) float64 {
						if v == 0 {
							return 0
						}
						return math.Log(v)
					})
				return tensor.Mul(tensor.Mul(g, out), la)
			})
	}, vjpFunc(powVJP), a, b)
}

func powVJP(in []*Var, out, g *Var, need []bool) []*Var {
	a, b := in[0], in[1]
	return vgrads2(in, need,
		func() *Var { return Mul(Mul(g, b), Pow(a, AddScalar(b, -1))) },
		func() *Var {
			// ln a, with a = 0 replaced by 1 so that the term is 0 there
			zero := tensor.Map(a.Value, func(v float32) float32 { return b2f[float32](v == 0) }, func(v float64) float64 { return b2f[float64](v == 0) })
			la := Log(Where(zero, Const(tensor.ScalarLike(a.Value, 1)), a))
			return Mul(Mul(g, out), la)
		})
}

// b2f is 1 for true and 0 for false.
func b2f[T float32 | float64](b bool) T {
	if b {
		return 1
	}
	return 0
}

// AddScalar returns x + s.
func AddScalar(x *Var, s float64) *Var {
	return record("add_scalar", tensor.AddScalar(x.Value, s), func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{g}
	}, vjpFunc(identityVJP), x)
}

// MulScalar returns x · s.
func MulScalar(x *Var, s float64) *Var {
	return record("mul_scalar", tensor.MulScalar(x.Value, s), func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.MulScalar(g, s)}
	}, linear(func(g *Var) *Var { return MulScalar(g, s) }), x)
}

// Neg returns −x.
func Neg(x *Var) *Var { return MulScalar(x, -1) }

// PowScalar returns xᵖ elementwise.
func PowScalar(x *Var, p float64) *Var {
	return record("pow_scalar", tensor.PowScalar(x.Value, p), func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.Zip(func(x, g float64) float64 {
			if p == 0 {
				return 0
			}
			return g * p * math.Pow(x, p-1)
		}, x.Value.Contiguous(), g)}
	}, vjpFunc(func(in []*Var, _, g *Var, _ []bool) []*Var {
		if p == 0 {
			return []*Var{MulScalar(g, 0)}
		}
		return []*Var{MulScalar(Mul(g, PowScalar(in[0], p-1)), p)}
	}), x)
}

// unary records an elementwise op y = f(x) whose derivative is given by
// df(x, y) (the backward multiplies it by the upstream gradient) and, in
// differentiable operations, by vjp.
func unary(op string, x *Var, y *tensor.Tensor, df func(x, y float64) float64, vjp vjpFunc) *Var {
	return record(op, y, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.Zip3(func(x, y, g float64) float64 { return g * df(x, y) }, x.Value.Contiguous(), y, g)}
	}, vjpFunc(vjp), x)
}

// constDerivative is the vjp of an elementwise op whose derivative d is
// piecewise constant (its own derivative is 0 where it exists).
func constDerivative(d func(x float64) float64) vjpFunc {
	return func(in []*Var, _, g *Var, _ []bool) []*Var {
		return []*Var{Mul(g, Const(tensor.Map(in[0].Value, func(v float32) float32 { return float32(d(float64(v))) }, d)))}
	}
}

var (
	absVJP  = constDerivative(sign)
	reluVJP = constDerivative(step)
)

// The vjps of the other elementwise ops: g times the derivative, written in
// differentiable operations of x = in[0] and y = out.

func expVJP(_ []*Var, y, g *Var, _ []bool) []*Var { return []*Var{Mul(g, y)} }

func logVJP(in []*Var, _, g *Var, _ []bool) []*Var { return []*Var{Div(g, in[0])} }

// ½·g/y
func sqrtVJP(_ []*Var, y, g *Var, _ []bool) []*Var { return []*Var{Div(MulScalar(g, 0.5), y)} }

// −½·g·y³
func rsqrtVJP(_ []*Var, y, g *Var, _ []bool) []*Var {
	return []*Var{MulScalar(Mul(g, PowScalar(y, 3)), -0.5)}
}

func sinVJP(in []*Var, _, g *Var, _ []bool) []*Var { return []*Var{Mul(g, Cos(in[0]))} }

func cosVJP(in []*Var, _, g *Var, _ []bool) []*Var { return []*Var{Neg(Mul(g, Sin(in[0])))} }

// g·(1 − y²)
func tanhVJP(_ []*Var, y, g *Var, _ []bool) []*Var {
	return []*Var{Mul(g, AddScalar(Neg(Mul(y, y)), 1))}
}

// g·y·(1 − y)
func sigmoidVJP(_ []*Var, y, g *Var, _ []bool) []*Var {
	return []*Var{Mul(g, Mul(y, AddScalar(Neg(y), 1)))}
}

// g·2/√π·exp(−x²)
func erfVJP(in []*Var, _, g *Var, _ []bool) []*Var {
	x := in[0]
	return []*Var{Mul(g, MulScalar(Exp(Neg(Mul(x, x))), 2/math.SqrtPi))}
}

// Exp returns eˣ.
func Exp(x *Var) *Var {
	return unary("exp", x, tensor.Exp(x.Value), func(_, y float64) float64 { return y }, expVJP)
}

// Log returns ln x.
func Log(x *Var) *Var {
	return unary("log", x, tensor.Log(x.Value), func(x, _ float64) float64 { return 1 / x }, logVJP)
}

// Sqrt returns √x.
func Sqrt(x *Var) *Var {
	return unary("sqrt", x, tensor.Sqrt(x.Value), func(_, y float64) float64 { return 0.5 / y }, sqrtVJP)
}

// Rsqrt returns 1/√x.
func Rsqrt(x *Var) *Var {
	return unary("rsqrt", x, tensor.Rsqrt(x.Value), func(_, y float64) float64 { return -0.5 * y * y * y }, rsqrtVJP)
}

// Abs returns |x|; its gradient at 0 is 0.
func Abs(x *Var) *Var {
	return unary("abs", x, tensor.Abs(x.Value), func(x, _ float64) float64 { return sign(x) }, absVJP)
}

func sign(x float64) float64 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}

// Sin returns sin x.
func Sin(x *Var) *Var {
	return unary("sin", x, tensor.Sin(x.Value), func(x, _ float64) float64 { return math.Cos(x) }, sinVJP)
}

// Cos returns cos x.
func Cos(x *Var) *Var {
	return unary("cos", x, tensor.Cos(x.Value), func(x, _ float64) float64 { return -math.Sin(x) }, cosVJP)
}

// Tanh returns tanh x.
func Tanh(x *Var) *Var {
	return unary("tanh", x, tensor.Tanh(x.Value), func(_, y float64) float64 { return 1 - y*y }, tanhVJP)
}

// Sigmoid returns 1/(1+e⁻ˣ).
func Sigmoid(x *Var) *Var {
	return unary("sigmoid", x, tensor.Sigmoid(x.Value), func(_, y float64) float64 { return y * (1 - y) }, sigmoidVJP)
}

// Relu returns max(x, 0); its gradient at 0 is 0.
func Relu(x *Var) *Var {
	return unary("relu", x, tensor.Relu(x.Value), func(x, _ float64) float64 { return step(x) }, reluVJP)
}

// step is relu's derivative (0 at 0).
func step(x float64) float64 {
	if x > 0 {
		return 1
	}
	return 0
}

// Gelu returns the exact GELU x·Φ(x).
func Gelu(x *Var) *Var {
	return record("gelu", tensor.Gelu(x.Value), func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.GeluGrad(x.Value, g)}
	}, composed(geluComposed), x)
}

// geluComposed is ½·x·(1 + erf(x/√2)).
func geluComposed(in []*Var) *Var {
	x := in[0]
	return Mul(MulScalar(x, 0.5), AddScalar(erf(MulScalar(x, 1/math.Sqrt2)), 1))
}

// GeluTanh returns the tanh approximation of GELU.
func GeluTanh(x *Var) *Var {
	return record("gelu_tanh", tensor.GeluTanh(x.Value), func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.GeluTanhGrad(x.Value, g)}
	}, composed(geluTanhComposed), x)
}

// geluTanhComposed is ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
func geluTanhComposed(in []*Var) *Var {
	x := in[0]
	inner := MulScalar(Add(x, MulScalar(Mul(x, Mul(x, x)), 0.044715)), math.Sqrt(2/math.Pi))
	return Mul(MulScalar(x, 0.5), AddScalar(Tanh(inner), 1))
}

// Silu returns x·σ(x).
func Silu(x *Var) *Var {
	return record("silu", tensor.Silu(x.Value), func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.SiluGrad(x.Value, g)}
	}, composed(siluComposed), x)
}

// siluComposed is x·σ(x).
func siluComposed(in []*Var) *Var { return Mul(in[0], Sigmoid(in[0])) }
