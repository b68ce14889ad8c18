// Package tfsvm reproduces "Transformers as Support Vector Machines"
// (Tarzanagh, Li, Thrampoulidis and Oymak, arXiv 2308.16898; code
// umich-sota/TF-as-SVM, base.py): a single attention layer
// f(X) = vᵀXᵀ softmax(XWz), trained by normalised gradient descent on
// W with v fixed, converges in direction to the solution of the
// attention SVM
//
//	min ‖W‖_F  subject to  (x_opt − x_t)ᵀ W z ≥ 1 for every non-optimal token t,
//
// which separates each input's optimal token from the others. The query
// z is the input's last token (base.py's attn_idx = −1); the optimal token
// of input i is the one of highest score Y_i·vᵀx_t.
package tfsvm

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Instance is a data set of n inputs of T tokens in d dimensions, labels
// ±1 and the fixed head v.
type Instance struct {
	X [][][]float64 // [n][T][d]
	Y []float64     // ±1
	V []float64     // [d]
}

// Query is input i's query: its last token.
func (in *Instance) Query(i int) []float64 { return in.X[i][len(in.X[i])-1] }

// Random draws an instance with Gaussian tokens (variance 1/d, so tokens
// have norm about 1), random labels and a Gaussian head of norm 1.
func Random(n, T, d int, rng *rand.Rand) *Instance {
	in := &Instance{X: make([][][]float64, n), Y: make([]float64, n), V: gaussian(d, 1/math.Sqrt(float64(d)), rng)}
	for i := range n {
		in.X[i] = make([][]float64, T)
		for t := range T {
			in.X[i][t] = gaussian(d, 1/math.Sqrt(float64(d)), rng)
		}
		in.Y[i] = 1
		if rng.IntN(2) == 0 {
			in.Y[i] = -1
		}
	}
	return in
}

