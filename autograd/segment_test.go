package autograd

import (
	"math"
	"testing"

	"github.com/loomml/loom/tensor"
)

// TestIndexAdd checks IndexAdd's values against a plain loop: repeated
// positions accumulate, positions no index names stay 0, along dim 0 and
// dim 1.
func TestIndexAdd(t *testing.T) {
	r := tensor.NewRNG(5)
	for _, c := range []struct {
		name  string
		shape []int
		dim   int
		idx   []int
		n     int
	}{
		{"rows", []int{5, 3}, 0, []int{2, 0, 2, 3, 2}, 6},
		{"columns", []int{2, 4}, 1, []int{1, 1, 0, 4}, 5},
		{"no_entries", []int{0, 3}, 0, nil, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := tensor.RandN(r, c.shape...)
			out := IndexAdd(Const(src), c.dim, c.idx, c.n)
			want := make([]float64, out.Value.Numel())
			rows, cols := c.shape[0], c.shape[1]
			for i := range rows {
				for j := range cols {
					v := float64(src.F32()[i*cols+j])
					if c.dim == 0 {
						want[c.idx[i]*cols+j] += v
					} else {
						want[i*c.n+c.idx[j]] += v
					}
				}
			}
			for i, v := range out.Value.Float64s() {
				if math.Abs(v-want[i]) > 1e-6 {
					t.Fatalf("element %d: %v, want %v (shape %v)", i, v, want[i], out.Shape())
				}
			}
		})
	}
}

// TestIndexAddAdjoint checks ⟨IndexAdd(x), y⟩ = ⟨x, IndexSelect(y)⟩: each
// is the other's transpose.
func TestIndexAddAdjoint(t *testing.T) {
	r := tensor.NewRNG(6)
	idx := []int{3, 1, 3, 0, 3, 1, 2}
	x := tensor.RandN(r, len(idx), 4).To(tensor.Float64)
	y := tensor.RandN(r, 5, 4).To(tensor.Float64)
	dot := func(a, b *tensor.Tensor) float64 {
		var s float64
		for i, v := range a.F64() {
			s += v * b.F64()[i]
		}
		return s
	}
	lhs := dot(IndexAdd(Const(x), 0, idx, 5).Value, y)
	rhs := dot(x, IndexSelect(Const(y), 0, idx).Value)
	if math.Abs(lhs-rhs) > 1e-12*math.Abs(lhs) {
		t.Fatalf("⟨IndexAdd(x), y⟩ = %v, ⟨x, IndexSelect(y)⟩ = %v", lhs, rhs)
	}
}

// clampGen draws values spread over (−3, 3) kept 0.05 away from the clamp
// bounds ±1.5, where the derivative jumps.
func clampGen(r *tensor.RNG, shape []int) *tensor.Tensor {
	t := tensor.Uniform(r, -3, 3, shape...)
	d := t.F32()
	for i, v := range d {
		if math.Abs(math.Abs(float64(v))-1.5) < 0.05 {
			d[i] = v * 0.8
		}
	}
	return t
}

// edgeSoftmax (scores scaled so that clampGen keeps them off ±5) is the Graph Transformer's attention normalisation composed
// of these ops: w = exp(clamp(s, −5, 5)) per edge, summed per destination
// node, each edge's weighted message divided by its node's sum.
func edgeSoftmax(s, v *Var, src, dst []int, n int) *Var {
	w := Exp(Clamp(s, -5, 5))                                  // [E, 1]
	num := IndexAdd(Mul(IndexSelect(v, 0, src), w), 0, dst, n) // [n, D]
	den := IndexAdd(w, 0, dst, n)                              // [n, 1]
	return Div(num, AddScalar(den, 1e-6))
}

// segmentCases are the graph ops' derivative checks: first and second
// order, in float64 and float32.
func segmentCases() []opCase {
	src := []int{0, 1, 1, 2, 3, 0}
	dst := []int{1, 0, 2, 1, 0, 3}
	return []opCase{
		{"index_add_rows", [][]int{{5, 3}}, nil, func(x []*Var) *Var {
			return IndexAdd(Mul(x[0], x[0]), 0, []int{2, 0, 2, 3, 2}, 6)
		}},
		{"index_add_columns", [][]int{{2, 4}}, nil, func(x []*Var) *Var {
			return IndexAdd(Sin(x[0]), 1, []int{1, 1, 0, 4}, 5)
		}},
		{"index_select_then_add", [][]int{{4, 3}}, nil, func(x []*Var) *Var {
			return Mul(IndexAdd(IndexSelect(x[0], 0, src), 0, dst, 4), x[0])
		}},
		{"clamp", [][]int{{4, 5}}, []gen{clampGen}, func(x []*Var) *Var { return Mul(Clamp(x[0], -1.5, 1.5), x[0]) }},
		{"edge_softmax", [][]int{{6, 1}, {4, 3}}, []gen{clampGen, normal}, func(x []*Var) *Var {
			return edgeSoftmax(MulScalar(x[0], 5/1.5), x[1], src, dst, 5) // node 4 has no edges: its row is 0
		}},
	}
}

func TestSegmentGradients(t *testing.T) {
	for i, c := range segmentCases() {
		t.Run(c.name, func(t *testing.T) {
			in := inputsFor(c, uint64(500+i))
			if err := GradCheck(c.f, in, CheckOptions{Float32Tol: 1e-4, Seed: uint64(i)}); err != nil {
				t.Fatal(err)
			}
			if err := GradGradCheck(c.f, in, CheckOptions{Float32Tol: 1e-4, Seed: uint64(i)}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestClampValues checks Clamp's values and that its gradient passes at the
// bounds themselves, as torch.clamp's does.
func TestClampValues(t *testing.T) {
	x := Leaf(tensor.FromFloat32([]float32{-7, -5, -1, 0, 5, 6}))
	y := Clamp(x, -5, 5)
	want := []float32{-5, -5, -1, 0, 5, 5}
	for i, v := range y.Value.F32() {
		if v != want[i] {
			t.Fatalf("clamp = %v, want %v", y.Value.F32(), want)
		}
	}
	Sum(y, false).Backward()
	grad := []float32{0, 1, 1, 1, 1, 0}
	for i, v := range x.Grad.F32() {
		if v != grad[i] {
			t.Fatalf("gradient %v, want %v", x.Grad.F32(), grad)
		}
	}
}
