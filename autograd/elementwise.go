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

// Add returns a + b (broadcasting).
func Add(a, b *Var) *Var {
	return record("add", tensor.Add(a.Value, b.Value), func(g *tensor.Tensor) []*tensor.Tensor {
		return grads2(a, b, func() *tensor.Tensor { return g }, func() *tensor.Tensor { return g })
	}, a, b)
}

// Sub returns a − b (broadcasting).
func Sub(a, b *Var) *Var {
	return record("sub", tensor.Sub(a.Value, b.Value), func(g *tensor.Tensor) []*tensor.Tensor {
		return grads2(a, b, func() *tensor.Tensor { return g }, func() *tensor.Tensor { return tensor.Neg(g) })
	}, a, b)
}

// Mul returns a · b (broadcasting).
func Mul(a, b *Var) *Var {
	return record("mul", tensor.Mul(a.Value, b.Value), func(g *tensor.Tensor) []*tensor.Tensor {
		return grads2(a, b,
			func() *tensor.Tensor { return tensor.Mul(g, b.Value) },
			func() *tensor.Tensor { return tensor.Mul(g, a.Value) })
	}, a, b)
}

// Div returns a / b (broadcasting).
func Div(a, b *Var) *Var {
	out := tensor.Div(a.Value, b.Value)
	return record("div", out, func(g *tensor.Tensor) []*tensor.Tensor {
		return grads2(a, b,
			func() *tensor.Tensor { return tensor.Div(g, b.Value) },
			func() *tensor.Tensor { return tensor.Neg(tensor.Div(tensor.Mul(g, out), b.Value)) })
	}, a, b)
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
	}, a, b)
}

// AddScalar returns x + s.
func AddScalar(x *Var, s float64) *Var {
	return record("add_scalar", tensor.AddScalar(x.Value, s), func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{g}
	}, x)
}

// MulScalar returns x · s.
func MulScalar(x *Var, s float64) *Var {
	return record("mul_scalar", tensor.MulScalar(x.Value, s), func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.MulScalar(g, s)}
	}, x)
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
	}, x)
}

// unary records an elementwise op y = f(x) whose derivative is given by
// df(x, y) (the backward multiplies it by the upstream gradient).
func unary(op string, x *Var, y *tensor.Tensor, df func(x, y float64) float64) *Var {
	return record(op, y, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.Zip3(func(x, y, g float64) float64 { return g * df(x, y) }, x.Value.Contiguous(), y, g)}
	}, x)
}

// Exp returns eˣ.
func Exp(x *Var) *Var {
	return unary("exp", x, tensor.Exp(x.Value), func(_, y float64) float64 { return y })
}

// Log returns ln x.
func Log(x *Var) *Var {
	return unary("log", x, tensor.Log(x.Value), func(x, _ float64) float64 { return 1 / x })
}

// Sqrt returns √x.
func Sqrt(x *Var) *Var {
	return unary("sqrt", x, tensor.Sqrt(x.Value), func(_, y float64) float64 { return 0.5 / y })
}

// Rsqrt returns 1/√x.
func Rsqrt(x *Var) *Var {
	return unary("rsqrt", x, tensor.Rsqrt(x.Value), func(_, y float64) float64 { return -0.5 * y * y * y })
}

// Abs returns |x|; its gradient at 0 is 0.
func Abs(x *Var) *Var {
	return unary("abs", x, tensor.Abs(x.Value), func(x, _ float64) float64 { return sign(x) })
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
	return unary("sin", x, tensor.Sin(x.Value), func(x, _ float64) float64 { return math.Cos(x) })
}

// Cos returns cos x.
func Cos(x *Var) *Var {
	return unary("cos", x, tensor.Cos(x.Value), func(x, _ float64) float64 { return -math.Sin(x) })
}

// Tanh returns tanh x.
func Tanh(x *Var) *Var {
	return unary("tanh", x, tensor.Tanh(x.Value), func(_, y float64) float64 { return 1 - y*y })
}

// Sigmoid returns 1/(1+e⁻ˣ).
func Sigmoid(x *Var) *Var {
	return unary("sigmoid", x, tensor.Sigmoid(x.Value), func(_, y float64) float64 { return y * (1 - y) })
}

// Relu returns max(x, 0); its gradient at 0 is 0.
func Relu(x *Var) *Var {
	return unary("relu", x, tensor.Relu(x.Value), func(x, _ float64) float64 {
		if x > 0 {
			return 1
		}
		return 0
	})
}

// Gelu returns the exact GELU x·Φ(x).
func Gelu(x *Var) *Var {
	return record("gelu", tensor.Gelu(x.Value), func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.GeluGrad(x.Value, g)}
	}, x)
}

// GeluTanh returns the tanh approximation of GELU.
func GeluTanh(x *Var) *Var {
	return record("gelu_tanh", tensor.GeluTanh(x.Value), func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.GeluTanhGrad(x.Value, g)}
	}, x)
}

// Silu returns x·σ(x).
func Silu(x *Var) *Var {
	return record("silu", tensor.Silu(x.Value), func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.SiluGrad(x.Value, g)}
	}, x)
}
