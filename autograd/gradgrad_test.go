package autograd

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/loomml/loom/tensor"
)

func TestGradGradCheck(t *testing.T) {
	for i, c := range opCases() {
		t.Run(c.name, func(t *testing.T) {
			if err := GradGradCheck(c.f, inputsFor(c, uint64(100+i)), CheckOptions{Float32Tol: 1e-4, Seed: uint64(i)}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// hoCases add to opCases what second derivatives need checked beyond the
// ops' first-order cases: the attention variants by kernel path, norms
// without affine parameters, a Var passed twice to a composed op, a
// CustomComposite op, and the ops that exist as other ops' gradients.
func hoCases() []opCase {
	mask := tensor.Zeros(1, 1, 3, 5)
	mask.F32()[14] = float32(math.Inf(-1)) // a hidden key besides the causal ones
	for i := range 10 {
		mask.F32()[i] = float32((i*3)%4-1) * 0.4
	}
	linX := tensor.RandN(tensor.NewRNG(7), 2, 3, 4)
	square := func(x []*Var) *Var {
		v := x[0].Value
		return CustomComposite("square", tensor.Mul(v, v), func(g *tensor.Tensor) []*tensor.Tensor {
			return []*tensor.Tensor{tensor.MulScalar(tensor.Mul(g, v), 2)}
		}, func(in []*Var) *Var { return Mul(in[0], in[0]) }, x[0])
	}
	return []opCase{
		{"flash_noncausal", [][]int{{2, 2, 3, 4}, {2, 2, 5, 4}, {2, 2, 5, 3}}, nil, func(x []*Var) *Var {
			return Attention(x[0], x[1], x[2], nil, false, 0.5)
		}},
		{"flash_noncausal_gqa", [][]int{{1, 4, 3, 2}, {1, 1, 4, 2}, {1, 1, 4, 3}}, nil, func(x []*Var) *Var {
			return Attention(x[0], x[1], x[2], nil, false, 0.6)
		}},
		{"flash_causal", [][]int{{1, 2, 4, 3}, {1, 2, 4, 3}, {1, 2, 4, 3}}, nil, func(x []*Var) *Var {
			return Attention(x[0], x[1], x[2], nil, true, 0.5)
		}},
		{"sliding_window", [][]int{{1, 2, 5, 2}, {1, 2, 5, 2}, {1, 2, 5, 3}}, nil, func(x []*Var) *Var {
			return SlidingAttention(x[0], x[1], x[2], 2, 0.7)
		}},
		{"sliding_window_gqa_cache", [][]int{{1, 4, 3, 2}, {1, 2, 6, 2}, {1, 2, 6, 2}}, nil, func(x []*Var) *Var {
			return SlidingAttention(x[0], x[1], x[2], 3, 0.7)
		}},
		{"attention_masked_causal_gqa", [][]int{{1, 4, 3, 2}, {1, 2, 5, 2}, {1, 2, 5, 3}}, nil, func(x []*Var) *Var {
			return Attention(x[0], x[1], x[2], mask, true, 0.8)
		}},
		{"self_attention_shared_input", [][]int{{1, 2, 4, 3}}, nil, func(x []*Var) *Var {
			return Attention(x[0], x[0], x[0], nil, true, 0.5)
		}},
		{"layer_norm_plain", [][]int{{3, 4}}, nil, func(x []*Var) *Var { return LayerNorm(x[0], nil, nil, 1e-5) }},
		{"rms_norm_plain", [][]int{{3, 4}}, nil, func(x []*Var) *Var { return RMSNorm(x[0], nil, 1e-6) }},
		{"softmax_axis0", [][]int{{3, 4}}, nil, func(x []*Var) *Var { return Softmax(x[0], 0) }},
		{"log_softmax_axis0", [][]int{{3, 4}}, nil, func(x []*Var) *Var { return LogSoftmax(x[0], 0) }},
		{"squeeze_unsqueeze", [][]int{{3, 1, 2}}, nil, func(x []*Var) *Var {
			return Mul(Unsqueeze(Squeeze(x[0], 1), 0), Unsqueeze(Squeeze(x[0], 1), 0))
		}},
		{"linear_const_input", [][]int{{5, 4}, {5}}, nil, func(x []*Var) *Var {
			return Tanh(Linear(Const(linX.To(x[0].Value.DType())), x[0], x[1]))
		}},
		{"custom_composite", [][]int{{3, 4}}, nil, square},
		{"sum_to", [][]int{{2, 3, 4}}, nil, func(x []*Var) *Var { return Mul(sumTo(x[0], []int{3, 1}), sumTo(x[0], []int{3, 1})) }},
		{"pad", [][]int{{2, 3}}, nil, func(x []*Var) *Var { return padTo(Mul(x[0], x[0]), []int{2, 5}, 1, 1) }},
		{"index_add", [][]int{{3, 2}}, nil, func(x []*Var) *Var { return indexAddTo(Exp(x[0]), []int{4, 2}, 0, []int{2, 0, 2}) }},
		{"scatter_add", [][]int{{3, 2}}, nil, func(x []*Var) *Var {
			return scatterAddTo(Sin(x[0]), []int{3, 4}, 1, []int{0, 3, 3, 3, 1, 0}, []int{3, 2})
		}},
		{"reverse_cumsum", [][]int{{3, 4}}, nil, func(x []*Var) *Var { return reverseCumsum(Mul(x[0], x[0]), 1) }},
		{"erf", [][]int{{3, 4}}, nil, func(x []*Var) *Var { return erf(x[0]) }},
	}
}

func TestGradGradCheckMore(t *testing.T) {
	for i, c := range hoCases() {
		t.Run(c.name, func(t *testing.T) {
			in := inputsFor(c, uint64(300+i))
			if err := GradCheck(c.f, in, CheckOptions{Float32Tol: 1e-4, Seed: uint64(i)}); err != nil {
				t.Fatal(err)
			}
			if err := GradGradCheck(c.f, in, CheckOptions{Float32Tol: 1e-4, Seed: uint64(i)}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestGradGradCheckCatchesWrongSecondDerivative makes sure the checker can
// fail: an op whose backward is right but whose vjp is off is rejected, and
// an op without higher-order support is reported by name.
func TestGradGradCheckCatchesWrongSecondDerivative(t *testing.T) {
	in := []*tensor.Tensor{tensor.RandN(tensor.NewRNG(2), 3, 2)}
	cube := func(vjp higher) func(x []*Var) *Var {
		return func(x []*Var) *Var {
			v := x[0].Value
			return record("cube", tensor.Mul(v, tensor.Mul(v, v)), func(g *tensor.Tensor) []*tensor.Tensor {
				return []*tensor.Tensor{tensor.MulScalar(tensor.Mul(g, tensor.Mul(v, v)), 3)}
			}, vjp, x[0])
		}
	}
	wrong := vjpFunc(func(in []*Var, _, g *Var, _ []bool) []*Var {
		return []*Var{MulScalar(Mul(g, Mul(in[0], in[0])), 3.01)} // should be 3·g·x²
	})
	if err := GradCheck(cube(wrong), in, CheckOptions{}); err != nil {
		t.Fatalf("the first derivative is right, yet GradCheck says %v", err)
	}
	if err := GradGradCheck(cube(wrong), in, CheckOptions{}); err == nil {
		t.Fatal("GradGradCheck accepted a wrong vjp")
	}
	err := GradGradCheck(cube(nil), in, CheckOptions{})
	if err == nil || !strings.Contains(err.Error(), `"cube"`) {
		t.Fatalf("an op without higher-order support gave %v, want an error naming it", err)
	}
}

// TestGradMatchesBackward checks that Grad without CreateGraph returns
// exactly what BackwardWith accumulates (and with it, the same up to
// rounding), leaves Grad fields alone, and frees the graph unless told to
// keep it.
func TestGradMatchesBackward(t *testing.T) {
	b := attnBlock("attn", decoderDims{B: 2, T: 4, D: 8, H: 2, Hkv: 1, F: 12}, nil, nil)
	in := blockInputs(b, 5)
	xs := make([]*Var, len(in))
	for i := range in {
		xs[i] = Leaf(in[i])
	}
	R := tensor.RandN(tensor.NewRNG(6), b.f(xs).Shape()...)
	b.f(xs).BackwardWith(R)
	want := make([]*tensor.Tensor, len(xs))
	for i, x := range xs {
		want[i], x.Grad = x.Grad, nil
	}
	y := b.f(xs)
	for _, o := range []GradOptions{{Seed: Const(R), RetainGraph: true}, {Seed: Const(R), CreateGraph: true}, {Seed: Const(R)}} {
		got, err := Grad(y, xs, o)
		if err != nil {
			t.Fatal(err)
		}
		for i, x := range xs {
			if x.Grad != nil {
				t.Fatalf("Grad set input %d's Grad", i)
			}
			if o.CreateGraph {
				assertClose(t, fmt.Sprintf("CreateGraph gradient of input %d", i), got[i].Value, want[i], 1e-5)
				continue
			}
			if g, w := got[i].Value.F32(), want[i].F32(); !slices.Equal(g, w) {
				t.Fatalf("Grad of input %d differs from Backward's: %v, want %v", i, g, w)
			}
		}
	}
	if _, err := Grad(y, xs, GradOptions{Seed: Const(R)}); err == nil || !strings.Contains(err.Error(), "freed") {
		t.Fatalf("Grad through a freed graph gave %v", err)
	}
}

func TestGradErrorsAndOptions(t *testing.T) {
	x := Leaf(tensor.FromFloat64([]float64{0.3, -1.2, 2}, 3))
	z := Leaf(tensor.FromFloat64([]float64{1, 2}, 2))
	opaque := func(v *Var) *Var {
		return Custom("opaque", tensor.MulScalar(v.Value, 2), func(g *tensor.Tensor) []*tensor.Tensor {
			return []*tensor.Tensor{tensor.MulScalar(g, 2)}
		}, v)
	}
	wantErr := func(what string, err error, substr string) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), substr) {
			t.Fatalf("%s: error %v, want one containing %q", what, err, substr)
		}
	}
	_, err := Grad(Sum(opaque(x), false), []*Var{x}, GradOptions{CreateGraph: true})
	wantErr("CreateGraph through a Custom op", err, `"opaque"`)
	// A Custom op that does not lead to the inputs does not matter.
	y := Add(Sum(Mul(x, x), false), Sum(opaque(z), false))
	if _, err := Grad(y, []*Var{x}, GradOptions{CreateGraph: true}); err != nil {
		t.Fatal(err)
	}
	_, err = Grad(Sum(x, false), []*Var{x, z}, GradOptions{})
	wantErr("unused input", err, "AllowUnused")
	g, err := Grad(Sum(x, false), []*Var{x, z}, GradOptions{AllowUnused: true})
	if err != nil || g[1] != nil || g[0].Value.F64()[2] != 1 {
		t.Fatalf("AllowUnused: %v, %v", g, err)
	}
	_, err = Grad(Sum(x, false), []*Var{Const(z.Value)}, GradOptions{})
	wantErr("a constant input", err, "does not require")
	_, err = Grad(Mul(x, x), []*Var{x}, GradOptions{})
	wantErr("a non-scalar without a seed", err, "Seed")
	_, err = Grad(Mul(x, x), []*Var{x}, GradOptions{Seed: z})
	wantErr("a seed of the wrong shape", err, "shape")
	// Intermediate Vars: the total derivative through them.
	h := Mul(x, x)
	g, err = Grad(Sum(Sin(h), false), []*Var{h, x}, GradOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range x.Value.F64() {
		c := math.Cos(v * v)
		if d0, d1 := g[0].Value.F64()[i], g[1].Value.F64()[i]; math.Abs(d0-c) > 1e-15 || math.Abs(d1-2*v*c) > 1e-15 {
			t.Fatalf("∂/∂h, ∂/∂x = %v, %v; want %v, %v", d0, d1, c, 2*v*c)
		}
	}
}

// TestPINNSecondDerivative differentiates u = sin x twice (and thrice)
// through Grad, as a physics-informed loss does: ∂²u/∂x² + u = 0.
func TestPINNSecondDerivative(t *testing.T) {
	x := Leaf(tensor.Uniform(tensor.NewRNG(3), -math.Pi, math.Pi, 16).To(tensor.Float64))
	d := func(y *Var) *Var {
		g, err := Grad(Sum(y, false), []*Var{x}, GradOptions{CreateGraph: true})
		if err != nil {
			t.Fatal(err)
		}
		return g[0]
	}
	u := Sin(x)
	du := d(u)
	d2u := d(du)
	d3u := d(d2u)
	residual := Add(d2u, u)
	for i, v := range x.Value.F64() {
		if r := residual.Value.F64()[i]; math.Abs(r) > 1e-15 {
			t.Fatalf("u'' + u = %v at x = %v", r, v)
		}
		if got := du.Value.F64()[i]; math.Abs(got-math.Cos(v)) > 1e-15 {
			t.Fatalf("u'(%v) = %v, want cos", v, got)
		}
		if got := d3u.Value.F64()[i]; math.Abs(got+math.Cos(v)) > 1e-15 {
			t.Fatalf("u'''(%v) = %v, want −cos", v, got)
		}
	}
}

// TestThirdOrder checks third derivatives: GradGradCheck of functions that
// are themselves first derivatives made with CreateGraph.
func TestThirdOrder(t *testing.T) {
	r := tensor.NewRNG(8)
	R := tensor.RandN(r, 3, 5)
	cases := map[string]func(h *Var) *Var{
		"gelu_linear":    Gelu,
		"log_softmax":    func(h *Var) *Var { return LogSoftmax(h, -1) },
		"tanh_layernorm": func(h *Var) *Var { return Tanh(LayerNorm(h, nil, nil, 1e-5)) },
	}
	for name, act := range cases {
		t.Run(name, func(t *testing.T) {
			f := func(xs []*Var) *Var {
				y := act(Linear(xs[0], xs[1], nil))
				g, err := Grad(y, xs[:1], GradOptions{Seed: Const(R.To(y.Value.DType())), CreateGraph: true})
				if err != nil {
					panic(err)
				}
				return g[0]
			}
			in := []*tensor.Tensor{tensor.RandN(r, 3, 4), tensor.RandN(r, 5, 4)}
			if err := GradGradCheck(f, in, CheckOptions{Float32Tol: 1e-4}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestForceMatching fits an energy model E(x) so that its forces −∂E/∂x
// match target forces (the example of the package documentation): the loss
// on the forces is differentiated with respect to the parameters through
// the gradient with respect to the positions.
func TestForceMatching(t *testing.T) {
	r := tensor.NewRNG(11)
	const atoms, hidden = 8, 16
	w1 := Param("w1", tensor.MulScalar(tensor.RandN(r, hidden, 3), 0.5))
	b1 := Param("b1", tensor.Zeros(hidden))
	w2 := Param("w2", tensor.MulScalar(tensor.RandN(r, 1, hidden), 0.3))
	params := []*Var{w1, b1, w2}
	energy := func(x *Var) *Var { return Sum(Linear(Tanh(Linear(x, w1, b1)), w2, nil), false) }
	// Targets: forces of E*(x) = Σ ½|x|² + 0.3·sin(2x₀), i.e. −x − 0.6·cos(2x₀)·e₀.
	x := Leaf(tensor.RandN(r, atoms, 3))
	target := tensor.Neg(x.Value)
	for a := range atoms {
		v := target.At(a, 0) - 0.6*math.Cos(2*x.Value.At(a, 0))
		target.Set(v, a, 0)
	}
	loss := func() *Var {
		dE, err := Grad(energy(x), []*Var{x}, GradOptions{CreateGraph: true})
		if err != nil {
			t.Fatal(err)
		}
		return MSELoss(Neg(dE[0]), Const(target))
	}
	// Adam.
	const lr, b1m, b2m = 0.02, 0.9, 0.999
	m, v := make([]*tensor.Tensor, len(params)), make([]*tensor.Tensor, len(params))
	first := loss().Item()
	var last float64
	for step := 1; step <= 300; step++ {
		l := loss()
		last = l.Item()
		l.Backward()
		for i, p := range params {
			if m[i] == nil {
				m[i], v[i] = tensor.ZerosLike(p.Value), tensor.ZerosLike(p.Value)
			}
			m[i] = tensor.Add(tensor.MulScalar(m[i], b1m), tensor.MulScalar(p.Grad, 1-b1m))
			v[i] = tensor.Add(tensor.MulScalar(v[i], b2m), tensor.MulScalar(tensor.Mul(p.Grad, p.Grad), 1-b2m))
			mh := tensor.MulScalar(m[i], 1/(1-math.Pow(b1m, float64(step))))
			vh := tensor.MulScalar(v[i], 1/(1-math.Pow(b2m, float64(step))))
			p.Value = tensor.Sub(p.Value, tensor.MulScalar(tensor.Div(mh, tensor.AddScalar(tensor.Sqrt(vh), 1e-8)), lr))
		}
		ZeroGrads(params)
	}
	if !(last < first/10) {
		t.Fatalf("force loss went from %.4g to %.4g, want a tenfold decrease", first, last)
	}
	t.Logf("force loss %.4g → %.4g", first, last)
}
