package guidance

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/tensor"
)

type ckaFixture struct {
	Cases []struct {
		N, P, Q         int
		X, Y            []float64
		Plain, Unbiased float64
	}
	Minibatch struct {
		N, P, Q int
		Xs, Ys  [][]float64
		Value   float64
	}
}

func loadFixture(t *testing.T) ckaFixture {
	t.Helper()
	b, err := os.ReadFile("testdata/cka.json")
	if err != nil {
		t.Fatal(err)
	}
	var f ckaFixture
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Cases) == 0 {
		t.Fatal("no cases in testdata/cka.json")
	}
	return f
}

func mat(t *testing.T, n, p int, d []float64) Matrix {
	t.Helper()
	m, err := NewMatrix(n, p, d)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func ckaOfVar(t *testing.T, x, y Matrix, est Estimator, dt tensor.DType) float64 {
	t.Helper()
	xv := autograd.Const(tensor.FromFloat64(x.Data, x.Rows, x.Cols).To(dt))
	yv := autograd.Const(tensor.FromFloat64(y.Data, y.Rows, y.Cols).To(dt))
	c, err := CKAVar(xv, yv, est)
	if err != nil {
		t.Fatal(err)
	}
	return c.Item()
}

// The float64 functions and the float64 autograd expressions against the
// NumPy reference (testdata/gen_cka.py: rep_sim's formula with the centring
// matrix, and Nguyen et al.'s unbiased HSIC).
func TestCKAAgainstNumPy(t *testing.T) {
	f := loadFixture(t)
	for i, c := range f.Cases {
		x, y := mat(t, c.N, c.P, c.X), mat(t, c.N, c.Q, c.Y)
		plain, err := LinearCKA(x, y)
		if err != nil {
			t.Fatal(err)
		}
		unb, err := UnbiasedCKA(x, y)
		if err != nil {
			t.Fatal(err)
		}
		for _, chk := range []struct {
			name      string
			got, want float64
			tol       float64
		}{
			{"plain", plain, c.Plain, 1e-9},
			{"unbiased", unb, c.Unbiased, 1e-9},
			{"plain autograd float64", ckaOfVar(t, x, y, EstimatorPlain, tensor.Float64), c.Plain, 1e-9},
			{"unbiased autograd float64", ckaOfVar(t, x, y, EstimatorUnbiased, tensor.Float64), c.Unbiased, 1e-9},
			{"plain autograd float32", ckaOfVar(t, x, y, EstimatorPlain, tensor.Float32), c.Plain, 1e-4},
			{"unbiased autograd float32", ckaOfVar(t, x, y, EstimatorUnbiased, tensor.Float32), c.Unbiased, 1e-3},
		} {
			if math.Abs(chk.got-chk.want) > chk.tol {
				t.Errorf("case %d (n %d): %s CKA %.12f, NumPy %.12f", i, c.N, chk.name, chk.got, chk.want)
			}
		}
	}
	var acc MinibatchCKA
	mb := f.Minibatch
	for b := range mb.Xs {
		if err := acc.Add(mat(t, mb.N, mb.P, mb.Xs[b]), mat(t, mb.N, mb.Q, mb.Ys[b])); err != nil {
			t.Fatal(err)
		}
	}
	got, err := acc.Value()
	if err != nil || math.Abs(got-mb.Value) > 1e-9 {
		t.Errorf("minibatch CKA over %d batches %.12f (%v), NumPy %.12f", acc.Batches, got, err, mb.Value)
	}
}

func randomMatrix(r *tensor.RNG, n, p int) Matrix {
	d := make([]float64, n*p)
	for i := range d {
		d[i] = r.Normal()
	}
	return Matrix{Rows: n, Cols: p, Data: d}
}

// randomOrthogonal returns a p×p orthogonal matrix (Gram–Schmidt on a
// Gaussian matrix).
func randomOrthogonal(r *tensor.RNG, p int) Matrix {
	q := randomMatrix(r, p, p)
	for i := range p {
		row := q.Data[i*p : (i+1)*p]
		for j := range i {
			prev := q.Data[j*p : (j+1)*p]
			d := dot(row, prev)
			for c := range row {
				row[c] -= d * prev[c]
			}
		}
		nrm := math.Sqrt(dot(row, row))
		for c := range row {
			row[c] /= nrm
		}
	}
	return q
}

func mul(a, b Matrix) Matrix {
	out := Matrix{Rows: a.Rows, Cols: b.Cols, Data: make([]float64, a.Rows*b.Cols)}
	for i := range a.Rows {
		for k := range a.Cols {
			v := a.At(i, k)
			for j := range b.Cols {
				out.Data[i*b.Cols+j] += v * b.At(k, j)
			}
		}
	}
	return out
}

func scaled(a Matrix, s, shift float64) Matrix {
	out := Matrix{Rows: a.Rows, Cols: a.Cols, Data: make([]float64, len(a.Data))}
	for i, v := range a.Data {
		out.Data[i] = s*v + shift
	}
	return out
}

// CKA is invariant to orthogonal transforms and isotropic scaling of
// either side, and a representation has CKA 1 with its own rotation;
// both are invariant to translation too.
func TestCKAInvariances(t *testing.T) {
	type est struct {
		name string
		f    func(x, y Matrix) (float64, error)
	}
	ests := []est{{"plain", LinearCKA}, {"unbiased", UnbiasedCKA}}
	for _, c := range []struct {
		n, p, q int
		seed    uint64
		scale   float64
	}{{8, 3, 5, 1, 3}, {20, 10, 4, 2, 0.01}, {50, 6, 30, 3, 250}} {
		r := tensor.NewRNG(c.seed)
		x, y := randomMatrix(r, c.n, c.p), randomMatrix(r, c.n, c.q)
		// Make y depend on x so the CKA is not near 0.
		y = mul(x, randomMatrix(r, c.p, c.q))
		for i := range y.Data {
			y.Data[i] += r.Normal()
		}
		qx, qy := randomOrthogonal(r, c.p), randomOrthogonal(r, c.q)
		for _, e := range ests {
			base, err := e.f(x, y)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range []struct {
				name string
				x, y Matrix
				want float64
			}{
				{"rotate x", mul(x, qx), y, base},
				{"rotate y", x, mul(y, qy), base},
				{"scale both", scaled(x, c.scale, 0), scaled(y, 1/c.scale, 0), base},
				{"rotate and scale", scaled(mul(x, qx), c.scale, 0), mul(y, qy), base},
				{"self, rotated and scaled", x, scaled(mul(x, qx), c.scale, 0), 1},
			} {
				got, err := e.f(v.x, v.y)
				if err != nil {
					t.Fatal(err)
				}
				if math.Abs(got-v.want) > 1e-9 {
					t.Errorf("n %d, %s, %s: CKA %.12f, want %.12f", c.n, e.name, v.name, got, v.want)
				}
			}
		}
		for _, e := range ests {
			shifted, err := e.f(scaled(x, 1, 7), scaled(y, 1, -3))
			base, _ := e.f(x, y)
			if err != nil || math.Abs(shifted-base) > 1e-9 {
				t.Errorf("n %d: %s CKA after translation %.12f, before %.12f", c.n, e.name, shifted, base)
			}
		}
		base, _ := LinearCKA(x, y)
		if base < 0 || base > 1+1e-12 {
			t.Errorf("plain CKA %v outside [0, 1]", base)
		}
	}
}

// The autograd expressions' gradients against finite differences (float64),
// with respect to both sides.
func TestCKAGradient(t *testing.T) {
	for _, c := range []struct {
		est     Estimator
		n, p, q int
	}{{EstimatorPlain, 5, 3, 4}, {EstimatorPlain, 7, 2, 6}, {EstimatorUnbiased, 6, 3, 4}, {EstimatorUnbiased, 9, 5, 2}} {
		r := tensor.NewRNG(uint64(c.n*31 + c.p))
		x := tensor.RandN(r, c.n, c.p).To(tensor.Float64)
		y := tensor.RandN(r, c.n, c.q).To(tensor.Float64)
		err := autograd.GradCheck(func(xs []*autograd.Var) *autograd.Var {
			v, err := CKAVar(xs[0], xs[1], c.est)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}, []*tensor.Tensor{x, y}, autograd.CheckOptions{Seed: 1})
		if err != nil {
			t.Errorf("%v n %d: %v", c.est, c.n, err)
		}
	}
	// Three-dimensional activations are flattened per example.
	r := tensor.NewRNG(9)
	x := tensor.RandN(r, 6, 2, 3).To(tensor.Float64)
	y := tensor.RandN(r, 6, 4).To(tensor.Float64)
	if err := autograd.GradCheck(func(xs []*autograd.Var) *autograd.Var {
		v, _ := CKAVar(xs[0], xs[1], EstimatorPlain)
		return v
	}, []*tensor.Tensor{x, y}, autograd.CheckOptions{Seed: 2}); err != nil {
		t.Error(err)
	}
}

func TestCKAErrors(t *testing.T) {
	r := tensor.NewRNG(4)
	x5, x3, y5 := randomMatrix(r, 5, 2), randomMatrix(r, 3, 2), randomMatrix(r, 5, 3)
	constant := Matrix{Rows: 5, Cols: 2, Data: []float64{1, 2, 1, 2, 1, 2, 1, 2, 1, 2}}
	for _, c := range []struct {
		name string
		err  error
	}{
		{"rows differ", func() error { _, err := LinearCKA(x5, x3); return err }()},
		{"unbiased on 3 examples", func() error { _, err := UnbiasedCKA(x3, x3); return err }()},
		{"constant representation", func() error { _, err := LinearCKA(constant, y5); return err }()},
		{"empty minibatch", func() error { var m MinibatchCKA; _, err := m.Value(); return err }()},
		{"bad matrix", func() error { _, err := NewMatrix(2, 3, []float64{1}); return err }()},
		{"autograd shapes", func() error {
			_, err := CKAVar(autograd.Const(tensor.Zeros(4, 2)), autograd.Const(tensor.Zeros(5, 2)), EstimatorPlain)
			return err
		}()},
		{"autograd unbiased small batch", func() error {
			_, err := CKAVar(autograd.Const(tensor.Zeros(3, 2)), autograd.Const(tensor.Zeros(3, 2)), EstimatorUnbiased)
			return err
		}()},
		{"estimator name", func() error { _, err := ParseEstimator("biased"); return err }()},
	} {
		if c.err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}
