package autograd

import (
	"fmt"
	"math"
	"testing"

	"github.com/loomml/loom/tensor"
)

// Two small networks composed from this package's ops (as gen_parity.py's
// hograd section writes them in PyTorch), for second derivatives through a
// whole model: input 0 of each is x, the rest are parameters.

// block is a network f(x, θ…) with the names and shapes of its inputs.
type block struct {
	name   string
	inputs []string
	shapes [][]int
	f      func(xs []*Var) *Var
}

// mlpBlock is linear → gated GELU → linear, with biases:
// (gelu(x·Wgᵀ + bg) ⊙ (x·W1ᵀ + b1))·W2ᵀ + b2 for x [3, 4].
func mlpBlock() block {
	return block{"mlp", []string{"x", "w1", "b1", "wg", "bg", "w2", "b2"},
		[][]int{{3, 4}, {6, 4}, {6}, {6, 4}, {6}, {2, 6}, {2}},
		func(xs []*Var) *Var {
			x := xs[0]
			h := Mul(Gelu(Linear(x, xs[3], xs[4])), Linear(x, xs[1], xs[2]))
			return Linear(h, xs[5], xs[6])
		}}
}

// decoderDims sizes attnBlock.
type decoderDims struct{ B, T, D, H, Hkv, F, window int }

// attnBlock is a pre-norm decoder layer: RMSNorm → q, k, v projections →
// rotary embeddings → causal grouped-query attention (sliding-window with
// window > 0) → output projection → residual, then RMSNorm → SwiGLU
// feed-forward → residual. cos and sin are the rotary tables [T, D/H]
// (nil: tensor.RopeTables with θ = 10000).
func attnBlock(name string, d decoderDims, cos, sin *tensor.Tensor) block {
	hd := d.D / d.H
	if cos == nil {
		pos := make([]int, d.T)
		for i := range pos {
			pos[i] = i
		}
		cos, sin = tensor.RopeTables(pos, hd, 10000)
	}
	scale := 1 / math.Sqrt(float64(hd))
	return block{name, []string{"x", "n1", "wq", "wk", "wv", "wo", "n2", "wg", "wu", "wd"},
		[][]int{{d.B, d.T, d.D}, {d.D}, {d.D, d.D}, {d.Hkv * hd, d.D}, {d.Hkv * hd, d.D}, {d.D, d.D}, {d.D}, {d.F, d.D}, {d.F, d.D}, {d.D, d.F}},
		func(xs []*Var) *Var {
			x, n1, wq, wk, wv, wo, n2, wg, wu, wd := xs[0], xs[1], xs[2], xs[3], xs[4], xs[5], xs[6], xs[7], xs[8], xs[9]
			heads := func(v *Var, n int) *Var { return Permute(Reshape(v, d.B, d.T, n, hd), 0, 2, 1, 3) }
			h := RMSNorm(x, n1, 1e-6)
			q := Rope(heads(Linear(h, wq, nil), d.H), cos, sin)
			k := Rope(heads(Linear(h, wk, nil), d.Hkv), cos, sin)
			v := heads(Linear(h, wv, nil), d.Hkv)
			a := SlidingAttention(q, k, v, d.window, scale)
			x = Add(x, Linear(Reshape(Permute(a, 0, 2, 1, 3), d.B, d.T, d.D), wo, nil))
			h = RMSNorm(x, n2, 1e-6)
			return Add(x, Linear(Mul(Silu(Linear(h, wg, nil)), Linear(h, wu, nil)), wd, nil))
		}}
}

// testBlocks are the networks of gen_hograd.py, with its rotary tables
// when given.
func testBlocks(cos, sin *tensor.Tensor) []block {
	small := decoderDims{B: 1, T: 5, D: 8, H: 2, Hkv: 1, F: 12}
	window := small
	window.window = 3
	return []block{mlpBlock(), attnBlock("attn", small, cos, sin), attnBlock("attn_window", window, cos, sin)}
}

// blockInputs draws x ~ N(0, 1) and parameters ~ N(0, 0.5²) (norm weights
// around 1).
func blockInputs(b block, seed uint64) []*tensor.Tensor {
	r := tensor.NewRNG(seed)
	in := make([]*tensor.Tensor, len(b.shapes))
	for i, s := range b.shapes {
		in[i] = tensor.RandN(r, s...)
		if i > 0 {
			in[i] = tensor.MulScalar(in[i], 0.5)
		}
		if b.inputs[i] == "n1" || b.inputs[i] == "n2" {
			in[i] = tensor.AddScalar(in[i], 1)
		}
	}
	return in
}