func gaussian(d int, s float64, rng *rand.Rand) []float64 {
	v := make([]float64, d)
	for k := range v {
		v[k] = s * rng.NormFloat64()
	}
	return v
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// Optimal returns each input's optimal token: the highest Y_i·vᵀx_t.
func (in *Instance) Optimal() []int {
	ids := make([]int, len(in.X))
	for i, X := range in.X {
		best := math.Inf(-1)
		for t, x := range X {
			if g := in.Y[i] * dot(in.V, x); g > best {
				best, ids[i] = g, t
			}
		}
	}
	return ids
}

// Matrix is a d×d matrix, row-major.
type Matrix struct {
	D int
	A []float64
}

// NewMatrix returns a zero d×d matrix.
func NewMatrix(d int) Matrix { return Matrix{d, make([]float64, d*d)} }

// Bilinear is xᵀ W z.
func (w Matrix) Bilinear(x, z []float64) float64 {
	s := 0.0
	for r := range w.D {
		row := w.A[r*w.D : (r+1)*w.D]
		s += x[r] * dot(row, z)
	}
	return s
}

// Norm is the Frobenius norm.
func (w Matrix) Norm() float64 { return math.Sqrt(dot(w.A, w.A)) }

// Correlation is ⟨A, B⟩/(‖A‖‖B‖).
func Correlation(a, b Matrix) float64 { return dot(a.A, b.A) / (a.Norm() * b.Norm()) }

// Output is f(X_i) = vᵀ X_iᵀ softmax(X_i W z_i), with the attention
// probabilities.
func (in *Instance) Output(w Matrix, i int) (float64, []float64) {
	X, z := in.X[i], in.Query(i)
	p := make([]float64, len(X))
	mx := math.Inf(-1)
	for t, x := range X {
		p[t] = w.Bilinear(x, z)
		mx = max(mx, p[t])
	}
	sum := 0.0
	for t := range p {
		p[t] = math.Exp(p[t] - mx)
		sum += p[t]
	}
	f := 0.0
	for t, x := range X {
		p[t] /= sum
		f += p[t] * dot(in.V, x)
	}
	return f, p
}

// Loss is the mean logistic loss log(1 + e^{−Y_i f(X_i)}) and its gradient
// in W: Σ_i ℓ'(Y_i f_i) Y_i X_iᵀ (p_i ⊙ (X_i v − f_i)) z_iᵀ / n.
func (in *Instance) Loss(w Matrix) (float64, Matrix) {
	g := NewMatrix(w.D)
	loss := 0.0
	n := float64(len(in.X))
	for i, X := range in.X {
		f, p := in.Output(w, i)
		u := in.Y[i] * f
		loss += math.Log1p(math.Exp(-u)) / n
		c := -in.Y[i] / (1 + math.Exp(u)) / n // ℓ'(u)·Y/n
		z := in.Query(i)
		for t, x := range X {
			a := c * p[t] * (dot(in.V, x) - f)
			for r := range w.D {
				for k := range w.D {
					g.A[r*w.D+k] += a * x[r] * z[k]
				}
			}
		}
	}
	return loss, g
}

// TrainNormalised runs iters steps of normalised gradient descent
// W ← W − η ∇L/‖∇L‖_F from W = 0, calling each (may be nil) after every
// step.
func (in *Instance) TrainNormalised(eta float64, iters int, each func(step int, w Matrix)) Matrix {
	d := len(in.V)
	w := NewMatrix(d)
	for s := range iters {
		_, g := in.Loss(w)
		gn := g.Norm()
		if gn == 0 {
			break
		}
		for k := range w.A {
			w.A[k] -= eta * g.A[k] / gn
		}
		if each != nil {
			each(s+1, w)
		}
	}
	return w
}

// SVM solves the attention SVM for the optimal tokens ids: W = Σ α_k A_k
// with A_k = (x_opt − x_t) zᵀ (MinNorm). It returns W and the number of
// sweeps; an input whose optimal token equals another token is an error.
func (in *Instance) SVM(ids []int, tol float64, maxSweeps int) (Matrix, int, error) {
	d := len(in.V)
	var cs [][]float64
	for i, X := range in.X {
		z := in.Query(i)
		for t, x := range X {
			if t == ids[i] {
				continue
			}
			a := make([]float64, d*d)
			for r := range d {
				for k := range d {
					a[r*d+k] = (X[ids[i]][r] - x[r]) * z[k]
				}
			}
			if dot(a, a) == 0 {
				return Matrix{}, 0, fmt.Errorf("tfsvm: input %d token %d equals its optimal token: no W separates them", i, t)
			}
			cs = append(cs, a)
		}
	}
	w, sweeps, err := MinNorm(cs, tol, maxSweeps)
	return Matrix{d, w}, sweeps, err
}

// MinNorm solves min ‖x‖ subject to ⟨a_k, x⟩ ≥ 1 for every k by
// Hildreth's dual coordinate ascent (Hildreth 1957): x = Σ α_k a_k with
// α_k ≥ 0, each α_k in turn set to maximise the dual, until every
// constraint holds to tol and every positive α_k's constraint is tight to
// tol. It returns x and the number of sweeps; no convergence within
// maxSweeps (an infeasible problem among them) is an error.
func MinNorm(cs [][]float64, tol float64, maxSweeps int) ([]float64, int, error) {
	if len(cs) == 0 {
		return nil, 0, fmt.Errorf("tfsvm: no constraints")
	}
	x := make([]float64, len(cs[0]))
	alpha := make([]float64, len(cs))
	norms := make([]float64, len(cs))
	for k, a := range cs {
		if norms[k] = dot(a, a); norms[k] == 0 {
			return nil, 0, fmt.Errorf("tfsvm: constraint %d is zero: it cannot hold", k)
		}
	}
	for sweep := 1; sweep <= maxSweeps; sweep++ {
		for k, a := range cs {
			na := max(0, alpha[k]+(1-dot(a, x))/norms[k])
			if da := na - alpha[k]; da != 0 {
				for j := range x {
					x[j] += da * a[j]
				}
				alpha[k] = na
			}
		}
		ok := true
		for k, a := range cs {
			if m := dot(a, x); m < 1-tol || alpha[k] > 0 && m > 1+tol {
				ok = false
				break
			}
		}
		if ok {
			return x, sweep, nil
		}
	}
	return x, maxSweeps, fmt.Errorf("tfsvm: the SVM did not converge in %d sweeps (it may be infeasible)", maxSweeps)
}

// LossJoint is Loss with the head v trainable too: it returns the loss
// and the gradients in W and in v (Σ_i ℓ'(Y_i f_i) Y_i X_iᵀ p_i / n).
func (in *Instance) LossJoint(w Matrix) (float64, Matrix, []float64) {
	loss, g := in.Loss(w)
	gv := make([]float64, len(in.V))
	n := float64(len(in.X))
	for i, X := range in.X {
		f, p := in.Output(w, i)
		c := -in.Y[i] / (1 + math.Exp(in.Y[i]*f)) / n
		for t, x := range X {
			for k := range gv {
				gv[k] += c * p[t] * x[k]
			}
		}
	}
	return loss, g, gv
}

// TrainJoint runs iters steps of normalised gradient descent on W and v
// together (the step is η times the joint gradient over its joint norm),
// from W = 0 and in's V, which it changes. It returns W.
func (in *Instance) TrainJoint(eta float64, iters int) Matrix {
	w := NewMatrix(len(in.V))
	for range iters {
		_, g, gv := in.LossJoint(w)
		gn := math.Sqrt(dot(g.A, g.A) + dot(gv, gv))
		if gn == 0 {
			break
		}
		for k := range w.A {
			w.A[k] -= eta * g.A[k] / gn
		}
		for k := range in.V {
			in.V[k] -= eta * gv[k] / gn
		}
	}
	return w
}

// Selected returns the token each input attends to most under W.
func (in *Instance) Selected(w Matrix) []int {
	out := make([]int, len(in.X))
	for i := range in.X {
		_, p := in.Output(w, i)
		for t := range p {
			if p[t] > p[out[i]] {
				out[i] = t
			}
		}
	}
	return out
}

// HeadSVM is the hard-margin separator of the selected tokens: min ‖v‖
// subject to Y_i vᵀx_{i,sel_i} ≥ 1 (no intercept; the max-margin head of
// the joint regime), by MinNorm.
func (in *Instance) HeadSVM(sel []int, tol float64, maxSweeps int) ([]float64, error) {
	cs := make([][]float64, len(in.X))
	for i := range in.X {
		cs[i] = make([]float64, len(in.V))
		for k := range cs[i] {
			cs[i][k] = in.Y[i] * in.X[i][sel[i]][k]
		}
	}
	v, _, err := MinNorm(cs, tol, maxSweeps)
	return v, err
}

// CosineVec is ⟨a, b⟩/(‖a‖‖b‖).
func CosineVec(a, b []float64) float64 { return dot(a, b) / math.Sqrt(dot(a, a)*dot(b, b)) }
