package nn

import (
	"fmt"
	"math"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/tensor"
)

// snnkPair is an input and a unit (w, b) of moderate norm (the exp, cos
// and sin features grow as exp(|x|²/2)).
func snnkPair(r *tensor.RNG, d int, scale float64) (x, w []float64, b float64) {
	x, w = make([]float64, d), make([]float64, d)
	for i := range d {
		x[i] = scale * r.Normal() / math.Sqrt(float64(d))
		w[i] = scale * r.Normal() / math.Sqrt(float64(d))
	}
	return x, w, 0.3
}

// snnkEstimates returns R independent estimates φ(x)ᵀψ(w, b), each with
// its own G.
func snnkEstimates(c SNNKConfig, x, w []float64, b float64, R int, r *tensor.RNG) []float64 {
	est := make([]float64, R)
	for k := range R {
		g := SNNKProjection(c.Features, len(x), c.Orthogonal, r)
		if c.Kernel != "relu" {
			est[k] = dot(SNNKInputFeatures(c, g, x), SNNKWeightFeatures(c, g, w, b))
		} else {
			est[k] = dot(SNNKInputFeatures(c, g, x), SNNKWeightFeatures(c, g, w, 0))
		}
	}
	return est
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func meanVar(v []float64) (mean, variance float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	for _, x := range v {
		variance += (x - mean) * (x - mean)
	}
	return mean, variance / float64(len(v)-1)
}

// TestSNNKUnbiased: the mean of φ(x)ᵀψ(w, b) over 3000 draws of G equals
// the exact kernel (arc-cosine for relu; exp, cos, sin of wᵀx + b) within
// 4 standard errors of the mean (a two-sided z-test, seed fixed), iid and
// orthogonal.
func TestSNNKUnbiased(t *testing.T) {
	for _, kernel := range SNNKKernels {
		for _, orth := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s,orthogonal=%v", kernel, orth), func(t *testing.T) {
				r := tensor.NewRNG(11)
				x, w, b := snnkPair(r, 6, 0.8)
				c := SNNKConfig{Kernel: kernel, Features: 8, Orthogonal: orth}
				est := snnkEstimates(c, x, w, b, 3000, r)
				mean, v := meanVar(est)
				exact := SNNKExact(kernel, x, w, b)
				if kernel == "relu" {
					exact = SNNKExact(kernel, x, w, 0)
				}
				se := math.Sqrt(v / float64(len(est)))
				if math.Abs(mean-exact) > 4*se {
					t.Fatalf("mean estimate %.5f, exact %.5f: %.1f standard errors (%.2g) apart, want ≤ 4", mean, exact, math.Abs(mean-exact)/se, se)
				}
			})
		}
	}
}

// TestSNNKOrthogonalLowerVariance: with one full orthogonal block (m = d),
// the estimates' variance over draws of G is below the iid features'.
func TestSNNKOrthogonalLowerVariance(t *testing.T) {
	for _, kernel := range SNNKKernels {
		t.Run(kernel, func(t *testing.T) {
			r := tensor.NewRNG(5)
			x, w, b := snnkPair(r, 16, 1)
			var vars [2]float64
			for i, orth := range []bool{false, true} {
				_, vars[i] = meanVar(snnkEstimates(SNNKConfig{Kernel: kernel, Features: 16, Orthogonal: orth}, x, w, b, 2000, tensor.NewRNG(7)))
			}
			if vars[1] >= vars[0] {
				t.Fatalf("variance orthogonal %.3g ≥ iid %.3g", vars[1], vars[0])
			}
		})
	}
}

