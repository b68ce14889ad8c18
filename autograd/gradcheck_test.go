package autograd

import (
	"math"
	"testing"

	"github.com/loomml/loom/tensor"
)

// gen makes the i-th input of a case.
type gen func(r *tensor.RNG, shape []int) *tensor.Tensor

func normal(r *tensor.RNG, shape []int) *tensor.Tensor { return tensor.RandN(r, shape...) }

// positive draws from [0.5, 2.5): for log, sqrt, rsqrt, pow bases.
func positive(r *tensor.RNG, shape []int) *tensor.Tensor {
	return tensor.Uniform(r, 0.5, 2.5, shape...)
}

// awayFromZero draws normals pushed out of (−0.1, 0.1), for kinks at 0.
func awayFromZero(r *tensor.RNG, shape []int) *tensor.Tensor {
	t := tensor.RandN(r, shape...)
	d := t.F32()
	for i, v := range d {
		if v >= 0 {
			d[i] = v + 0.1
		} else {
			d[i] = v - 0.1
		}
	}
	return t
}

// spread draws a permutation of well-separated values, for max and top-k.
func spread(r *tensor.RNG, shape []int) *tensor.Tensor {
	t := tensor.Zeros(shape...)
	d := t.F32()
	for i, p := range r.Perm(len(d)) {
		d[i] = float32(p)*0.1 - float32(len(d))*0.05
	}
	return t
}

type opCase struct {
	name   string
	shapes [][]int
	gens   []gen // per input; normal when missing
	f      func(x []*Var) *Var
}

func causalMask(T, S int) *tensor.Tensor {
	m := tensor.Zeros(T, S)
	for t := 0; t < T; t++ {
		for s := t + 1; s < S; s++ {
			m.Set(math.Inf(-1), t, s)
		}
	}
	return m
}

