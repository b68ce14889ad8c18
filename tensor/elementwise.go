package tensor

import (
	"fmt"
	"math"

	"github.com/loomml/loom/internal/kernels"
)

// BinaryOp names an elementwise binary operation.
type BinaryOp uint8

// The elementwise binary operations.
const (
	OpAdd BinaryOp = iota
	OpSub
	OpMul
	OpDiv
	OpPow
	OpMax
	OpMin
)

func applyBin[T Float](op BinaryOp, x, y T) T {
	switch op {
	case OpAdd:
		return x + y
	case OpSub:
		return x - y
	case OpMul:
		return x * y
	case OpDiv:
		return x / y
	case OpPow:
		return T(math.Pow(float64(x), float64(y)))
	case OpMax:
		if x != x || x > y {
			return x
		}
		return y
	case OpMin:
		if x != x || x < y {
			return x
		}
		return y
	}
	panic("tensor: unknown binary op")
}

// Binary applies op elementwise with NumPy broadcasting and returns a new
// contiguous tensor. Both operands must have the same dtype.
func Binary(op BinaryOp, a, b *Tensor) *Tensor {
	if a.dtype != b.dtype {
		panic(fmt.Sprintf("tensor: binary op on %v and %v", a.dtype, b.dtype))
	}
	shape, err := BroadcastShapes(a.shape, b.shape)
	if err != nil {
		panic(err.Error())
	}
	out := uninit(a.dtype, shape...)
	if a.dtype == Float32 {
		binaryInto[float32](op, out, a, b)
	} else {
		binaryInto[float64](op, out, a, b)
	}
	return out
}

// binaryInto writes op(a, b) into the contiguous out, whose shape is the
// broadcast of a's and b's.
func binaryInto[T Float](op BinaryOp, out, a, b *Tensor) {
	o := Data[T](out)
	if len(o) == 0 {
		return
	}
	as, bs := storage[T](a), storage[T](b)
	if SameShape(a, b) && a.IsContiguous() && b.IsContiguous() {
		parallelRange(len(o), func(lo, hi int) {
			binRow(op, o[lo:hi], as, a.offset+lo, 1, bs, b.offset+lo, 1)
		})
		return
	}
	ae, be := a.Expand(out.shape...), b.Expand(out.shape...)
	nd := len(out.shape)
	if nd == 0 {
		o[0] = applyBin(op, as[ae.offset], bs[be.offset])
		return
	}
	inner := out.shape[nd-1]
	ia, ib := ae.strides[nd-1], be.strides[nd-1]
	idx := make([]int, nd)
	oa, ob := ae.offset, be.offset
	for i := 0; i < len(o); i += inner {
		binRow(op, o[i:i+inner], as, oa, ia, bs, ob, ib)
		for d := nd - 2; d >= 0; d-- {
			idx[d]++
			oa += ae.strides[d]
			ob += be.strides[d]
			if idx[d] < out.shape[d] {
				break
			}
			oa -= idx[d] * ae.strides[d]
			ob -= idx[d] * be.strides[d]
			idx[d] = 0
		}
	}
}

// binRow computes dst[i] = op(a[ao+i·as], b[bo+i·bs]) with fast loops for
// the common stride patterns of add, sub, mul and div.
func binRow[T Float](op BinaryOp, dst, a []T, ao, as int, b []T, bo, bs int) {
	n := len(dst)
	if as == 1 && bs == 1 && op <= OpMul {
		if d32, ok := any(dst).([]float32); ok {
			kernels.Bin(int(op), d32, any(a).([]float32)[ao:ao+n], any(b).([]float32)[bo:bo+n])
			return
		}
	}
	switch {
	case as == 1 && bs == 1 && op <= OpDiv:
		x, y := a[ao:ao+n], b[bo:bo+n]
		switch op {
		case OpAdd:
			for i := range dst {
				dst[i] = x[i] + y[i]
			}
		case OpSub:
			for i := range dst {
				dst[i] = x[i] - y[i]
			}
		case OpMul:
			for i := range dst {
				dst[i] = x[i] * y[i]
			}
		case OpDiv:
			for i := range dst {
				dst[i] = x[i] / y[i]
			}
		}
	case as == 1 && bs == 0 && op <= OpDiv:
		x, s := a[ao:ao+n], b[bo]
		switch op {
		case OpAdd:
			for i := range dst {
				dst[i] = x[i] + s
			}
		case OpSub:
			for i := range dst {
				dst[i] = x[i] - s
			}
		case OpMul:
			for i := range dst {
				dst[i] = x[i] * s
			}
		case OpDiv:
			for i := range dst {
				dst[i] = x[i] / s
			}
		}
	default:
		for i := range dst {
			dst[i] = applyBin(op, a[ao+i*as], b[bo+i*bs])
		}
	}
}