// TestSNNKErrorRate: the root-mean-square error of the estimate falls as
// m^{-1/2}: the least-squares slope of log RMSE on log m over m = 8 … 512
// is within [−0.6, −0.4].
func TestSNNKErrorRate(t *testing.T) {
	r := tensor.NewRNG(3)
	x, w, b := snnkPair(r, 8, 1)
	ms := []int{8, 32, 128, 512}
	var lx, ly []float64
	for _, m := range ms {
		c := SNNKConfig{Kernel: "relu", Features: m}
		exact := SNNKExact("relu", x, w, b)
		est := snnkEstimates(c, x, w, 0, 400, r)
		mse := 0.0
		for _, e := range est {
			mse += (e - exact) * (e - exact)
		}
		lx = append(lx, math.Log(float64(m)))
		ly = append(ly, 0.5*math.Log(mse/float64(len(est))))
	}
	if s := slope(lx, ly); s < -0.6 || s > -0.4 {
		t.Fatalf("log-log slope %.3f, want in [−0.6, −0.4]", s)
	}
}

// TestSNNKProjectionOrthogonal: rows within a block are orthogonal, and
// the row norms are not all equal (χ_d-distributed).
func TestSNNKProjectionOrthogonal(t *testing.T) {
	d, m := 5, 12
	g := SNNKProjection(m, d, true, tensor.NewRNG(1))
	for lo := 0; lo < m; lo += d {
		for i := lo; i < min(m, lo+d); i++ {
			for j := lo; j < i; j++ {
				if v := dot(g[i*d:(i+1)*d], g[j*d:(j+1)*d]); math.Abs(v) > 1e-9 {
					t.Fatalf("rows %d and %d: dot %.3g", i, j, v)
				}
			}
		}
	}
	if math.Abs(sqNorm(g[:d])-sqNorm(g[d:2*d])) < 1e-9 {
		t.Fatal("row norms equal")
	}
}