// opCases covers every differentiable op; the PyTorch parity tests use
// the same names.
func opCases() []opCase {
	ropeCos, ropeSin := tensor.RopeTables([]int{0, 1, 2, 3, 4}, 4, 10000)
	// These constants are defined by the same formulas in gen_parity.py.
	mask := tensor.Zeros(1, 1, 3, 4)
	drop := tensor.Zeros(3, 4)
	for i := range 12 {
		mask.F32()[i] = float32((i*7)%5-2) * 0.5
		if (i*5)%3 != 0 {
			drop.F32()[i] = 2
		}
	}
	targets := []int{1, 0, 3, IgnoreIndex, 2, 3}
	ids := []int{3, 1, 3, 0, 4, 1}
	cond := tensor.FromFloat32([]float32{1, 0, 0, 1, 1, 0, 1, 0}, 2, 1, 4)
	return []opCase{
		{"add", [][]int{{2, 3, 4}, {3, 1}}, nil, func(x []*Var) *Var { return Add(x[0], x[1]) }},
		{"sub", [][]int{{2, 3, 4}, {4}}, nil, func(x []*Var) *Var { return Sub(x[0], x[1]) }},
		{"mul", [][]int{{2, 1, 4}, {3, 1}}, nil, func(x []*Var) *Var { return Mul(x[0], x[1]) }},
		{"div", [][]int{{2, 3, 4}, {1, 4}}, []gen{normal, positive}, func(x []*Var) *Var { return Div(x[0], x[1]) }},
		{"pow", [][]int{{3, 4}, {4}}, []gen{positive, normal}, func(x []*Var) *Var { return Pow(x[0], x[1]) }},
		{"pow_scalar", [][]int{{3, 4}}, []gen{positive}, func(x []*Var) *Var { return PowScalar(x[0], 2.5) }},
		{"add_scalar", [][]int{{3, 4}}, nil, func(x []*Var) *Var { return AddScalar(x[0], 1.5) }},
		{"mul_scalar", [][]int{{3, 4}}, nil, func(x []*Var) *Var { return MulScalar(x[0], -0.7) }},
		{"exp", [][]int{{3, 4}}, nil, func(x []*Var) *Var { return Exp(x[0]) }},
		{"log", [][]int{{3, 4}}, []gen{positive}, func(x []*Var) *Var { return Log(x[0]) }},
		{"sqrt", [][]int{{3, 4}}, []gen{positive}, func(x []*Var) *Var { return Sqrt(x[0]) }},
		{"rsqrt", [][]int{{3, 4}}, []gen{positive}, func(x []*Var) *Var { return Rsqrt(x[0]) }},
		{"abs", [][]int{{3, 4}}, []gen{awayFromZero}, func(x []*Var) *Var { return Abs(x[0]) }},
		{"sin", [][]int{{3, 4}}, nil, func(x []*Var) *Var { return Sin(x[0]) }},
		{"cos", [][]int{{3, 4}}, nil, func(x []*Var) *Var { return Cos(x[0]) }},
		{"tanh", [][]int{{3, 4}}, nil, func(x []*Var) *Var { return Tanh(x[0]) }},
		{"sigmoid", [][]int{{3, 4}}, nil, func(x []*Var) *Var { return Sigmoid(x[0]) }},
		{"relu", [][]int{{3, 4}}, []gen{awayFromZero}, func(x []*Var) *Var { return Relu(x[0]) }},
		{"gelu", [][]int{{3, 4}}, nil, func(x []*Var) *Var { return Gelu(x[0]) }},
		{"gelu_tanh", [][]int{{3, 4}}, nil, func(x []*Var) *Var { return GeluTanh(x[0]) }},
		{"silu", [][]int{{3, 4}}, nil, func(x []*Var) *Var { return Silu(x[0]) }},
		{"sum", [][]int{{2, 3, 4}}, nil, func(x []*Var) *Var { return Sum(x[0], false, 0, 2) }},
		{"sum_all", [][]int{{2, 3, 4}}, nil, func(x []*Var) *Var { return Sum(x[0], false) }},
		{"mean", [][]int{{2, 3, 4}}, nil, func(x []*Var) *Var { return Mean(x[0], true, 1) }},
		{"max", [][]int{{2, 3, 4}}, []gen{spread}, func(x []*Var) *Var { return Max(x[0], false, -1) }},
		{"var", [][]int{{2, 3, 4}}, nil, func(x []*Var) *Var { return Variance(x[0], 1, false, 1, 2) }},
		{"matmul", [][]int{{2, 3, 4}, {4, 5}}, nil, func(x []*Var) *Var { return MatMul(x[0], x[1], false, false) }},
		{"matmul_nt", [][]int{{2, 3, 4}, {5, 4}}, nil, func(x []*Var) *Var { return MatMul(x[0], x[1], false, true) }},
		{"matmul_tn", [][]int{{2, 4, 3}, {2, 4, 5}}, nil, func(x []*Var) *Var { return MatMul(x[0], x[1], true, false) }},
		{"matmul_tt", [][]int{{4, 3}, {2, 5, 4}}, nil, func(x []*Var) *Var { return MatMul(x[0], x[1], true, true) }},
		{"matmul_bcast", [][]int{{2, 1, 3, 4}, {3, 4, 2}}, nil, func(x []*Var) *Var { return MatMul(x[0], x[1], false, false) }},
		{"softmax", [][]int{{2, 3, 4}}, nil, func(x []*Var) *Var { return Softmax(x[0], 1) }},
		{"log_softmax", [][]int{{2, 3, 4}}, nil, func(x []*Var) *Var { return LogSoftmax(x[0], -1) }},
		{"dropout_seeded", [][]int{{2, 3, 7}}, nil, func(x []*Var) *Var { return DropoutSeeded(x[0], 0.3, tensor.NewRNG(1)) }},
		{"softmax_dropout", [][]int{{2, 3, 7}}, nil, func(x []*Var) *Var { return SoftmaxDropout(x[0], 0.3, tensor.NewRNG(1)) }},
		{"cross_entropy", [][]int{{6, 4}}, nil, func(x []*Var) *Var { return CrossEntropy(x[0], targets, IgnoreIndex, 0) }},
		{"cross_entropy_smooth", [][]int{{2, 3, 4}}, nil, func(x []*Var) *Var { return CrossEntropy(x[0], targets, IgnoreIndex, 0.1) }},
		{"mse", [][]int{{3, 4}, {3, 4}}, nil, func(x []*Var) *Var { return MSELoss(x[0], x[1]) }},
		{"l1", [][]int{{3, 4}, {3, 4}}, []gen{awayFromZero, func(r *tensor.RNG, s []int) *tensor.Tensor { return tensor.Zeros(s...) }}, func(x []*Var) *Var { return L1Loss(x[0], x[1]) }},
		{"layer_norm", [][]int{{2, 3, 5}, {5}, {5}}, nil, func(x []*Var) *Var { return LayerNorm(x[0], x[1], x[2], 1e-5) }},
		{"rms_norm", [][]int{{2, 3, 5}, {5}}, nil, func(x []*Var) *Var { return RMSNorm(x[0], x[1], 1e-6) }},
		{"embedding", [][]int{{5, 3}}, nil, func(x []*Var) *Var { return Embedding(x[0], ids, 2, 3) }},
		{"reshape", [][]int{{2, 6}}, nil, func(x []*Var) *Var { return Reshape(x[0], 3, -1) }},
		{"transpose", [][]int{{2, 3, 4}}, nil, func(x []*Var) *Var { return Mul(Transpose(x[0], 0, 2), Transpose(x[0], 0, 2)) }},
		{"permute", [][]int{{2, 3, 4}}, nil, func(x []*Var) *Var { return Contiguous(Permute(x[0], 2, 0, 1)) }},
		{"expand", [][]int{{3, 1}}, nil, func(x []*Var) *Var { return Mul(Expand(x[0], 2, 3, 4), Expand(x[0], 2, 3, 4)) }},
		{"concat", [][]int{{2, 3}, {2, 2}}, nil, func(x []*Var) *Var { return Concat(1, x[0], x[1]) }},
		{"split", [][]int{{2, 5}}, nil, func(x []*Var) *Var {
			p := Split(x[0], 1, 2, 3)
			return Concat(1, Mul(p[1], p[1]), p[0])
		}},
		{"slice", [][]int{{4, 5}}, nil, func(x []*Var) *Var { return Slice(x[0], 1, 1, -1) }},
		{"index_select", [][]int{{4, 3}}, nil, func(x []*Var) *Var { return IndexSelect(x[0], 0, []int{2, 0, 2}) }},
		{"gather", [][]int{{3, 4}}, nil, func(x []*Var) *Var { return Gather(x[0], 1, []int{0, 3, 3, 1, 2, 0}, []int{3, 2}) }},
		{"where", [][]int{{2, 3, 4}, {4}}, nil, func(x []*Var) *Var { return Where(cond, x[0], x[1]) }},
		{"masked_fill", [][]int{{2, 3, 4}}, nil, func(x []*Var) *Var { return MaskedFill(x[0], cond, -2) }},
		{"dropout", [][]int{{3, 4}}, nil, func(x []*Var) *Var { return DropoutMask(x[0], drop) }},
		{"rope", [][]int{{2, 2, 5, 4}}, nil, func(x []*Var) *Var { return Rope(x[0], ropeCos, ropeSin) }},
		{"attention", [][]int{{2, 2, 3, 4}, {2, 2, 4, 4}, {2, 2, 4, 3}}, nil, func(x []*Var) *Var {
			return Attention(x[0], x[1], x[2], mask, false, 0.5)
		}},
		{"attention_causal_gqa", [][]int{{1, 4, 3, 2}, {1, 2, 5, 2}, {1, 2, 5, 3}}, nil, func(x []*Var) *Var {
			return Attention(x[0], x[1], x[2], nil, true, 0.7)
		}},
		{"topk", [][]int{{3, 5}}, []gen{spread}, func(x []*Var) *Var { v, _ := TopK(x[0], 2, 1, true); return v }},
		{"cumsum", [][]int{{3, 4}}, nil, func(x []*Var) *Var { return Cumsum(x[0], 1) }},
		{"linear", [][]int{{2, 3, 4}, {5, 4}, {5}}, nil, func(x []*Var) *Var { return Linear(x[0], x[1], x[2]) }},
		{"linear_nobias", [][]int{{3, 4}, {5, 4}}, nil, func(x []*Var) *Var { return Linear(x[0], x[1], nil) }},
	}
}