// Add returns a + b with broadcasting.
func Add(a, b *Tensor) *Tensor { return Binary(OpAdd, a, b) }

// Sub returns a − b with broadcasting.
func Sub(a, b *Tensor) *Tensor { return Binary(OpSub, a, b) }

// Mul returns a · b with broadcasting.
func Mul(a, b *Tensor) *Tensor { return Binary(OpMul, a, b) }

// Div returns a / b with broadcasting.
func Div(a, b *Tensor) *Tensor { return Binary(OpDiv, a, b) }

// Pow returns a^b elementwise with broadcasting.
func Pow(a, b *Tensor) *Tensor { return Binary(OpPow, a, b) }

// Maximum returns the elementwise maximum (NaN propagates).
func Maximum(a, b *Tensor) *Tensor { return Binary(OpMax, a, b) }

// Minimum returns the elementwise minimum (NaN propagates).
func Minimum(a, b *Tensor) *Tensor { return Binary(OpMin, a, b) }

// ScalarLike returns a scalar tensor with x's dtype holding v.
func ScalarLike(x *Tensor, v float64) *Tensor {
	if x.dtype == Float64 {
		return FromFloat64([]float64{v})
	}
	return Scalar(float32(v))
}

// AddScalar returns x + s.
func AddScalar(x *Tensor, s float64) *Tensor { return Add(x, ScalarLike(x, s)) }

// MulScalar returns x · s.
func MulScalar(x *Tensor, s float64) *Tensor { return Mul(x, ScalarLike(x, s)) }

// AddInPlace adds src (broadcast to dst's shape) into the contiguous dst.
func AddInPlace(dst, src *Tensor) {
	if dst.dtype == Float32 {
		addInPlace[float32](dst, src)
	} else {
		addInPlace[float64](dst, src)
	}
}

func addInPlace[T Float](dst, src *Tensor) {
	d := Data[T](dst)
	if d32, ok := any(d).([]float32); ok && SameShape(dst, src) && src.IsContiguous() {
		kernels.Axpy(d32, src.F32(), 1)
		return
	}
	if SameShape(dst, src) && src.IsContiguous() {
		s := Data[T](src)
		for i := range d {
			d[i] += s[i]
		}
		return
	}
	binaryInto[T](OpAdd, dst, dst, src)
}

// Map applies f elementwise and returns a new contiguous tensor; f32 is used
// for float32 tensors and f64 for float64 ones.
func Map(x *Tensor, f32 func(float32) float32, f64 func(float64) float64) *Tensor {
	c := x.Contiguous()
	out := uninit(x.dtype, x.shape...)
	if x.dtype == Float32 {
		o := out.f32
		for i, v := range c.F32() {
			o[i] = f32(v)
		}
	} else {
		o := out.f64
		for i, v := range c.F64() {
			o[i] = f64(v)
		}
	}
	return out
}

// Scalar functions, generic so that float32 and float64 share one definition.
// float32 results are computed in float64 and rounded once.

func expF[T Float](x T) T   { return T(math.Exp(float64(x))) }
func logF[T Float](x T) T   { return T(math.Log(float64(x))) }
func sqrtF[T Float](x T) T  { return T(math.Sqrt(float64(x))) }
func rsqrtF[T Float](x T) T { return T(1 / math.Sqrt(float64(x))) }
func absF[T Float](x T) T   { return T(math.Abs(float64(x))) }
func sinF[T Float](x T) T   { return T(math.Sin(float64(x))) }
func cosF[T Float](x T) T   { return T(math.Cos(float64(x))) }
func tanhF[T Float](x T) T  { return T(math.Tanh(float64(x))) }
func negF[T Float](x T) T   { return -x }
func reluF[T Float](x T) T {
	if x > 0 {
		return x
	}
	if x != x {
		return x
	}
	return 0
}