// TestSNNKLayer: the layer initialised from (W, b) computes Ψ φ(x) as the
// float64 features do, approximates f(Wx + b) with many features, and
// rejects bad configurations by field.
func TestSNNKLayer(t *testing.T) {
	r := tensor.NewRNG(2)
	for _, tc := range []struct {
		kernel string
		tol    float64
	}{{"relu", 0.05}, {"exp", 0.1}, {"cos", 0.1}, {"sin", 0.1}} {
		t.Run(tc.kernel, func(t *testing.T) {
			d, out := 4, 3
			w := tensor.Normal(r, 0, 0.3, out, d)
			var b []float64
			if tc.kernel != "relu" {
				b = []float64{0.1, -0.2, 0.3}
			}
			s, err := NewSNNK("l", w, b, SNNKConfig{Kernel: tc.kernel, Features: 8192, Orthogonal: true, Seed: 4})
			if err != nil {
				t.Fatal(err)
			}
			x := tensor.Normal(r, 0, 0.3, 2, d)
			var y []float32
			autograd.NoGrad(func() { y = s.Forward(autograd.Const(x)).Value.Float32s() })
			xs, ws := x.Float64s(), w.Float64s()
			for i := range 2 {
				phi := SNNKInputFeatures(s.Config, s.g, xs[i*d:(i+1)*d])
				for o := range out {
					bo := 0.0
					if b != nil {
						bo = b[o]
					}
					psi := SNNKWeightFeatures(s.Config, s.g, ws[o*d:(o+1)*d], bo)
					if want := dot(phi, psi); math.Abs(float64(y[i*out+o])-want) > 1e-4*(1+math.Abs(want)) {
						t.Fatalf("Forward %.6f, float64 features %.6f", y[i*out+o], want)
					}
					if exact := SNNKExact(tc.kernel, xs[i*d:(i+1)*d], ws[o*d:(o+1)*d], bo); math.Abs(float64(y[i*out+o])-exact) > tc.tol {
						t.Fatalf("output %.4f, exact kernel %.4f (m = 8192)", y[i*out+o], exact)
					}
				}
			}
		})
	}
	for _, tc := range []struct {
		c    SNNKConfig
		want string
	}{
		{SNNKConfig{Kernel: "relu", Features: 0}, "features 0, want at least 1"},
		{SNNKConfig{Kernel: "tanh", Features: 4}, `kernel "tanh"`},
	} {
		if _, err := NewSNNKFeatures("l", 3, 2, tc.c); err == nil || !contains(err.Error(), tc.want) {
			t.Fatalf("%+v: err %v, want %q", tc.c, err, tc.want)
		}
	}
	if _, err := NewSNNK("l", tensor.Zeros(2, 3), []float64{1, 2}, SNNKConfig{Kernel: "relu", Features: 4}); err == nil {
		t.Fatal("relu with a bias accepted")
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// TestBundleClosedForm: a stack of two tanh layers collapsed into one SNNK
// layer by the closed form gives the same parameters (within 1e-4) and
// loss (within 1e-8 relative) as gradient descent on the same objective,
// run to convergence from zero; and the bundled layer's Forward predicts
// what the float64 solution does.
func TestBundleClosedForm(t *testing.T) {
	for _, kernel := range []string{"relu", "cos"} {
		t.Run(kernel, func(t *testing.T) {
			r := tensor.NewRNG(9)
			n, d, h, out := 120, 3, 8, 2
			w1, w2 := tensor.Normal(r, 0, 0.7, h, d).Float64s(), tensor.Normal(r, 0, 0.7, out, h).Float64s()
			x := tensor.Normal(r, 0, 0.5, n, d).Float64s()
			y := make([]float64, n*out)
			for i := range n { // the stack: tanh(W2 tanh(W1 x))
				hid := make([]float64, h)
				for j := range h {
					hid[j] = math.Tanh(dot(w1[j*d:(j+1)*d], x[i*d:(i+1)*d]))
				}
				for o := range out {
					y[i*out+o] = math.Tanh(dot(w2[o*h:(o+1)*h], hid))
				}
			}
			c := SNNKConfig{Kernel: kernel, Features: 12, Seed: 3}
			ridge := 1e-2
			s, loss, err := BundleSNNK("bundle", x, y, n, c, ridge)
			if err != nil {
				t.Fatal(err)
			}
			F := c.FeatureDim()
			phi := s.FeatureMatrix(x, n)
			closed := s.Psi.Value.Float64s()
			// Gradient descent, step 1/L with L ≥ the Hessian's largest eigenvalue.
			L := 2 * ridge
			for i := range n {
				L += 2 * sqNorm(phi[i*F:(i+1)*F]) / float64(n)
			}
			psi := make([]float64, out*F)
			grad := make([]float64, out*F)
			for range 30000 {
				for k := range grad {
					grad[k] = 2 * ridge * psi[k]
				}
				for i := range n {
					for o := range out {
						e := dot(psi[o*F:(o+1)*F], phi[i*F:(i+1)*F]) - y[i*out+o]
						for j := range F {
							grad[o*F+j] += 2 * e * phi[i*F+j] / float64(n)
						}
					}
				}
				for k := range psi {
					psi[k] -= grad[k] / L
				}
			}
			gd := BundleLoss(phi, y, psi, n, F, out, ridge)
			if math.Abs(gd-loss) > 1e-8*loss || gd < loss-1e-12 {
				t.Fatalf("closed-form loss %.10f, gradient descent %.10f", loss, gd)
			}
			for k := range psi {
				if math.Abs(psi[k]-closed[k]) > 1e-4 {
					t.Fatalf("Ψ[%d]: closed form %.6f, gradient descent %.6f", k, closed[k], psi[k])
				}
			}
			var pred []float32
			autograd.NoGrad(func() {
				pred = s.Forward(autograd.Const(tensor.FromFloat64(x, n, d).To(tensor.Float32))).Value.Float32s()
			})
			for i := range n {
				for o := range out {
					if want := dot(psi[o*F:(o+1)*F], phi[i*F:(i+1)*F]); math.Abs(float64(pred[i*out+o])-want) > 1e-3 {
						t.Fatalf("bundled Forward %.5f, float64 %.5f", pred[i*out+o], want)
					}
				}
			}
		})
	}
}

// slope is the least-squares slope of y on x.
func slope(x, y []float64) float64 {
	mx, _ := meanVar(x)
	my, _ := meanVar(y)
	num, den := 0.0, 0.0
	for i := range x {
		num += (x[i] - mx) * (y[i] - my)
		den += (x[i] - mx) * (x[i] - mx)
	}
	return num / den
}