// inputsFor draws the inputs of a case from a seeded RNG.
func inputsFor(c opCase, seed uint64) []*tensor.Tensor {
	r := tensor.NewRNG(seed)
	inputs := make([]*tensor.Tensor, len(c.shapes))
	for j, s := range c.shapes {
		g := gen(normal)
		if j < len(c.gens) && c.gens[j] != nil {
			g = c.gens[j]
		}
		inputs[j] = g(r, s)
	}
	return inputs
}

func TestGradCheck(t *testing.T) {
	for i, c := range opCases() {
		t.Run(c.name, func(t *testing.T) {
			if err := GradCheck(c.f, inputsFor(c, uint64(100+i)), CheckOptions{Float32Tol: 1e-4, Seed: uint64(i)}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestGradCheckCatchesWrongGradient makes sure the checker can fail: an op
// whose backward is off by a factor is rejected, and so is one whose float32
// path disagrees with its float64 path.
func TestGradCheckCatchesWrongGradient(t *testing.T) {
	wrong := func(x []*Var) *Var {
		y := tensor.Mul(x[0].Value, x[0].Value)
		return record("square_wrong", y, func(g *tensor.Tensor) []*tensor.Tensor {
			return []*tensor.Tensor{tensor.Mul(g, x[0].Value)} // should be 2·g·x
		}, nil, x[0])
	}
	in := []*tensor.Tensor{tensor.RandN(tensor.NewRNG(1), 3, 2)}
	if err := GradCheck(wrong, in, CheckOptions{}); err == nil {
		t.Fatal("GradCheck accepted a wrong gradient")
	}
	f32differs := func(x []*Var) *Var {
		y := x[0].Value
		if y.DType() == tensor.Float32 {
			y = tensor.AddScalar(y, 1e-2)
		}
		return record("shifted", y.Clone(), func(g *tensor.Tensor) []*tensor.Tensor { return []*tensor.Tensor{g} }, nil, x[0])
	}
	if err := GradCheck(f32differs, in, CheckOptions{Float32Tol: 1e-4}); err == nil {
		t.Fatal("GradCheck accepted a float32 path that disagrees with float64")
	}
}

func TestBackwardAccumulatesAndFreesGraph(t *testing.T) {
	w := Param("w", tensor.FromFloat32([]float32{1, 2, 3}))
	loss := func() *Var { return Sum(Mul(w, w), false) }
	loss().Backward()
	loss().Backward() // gradients add across calls
	want := []float32{4, 8, 12}
	for i, v := range w.Grad.F32() {
		if v != want[i] {
			t.Fatalf("accumulated grad %v, want %v", w.Grad.F32(), want)
		}
	}
	l := loss()
	l.Backward()
	if l.Op() != "" {
		t.Fatalf("graph not freed: root still has op %q", l.Op())
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a second Backward through a freed graph did not panic")
		}
	}()
	l.Backward()
}

func TestNoGradRecordsNothing(t *testing.T) {
	w := Param("w", tensor.FromFloat32([]float32{1, 2}))
	var y *Var
	NoGrad(func() { y = Mul(w, w) })
	if y.RequiresGrad() || y.Op() != "" {
		t.Fatalf("NoGrad output requires grad=%v op=%q", y.RequiresGrad(), y.Op())
	}
	if z := Mul(w, w); !z.RequiresGrad() || z.Op() != "mul" {
		t.Fatal("recording did not resume after NoGrad")
	}
}

// TestSharedSubgraph checks that a value used twice gets both gradient paths.
func TestSharedSubgraph(t *testing.T) {
	x := Leaf(tensor.FromFloat32([]float32{0.5, -1}))
	h := Exp(x)                                         // used twice below
	loss := Sum(Add(Mul(h, h), MulScalar(h, 3)), false) // d/dx = (2h + 3)·h
	loss.Backward()
	for i, v := range x.Value.F32() {
		h := math.Exp(float64(v))
		want := (2*h + 3) * h
		if got := float64(x.Grad.F32()[i]); math.Abs(got-want) > 1e-5*want {
			t.Fatalf("grad[%d] = %v, want %v", i, got, want)
		}
	}
}