// SigmoidF is the logistic function, stable for large |x|.
func SigmoidF[T Float](x T) T { return T(sigmoid64(float64(x))) }

func sigmoid64(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// GeluF is the exact GELU, x·Φ(x).
func GeluF[T Float](x T) T {
	v := float64(x)
	return T(0.5 * v * (1 + math.Erf(v/math.Sqrt2)))
}

// geluTanhC is √(2/π).
const geluTanhC = 0.7978845608028654

// GeluTanhF is the tanh approximation of GELU used by GPT-2.
func GeluTanhF[T Float](x T) T {
	v := float64(x)
	return T(0.5 * v * (1 + math.Tanh(geluTanhC*(v+0.044715*v*v*v))))
}

// SiluF is x·σ(x).
func SiluF[T Float](x T) T {
	v := float64(x)
	return T(v * sigmoid64(v))
}

// Exp returns eˣ elementwise.
func Exp(x *Tensor) *Tensor {
	return vec32(x, func(dst, src []float32) { kernels.ExpSum(dst, src, 1, 0) }, expF[float32], expF[float64])
}

// Log returns the natural logarithm elementwise.
func Log(x *Tensor) *Tensor { return Map(x, logF[float32], logF[float64]) }

// Sqrt returns √x elementwise.
func Sqrt(x *Tensor) *Tensor { return Map(x, sqrtF[float32], sqrtF[float64]) }

// Rsqrt returns 1/√x elementwise.
func Rsqrt(x *Tensor) *Tensor { return Map(x, rsqrtF[float32], rsqrtF[float64]) }

// Abs returns |x| elementwise.
func Abs(x *Tensor) *Tensor { return Map(x, absF[float32], absF[float64]) }

// Sin returns sin x elementwise.
func Sin(x *Tensor) *Tensor { return Map(x, sinF[float32], sinF[float64]) }

// Cos returns cos x elementwise.
func Cos(x *Tensor) *Tensor { return Map(x, cosF[float32], cosF[float64]) }

// Tanh returns tanh x elementwise.
func Tanh(x *Tensor) *Tensor { return Map(x, tanhF[float32], tanhF[float64]) }

// Neg returns −x elementwise.
func Neg(x *Tensor) *Tensor { return Map(x, negF[float32], negF[float64]) }

// Sigmoid returns 1/(1+e⁻ˣ) elementwise.
func Sigmoid(x *Tensor) *Tensor { return Map(x, SigmoidF[float32], SigmoidF[float64]) }

// Relu returns max(x, 0) elementwise (NaN propagates).
func Relu(x *Tensor) *Tensor { return Map(x, reluF[float32], reluF[float64]) }

// Gelu returns the exact GELU elementwise.
func Gelu(x *Tensor) *Tensor { return vec32(x, kernels.Gelu, GeluF[float32], GeluF[float64]) }

// GeluGrad returns g·GELU'(x) (exact GELU) for same-shaped x and g.
func GeluGrad(x, g *Tensor) *Tensor {
	return grad32(x, g, kernels.GeluGrad, func(x, g float64) float64 {
		cdf := 0.5 * (1 + math.Erf(x/math.Sqrt2))
		return g * (cdf + x*math.Exp(-0.5*x*x)/math.Sqrt(2*math.Pi))
	})
}

// GeluTanh returns the tanh-approximated GELU elementwise.
func GeluTanh(x *Tensor) *Tensor {
	return vec32(x, kernels.GeluTanh, GeluTanhF[float32], GeluTanhF[float64])
}

// vec32 applies the vector kernel k to float32 tensors, in chunks run in
// parallel (elementwise, so the result does not depend on the split), and
// the scalar functions otherwise.
func vec32(x *Tensor, k func(dst, src []float32), f32 func(float32) float32, f64 func(float64) float64) *Tensor {
	if x.dtype != Float32 {
		return Map(x, f32, f64)
	}
	out := uninit(Float32, x.shape...)
	src := x.Contiguous().F32()
	parallelRange(len(src), func(lo, hi int) { k(out.f32[lo:hi], src[lo:hi]) })
	return out
}

// Silu returns x·σ(x) elementwise.
func Silu(x *Tensor) *Tensor { return vec32(x, kernels.Silu, SiluF[float32], SiluF[float64]) }

// GeluTanhGrad returns g·GELU_tanh'(x) for same-shaped x and g.
func GeluTanhGrad(x, g *Tensor) *Tensor {
	return grad32(x, g, kernels.GeluTanhGrad, func(x, g float64) float64 {
		t := math.Tanh(geluTanhC * (x + 0.044715*x*x*x))
		return g * (0.5*(1+t) + 0.5*x*(1-t*t)*geluTanhC*(1+3*0.044715*x*x))
	})
}

// SiluGrad returns g·SiLU'(x) for same-shaped x and g.
func SiluGrad(x, g *Tensor) *Tensor {
	return grad32(x, g, kernels.SiluGrad, func(x, g float64) float64 {
		s := sigmoid64(x)
		return g * s * (1 + x*(1-s))
	})
}

func grad32(x, g *Tensor, k func(dst, x, g []float32), f func(x, g float64) float64) *Tensor {
	if x.dtype != Float32 {
		return Zip(f, x, g)
	}
	if !SameShape(x, g) {
		panic(fmt.Sprintf("tensor: gradient shape %v for input %v", g.shape, x.shape))
	}
	out := uninit(Float32, x.shape...)
	xs, gs := x.Contiguous().F32(), g.Contiguous().F32()
	parallelRange(len(xs), func(lo, hi int) { k(out.f32[lo:hi], xs[lo:hi], gs[lo:hi]) })
	return out
}

// PowScalar returns xᵖ elementwise.
func PowScalar(x *Tensor, p float64) *Tensor {
	switch p {
	case 1:
		return x.Clone()
	case 2:
		return Mul(x, x)
	}
	return Map(x,
		func(v float32) float32 { return float32(math.Pow(float64(v), p)) },
		func(v float64) float64 { return math.Pow(v, p) })
}

// Zip returns f(a, b) elementwise for tensors of the same shape and dtype,
// evaluating f in float64 (float32 results are rounded once).
func Zip(f func(a, b float64) float64, a, b *Tensor) *Tensor {
	return zipN(func(v []float64) float64 { return f(v[0], v[1]) }, a, b)
}

// Zip3 returns f(a, b, c) elementwise for tensors of the same shape and dtype.
func Zip3(f func(a, b, c float64) float64, a, b, c *Tensor) *Tensor {
	return zipN(func(v []float64) float64 { return f(v[0], v[1], v[2]) }, a, b, c)
}

func zipN(f func([]float64) float64, xs ...*Tensor) *Tensor {
	for _, x := range xs[1:] {
		if !SameShape(x, xs[0]) || x.dtype != xs[0].dtype {
			panic(fmt.Sprintf("tensor: Zip of %v %v and %v %v", xs[0].dtype, xs[0].shape, x.dtype, x.shape))
		}
	}
	out := uninit(xs[0].dtype, xs[0].shape...)
	n := out.Numel()
	args := make([]float64, len(xs))
	if out.dtype == Float32 {
		src := make([][]float32, len(xs))
		for i, x := range xs {
			src[i] = x.Contiguous().F32()
		}
		for j := 0; j < n; j++ {
			for i := range src {
				args[i] = float64(src[i][j])
			}
			out.f32[j] = float32(f(args))
		}
		return out
	}
	src := make([][]float64, len(xs))
	for i, x := range xs {
		src[i] = x.Contiguous().F64()
	}
	for j := 0; j < n; j++ {
		for i := range src {
			args[i] = src[i][j]
		}
		out.f64[j] = f(args)
	}
	return out
}

// parallelChunk is the number of elements below which elementwise work
// stays on one goroutine.
const parallelChunk = 1 << 15

// parallelRange calls f on consecutive chunks of [0, n), on several
// goroutines when n is large. Each element is written by exactly one call,
// so results do not depend on the thread count.
func parallelRange(n int, f func(lo, hi int)) {
	if n <= parallelChunk || kernels.Threads() == 1 {
		f(0, n)
		return
	}
	chunks := (n + parallelChunk - 1) / parallelChunk
	kernels.Parallel(chunks, func(c int) { f(c*parallelChunk, min(n, (c+1)*parallelChunk)) })
}
