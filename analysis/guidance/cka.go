package guidance

import (
	"errors"
	"fmt"
	"math"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/tensor"
)

// Matrix is a dense row-major float64 matrix: one row per example, one
// column per feature.
type Matrix struct {
	Rows, Cols int
	Data       []float64
}

// NewMatrix returns a rows×cols matrix over data (len rows·cols).
func NewMatrix(rows, cols int, data []float64) (Matrix, error) {
	if rows < 1 || cols < 1 {
		return Matrix{}, fmt.Errorf("guidance: matrix %d×%d, want at least 1×1", rows, cols)
	}
	if len(data) != rows*cols {
		return Matrix{}, fmt.Errorf("guidance: %d values for a %d×%d matrix", len(data), rows, cols)
	}
	return Matrix{Rows: rows, Cols: cols, Data: data}, nil
}

// At returns element (i, j).
func (m Matrix) At(i, j int) float64 { return m.Data[i*m.Cols+j] }

// gram returns X Xᵀ (n×n, row-major).
func gram(x Matrix) []float64 {
	n, p := x.Rows, x.Cols
	k := make([]float64, n*n)
	for i := range n {
		xi := x.Data[i*p : (i+1)*p]
		for j := 0; j <= i; j++ {
			xj := x.Data[j*p : (j+1)*p]
			s := 0.0
			for c := range p {
				s += xi[c] * xj[c]
			}
			k[i*n+j], k[j*n+i] = s, s
		}
	}
	return k
}