// secondDerivatives returns, for f = Σ R⊙block(xs) and v, the Hessian-vector
// product ∂²f/∂x²·v and the mixed derivatives ∂/∂θ(∂f/∂x·v) for every
// parameter θ (index i of the result for input i), and ∂f/∂x itself.
func secondDerivatives(t *testing.T, b block, xs []*Var, R, v *tensor.Tensor) (gx *Var, second []*Var) {
	t.Helper()
	g, err := Grad(b.f(xs), xs[:1], GradOptions{Seed: Const(R), CreateGraph: true})
	if err != nil {
		t.Fatal(err)
	}
	s := Sum(Mul(g[0], Const(v)), false)
	second, err = Grad(s, xs, GradOptions{AllowUnused: true}) // the MLP's b2 is unused
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range second {
		if d == nil {
			second[i] = Const(tensor.ZerosLike(xs[i].Value))
		}
	}
	return g[0], second
}

// TestBlockSecondDerivatives checks ∂²f/∂x² (Hessian-vector products) and
// ∂/∂θ(∂f/∂x) for every weight of the MLP and the attention blocks against
// central differences of the ordinary first derivative, and runs
// GradGradCheck over all inputs at once.
func TestBlockSecondDerivatives(t *testing.T) {
	for bi, b := range testBlocks(nil, nil) {
		t.Run(b.name, func(t *testing.T) {
			in := blockInputs(b, uint64(40+bi))
			xs := leaves64(in)
			r := tensor.NewRNG(uint64(90 + bi))
			R := tensor.RandN(r, b.f(xs).Shape()...).To(tensor.Float64)
			v := tensor.RandN(r, in[0].Shape()...).To(tensor.Float64)
			_, second := secondDerivatives(t, b, xs, R, v)
			// ∂f/∂x by the ordinary backward pass.
			gradX := func() *tensor.Tensor {
				g, err := Grad(b.f(xs), xs[:1], GradOptions{Seed: Const(R)})
				if err != nil {
					t.Fatal(err)
				}
				return g[0].Value
			}
			// Hessian-vector product: (∇f(x + εv) − ∇f(x − εv)) / 2ε.
			const eps = 1e-5
			x := xs[0].Value.F64()
			orig := append([]float64(nil), x...)
			for i := range x {
				x[i] = orig[i] + eps*v.F64()[i]
			}
			gp := gradX()
			for i := range x {
				x[i] = orig[i] - eps*v.F64()[i]
			}
			gm := gradX()
			copy(x, orig)
			fd := tensor.MulScalar(tensor.Sub(gp, gm), 1/(2*eps))
			if err := closeTo("Hessian-vector product", second[0].Value, fd, 1e-6); err != nil {
				t.Fatal(err)
			}
			// Mixed derivatives, element by element for every parameter.
			project := func() float64 {
				var s float64
				for i, g := range gradX().F64() {
					s += g * v.F64()[i]
				}
				return s
			}
			analytic := make([]*tensor.Tensor, len(xs)-1)
			for i := range analytic {
				analytic[i] = second[i+1].Value
			}
			if err := compareFD("mixed", "∂/∂θ(∂f/∂x·v)", xs[1:], analytic, project, CheckOptions{}.withDefaults()); err != nil {
				t.Fatal(err)
			}
			if err := GradGradCheck(b.f, in, CheckOptions{Float32Tol: 1e-4, Seed: uint64(bi)}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestHigherOrderParityWithPyTorch compares the first and second derivatives
// of the blocks with torch.autograd.grad(create_graph=True) in float64
// (testdata/hograd.safetensors, written by gen_parity.py): loom in float64
// to within hogradTol64 and in float32 to within hogradTol32, each relative
// to the largest magnitude of the PyTorch tensor.
func TestHigherOrderParityWithPyTorch(t *testing.T) {
	f := openFixtures(t, "testdata/hograd.safetensors")
	load := func(name string) *tensor.Tensor {
		data, shape, err := f.Float64(name)
		if err != nil {
			t.Fatal(err)
		}
		return tensor.FromFloat64(data, shape...)
	}
	for _, b := range testBlocks(load("attn.cos"), load("attn.sin")) {
		for _, dt := range []tensor.DType{tensor.Float64, tensor.Float32} {
			t.Run(fmt.Sprintf("%s/%v", b.name, dt), func(t *testing.T) {
				tol := hogradTol64
				if dt == tensor.Float32 {
					tol = hogradTol32
				}
				xs := make([]*Var, len(b.inputs))
				for i, n := range b.inputs {
					xs[i] = Leaf(load(b.name + "." + n).To(dt))
				}
				R, v := load(b.name+".R").To(dt), load(b.name+".v").To(dt)
				y := b.f(xs)
				assertClose(t, "output", y.Value, load(b.name+".out"), tol)
				gx, second := secondDerivatives(t, b, xs, R, v)
				assertClose(t, "∂f/∂x", gx.Value, load(b.name+".gx"), tol)
				assertClose(t, "∂²f/∂x²·v", second[0].Value, load(b.name+".hvp"), tol)
				for i, n := range b.inputs[1:] {
					assertClose(t, "∂/∂"+n+"(∂f/∂x·v)", second[i+1].Value, load(b.name+".mixed."+n), tol)
				}
			})
		}
	}
}

// Tolerances of TestHigherOrderParityWithPyTorch.
const (
	hogradTol64 = 1e-13
	hogradTol32 = 5e-6
)