// centred returns x with each column's mean subtracted.
func centred(x Matrix) Matrix {
	out := Matrix{Rows: x.Rows, Cols: x.Cols, Data: make([]float64, len(x.Data))}
	for c := range x.Cols {
		m := 0.0
		for i := range x.Rows {
			m += x.At(i, c)
		}
		m /= float64(x.Rows)
		for i := range x.Rows {
			out.Data[i*x.Cols+c] = x.At(i, c) - m
		}
	}
	return out
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func checkPair(x, y Matrix, least int) error {
	if x.Rows != y.Rows {
		return fmt.Errorf("guidance: CKA of %d and %d examples; both sides need the same examples", x.Rows, y.Rows)
	}
	if x.Rows < least {
		return fmt.Errorf("guidance: CKA of %d examples; this estimator needs at least %d", x.Rows, least)
	}
	if len(x.Data) != x.Rows*x.Cols || len(y.Data) != y.Rows*y.Cols {
		return errors.New("guidance: a matrix's data does not match its shape")
	}
	return nil
}

// ErrDegenerate is returned when a representation has no variance across
// the examples (its CKA is 0/0).
var ErrDegenerate = errors.New("guidance: a representation is constant across the examples (CKA undefined)")

// LinearCKA returns linear CKA between x and y (same rows = examples):
// ⟨HKH, HLH⟩ / (‖HKH‖ ‖HLH‖) with K = XXᵀ, L = YYᵀ and H the centring
// matrix — rep_sim's CKA.linear_CKA (the plain, biased HSIC; the 1/(n−1)²
// factors cancel). HKH is computed as the Gram matrix of the column-centred
// X, which is the same matrix.
func LinearCKA(x, y Matrix) (float64, error) {
	if err := checkPair(x, y, 2); err != nil {
		return 0, err
	}
	k, l := gram(centred(x)), gram(centred(y))
	kk, ll := dot(k, k), dot(l, l)
	if kk == 0 || ll == 0 {
		return 0, ErrDegenerate
	}
	return dot(k, l) / math.Sqrt(kk*ll), nil
}

// UnbiasedHSIC is the unbiased estimator of HSIC (Song et al. 2012, as
// Nguyen et al.'s minibatch CKA, arXiv 2010.15327) from two n×n Gram
// matrices (n ≥ 4): with K̃, L̃ the Gram matrices with zeroed diagonals,
//
//	[tr(K̃L̃) + 1ᵀK̃1·1ᵀL̃1/((n−1)(n−2)) − 2/(n−2)·1ᵀK̃L̃1] / (n(n−3)).
func UnbiasedHSIC(k, l []float64, n int) (float64, error) {
	if n < 4 {
		return 0, fmt.Errorf("guidance: unbiased HSIC of %d examples; it needs at least 4", n)
	}
	if len(k) != n*n || len(l) != n*n {
		return 0, fmt.Errorf("guidance: Gram matrices of %d and %d values, want %d×%d", len(k), len(l), n, n)
	}
	var tr, sk, sl, rows float64
	rk, rl := make([]float64, n), make([]float64, n)
	for i := range n {
		for j := range n {
			if i == j {
				continue
			}
			a, b := k[i*n+j], l[i*n+j]
			tr += a * b // K̃, L̃ symmetric: tr(K̃L̃) = Σ K̃∘L̃
			sk += a
			sl += b
			rk[i] += a
			rl[i] += b
		}
	}
	for i := range n {
		rows += rk[i] * rl[i] // 1ᵀK̃L̃1 = (K̃1)·(L̃1)
	}
	fn := float64(n)
	return (tr + sk*sl/((fn-1)*(fn-2)) - 2*rows/(fn-2)) / (fn * (fn - 3)), nil
}

// UnbiasedCKA is linear CKA with the unbiased HSIC estimator on one batch
// (the features are not centred: the estimator is invariant to translating
// them, which the tests check).
func UnbiasedCKA(x, y Matrix) (float64, error) {
	var acc MinibatchCKA
	if err := acc.Add(x, y); err != nil {
		return 0, err
	}
	return acc.Value()
}

// MinibatchCKA accumulates Nguyen et al.'s minibatch CKA (arXiv
// 2010.15327) over batches: Σ_b HSIC₁(K_b, L_b) / √(Σ_b HSIC₁(K_b, K_b) ·
// Σ_b HSIC₁(L_b, L_b)), HSIC₁ the unbiased estimator. The zero value is
// empty.
type MinibatchCKA struct {
	xy, xx, yy float64
	Batches    int
}

// Add accumulates one batch (the same n ≥ 4 examples in x and y).
func (m *MinibatchCKA) Add(x, y Matrix) error {
	if err := checkPair(x, y, 4); err != nil {
		return err
	}
	k, l := gram(x), gram(y)
	n := x.Rows
	xy, _ := UnbiasedHSIC(k, l, n)
	xx, _ := UnbiasedHSIC(k, k, n)
	yy, _ := UnbiasedHSIC(l, l, n)
	m.xy += xy
	m.xx += xx
	m.yy += yy
	m.Batches++
	return nil
}

// Value returns the accumulated CKA; an error when nothing was added or a
// self-HSIC is not positive.
func (m *MinibatchCKA) Value() (float64, error) {
	if m.Batches == 0 {
		return 0, errors.New("guidance: minibatch CKA of no batches")
	}
	if m.xx <= 0 || m.yy <= 0 {
		return 0, ErrDegenerate
	}
	return m.xy / math.Sqrt(m.xx*m.yy), nil
}

// Estimator selects the CKA a guidance loss uses.
type Estimator int

const (
	// EstimatorPlain is rep_sim's: the plain (biased) linear CKA of each
	// minibatch.
	EstimatorPlain Estimator = iota
	// EstimatorUnbiased uses the unbiased HSIC estimator on each
	// minibatch (needs batches of at least 4).
	EstimatorUnbiased
)

// String names the estimator.
func (e Estimator) String() string {
	switch e {
	case EstimatorPlain:
		return "plain"
	case EstimatorUnbiased:
		return "unbiased"
	}
	return fmt.Sprintf("Estimator(%d)", int(e))
}

// ParseEstimator reads "plain" or "unbiased".
func ParseEstimator(s string) (Estimator, error) {
	switch s {
	case "plain":
		return EstimatorPlain, nil
	case "unbiased":
		return EstimatorUnbiased, nil
	}
	return 0, fmt.Errorf("guidance: estimator %q, want plain or unbiased", s)
}

// flat reshapes [n, ...] to [n, rest].
func flat(x *autograd.Var) *autograd.Var {
	n := x.Dim(0)
	return autograd.Reshape(x, n, x.Value.Numel()/n)
}

// CKAVar is the differentiable CKA of x and y ([n, ...] each, the same n;
// every example's activations flattened, as rep_sim does) under est.
// Gradients flow into whichever side requires them; a frozen guide's side
// is a constant.
func CKAVar(x, y *autograd.Var, est Estimator) (*autograd.Var, error) {
	if x.NDim() < 1 || y.NDim() < 1 || x.Dim(0) != y.Dim(0) {
		return nil, fmt.Errorf("guidance: CKA of shapes %v and %v; both need the same first (example) dimension", x.Shape(), y.Shape())
	}
	n := x.Dim(0)
	switch est {
	case EstimatorPlain:
		if n < 2 {
			return nil, fmt.Errorf("guidance: CKA of %d examples; it needs at least 2", n)
		}
		k, l := centredGram(flat(x)), centredGram(flat(y))
		num := autograd.Sum(autograd.Mul(k, l), false)
		den := autograd.Sqrt(autograd.Mul(autograd.Sum(autograd.Mul(k, k), false), autograd.Sum(autograd.Mul(l, l), false)))
		return autograd.Div(num, den), nil
	case EstimatorUnbiased:
		if n < 4 {
			return nil, fmt.Errorf("guidance: unbiased CKA of %d examples; it needs at least 4", n)
		}
		// The estimator is invariant to translating the features; centring
		// them first spares float32 the cancellation of large means.
		k, l := centredGram(flat(x)), centredGram(flat(y))
		off := autograd.Const(offDiagonal(n, k.Value.DType()))
		k, l = autograd.Mul(k, off), autograd.Mul(l, off)
		xy, xx, yy := hsicVar(k, l, n), hsicVar(k, k, n), hsicVar(l, l, n)
		return autograd.Div(xy, autograd.Sqrt(autograd.Mul(xx, yy))), nil
	}
	return nil, fmt.Errorf("guidance: unknown estimator %v", est)
}

// centredGram returns Xc Xcᵀ for X [n, p] with its columns centred (= HKH).
func centredGram(x *autograd.Var) *autograd.Var {
	xc := autograd.Sub(x, autograd.Mean(x, true, 0))
	return autograd.MatMul(xc, xc, false, true)
}

func offDiagonal(n int, dt tensor.DType) *tensor.Tensor {
	d := make([]float64, n*n)
	for i := range d {
		if i/n != i%n {
			d[i] = 1
		}
	}
	return tensor.FromFloat64(d, n, n).To(dt)
}

// hsicVar is UnbiasedHSIC on Gram matrices whose diagonals are zero.
func hsicVar(k, l *autograd.Var, n int) *autograd.Var {
	fn := float64(n)
	tr := autograd.Sum(autograd.Mul(k, l), false)
	sums := autograd.MulScalar(autograd.Mul(autograd.Sum(k, false), autograd.Sum(l, false)), 1/((fn-1)*(fn-2)))
	rows := autograd.MulScalar(autograd.Sum(autograd.Mul(autograd.Sum(k, false, 1), autograd.Sum(l, false, 1)), false), 2/(fn-2))
	return autograd.MulScalar(autograd.Sub(autograd.Add(tr, sums), rows), 1/(fn*(fn-3)))
}
