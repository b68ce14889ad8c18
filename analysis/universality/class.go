package universality

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Arch is a one-hidden-layer network without biases on inputs in
// {−1, +1}^Inputs: f_θ(x) = Σ_j v_j · relu(Σ_i W_ji x_i), with Hidden
// units; θ = (W, v) has Hidden·(Inputs+1) weights.
type Arch struct {
	Inputs, Hidden int
}

// MaxParams is the largest number of ternary weights Enumerate accepts:
// multiplicities are counted exactly in float64 (3^33 < 2^53).
const MaxParams = 33

// Params is the number of weights, |θ|.
func (a Arch) Params() int { return a.Hidden * (a.Inputs + 1) }

// Points is the number of inputs, 2^Inputs.
func (a Arch) Points() int { return 1 << a.Inputs }

// Size is |Θ| = 3^Params, the number of ternary hypotheses.
func (a Arch) Size() float64 { return math.Pow(3, float64(a.Params())) }

// LogSize is ln |Θ|.
func (a Arch) LogSize() float64 { return float64(a.Params()) * math.Log(3) }

// String is "k-h" with the class size.
func (a Arch) String() string {
	return fmt.Sprintf("%d inputs, %d hidden (3^%d hypotheses)", a.Inputs, a.Hidden, a.Params())
}

// Validate reports an architecture that cannot be enumerated, naming the
// field and the expected range.
func (a Arch) Validate() error {
	switch {
	case a.Inputs < 1 || a.Inputs > 6:
		return fmt.Errorf("universality: Inputs = %d, want 1 to 6", a.Inputs)
	case a.Hidden < 1:
		return fmt.Errorf("universality: Hidden = %d, want at least 1", a.Hidden)
	case a.Params() > MaxParams:
		return fmt.Errorf("universality: Hidden·(Inputs+1) = %d weights, want at most %d (exact counts)", a.Params(), MaxParams)
	case a.Hidden*a.Inputs > 127:
		return fmt.Errorf("universality: Hidden·Inputs = %d, want at most 127 (outputs are stored as int8)", a.Hidden*a.Inputs)
	}
	return nil
}

// Point returns input number i: bit b of i set means x_b = +1, else −1.
func (a Arch) Point(i int) []float64 {
	x := make([]float64, a.Inputs)
	for b := range x {
		x[b] = -1
		if i>>b&1 == 1 {
			x[b] = 1
		}
	}
	return x
}

// Eval is f_θ at every input for real weights θ = (W row-major
// [Hidden][Inputs], then v [Hidden]).
func (a Arch) Eval(theta []float64) []float64 {
	out := make([]float64, a.Points())
	for p := range out {
		x := a.Point(p)
		for j := range a.Hidden {
			z := 0.0
			for i := range a.Inputs {
				z += theta[j*a.Inputs+i] * x[i]
			}
			out[p] += theta[a.Hidden*a.Inputs+j] * max(z, 0)
		}
	}
	return out
}

// Function is one distinct input-output table of a class with the number
// of ternary weight settings that compute it.
type Function struct {
	F     []int8  // f(x) at every input
	Count float64 // how many θ ∈ {−1, 0, 1}^Params compute F (exact)
	LogW  float64 // ln of its prior weight, ln(Count) − Params·ln 3
}

// Constant reports whether f takes one value on every input.
func (f Function) Constant() bool {
	for _, v := range f.F {
		if v != f.F[0] {
			return false
		}
	}
	return true
}

// Class is the ternary class of an architecture, deduplicated into
// distinct functions, with the Bernoulli output p_θ(y = 1 | x) =
// σ(β·f_θ(x)) under the uniform prior on Θ (each function's weight is its
// multiplicity over |Θ|).
type Class struct {
	Arch  Arch
	Beta  float64
	Funcs []Function // sorted by F (lexicographic), so indices are deterministic
	lo    int        // smallest output value, the offset of logp
	logp  [2][]float64
	p     [2][]float64 // p(y | v) = exp(logp)
}

// Enumerate builds the ternary class of a exactly. The table of a network
// is the sum over hidden units of the unit's table v·relu(w·x), so the
// multiset of tables is the Hidden-fold convolution of the unit's multiset
// (3^(Inputs+1) settings); the counts are exact.
func Enumerate(a Arch, beta float64) (*Class, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	if !(beta > 0) || math.IsInf(beta, 0) {
		return nil, fmt.Errorf("universality: Beta = %v, want a finite value above 0", beta)
	}
	unit := unitTables(a)
	cur := map[string]float64{string(make([]byte, a.Points())): 1}
	for range a.Hidden {
		next := make(map[string]float64, len(cur)*4)
		buf := make([]byte, a.Points())
		for k, c := range cur {
			for u, cu := range unit {
				for p := range buf {
					buf[p] = byte(int8(k[p]) + int8(u[p]))
				}
				next[string(buf)] += c * cu
			}
		}
		cur = next
	}
	return newClass(a, beta, cur), nil
}

// unitTables is the multiset of one hidden unit's tables v·relu(w·x)
// over its 3^(Inputs+1) ternary settings.
func unitTables(a Arch) map[string]float64 {
	out := map[string]float64{}
	n := int(math.Pow(3, float64(a.Inputs+1)))
	buf := make([]byte, a.Points())
	for code := range n {
		w := ternary(code, a.Inputs+1)
		for p := range buf {
			z := 0
			for i := range a.Inputs {
				if p>>i&1 == 1 {
					z += w[i]
				} else {
					z -= w[i]
				}
			}
			buf[p] = byte(int8(w[a.Inputs] * max(z, 0)))
		}
		out[string(buf)]++
	}
	return out
}

// ternary decodes code into n digits in {−1, 0, 1}.
func ternary(code, n int) []int {
	w := make([]int, n)
	for i := range w {
		w[i] = code%3 - 1
		code /= 3
	}
	return w
}

// EnumerateBrute enumerates every θ ∈ {−1, 0, 1}^Params one by one and
// evaluates the network (the reference Enumerate is tested against; only
// for small classes).
func EnumerateBrute(a Arch, beta float64) (*Class, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	if a.Params() > 12 {
		return nil, fmt.Errorf("universality: brute force over 3^%d hypotheses, want at most 3^12", a.Params())
	}
	m := map[string]float64{}
	buf := make([]byte, a.Points())
	theta := make([]float64, a.Params())
	for code := range int(a.Size()) {
		for i, w := range ternary(code, a.Params()) {
			theta[i] = float64(w)
		}
		for p, v := range a.Eval(theta) {
			buf[p] = byte(int8(v))
		}
		m[string(buf)]++
	}
	return newClass(a, beta, m), nil
}

func newClass(a Arch, beta float64, m map[string]float64) *Class {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y string) int {
		for p := range len(x) {
			if c := int(int8(x[p])) - int(int8(y[p])); c != 0 {
				return c
			}
		}
		return 0
	})
	c := &Class{Arch: a, Beta: beta, Funcs: make([]Function, len(keys)), lo: -a.Hidden * a.Inputs}
	logSize := a.LogSize()
	for i, k := range keys {
		f := make([]int8, len(k))
		for p := range k {
			f[p] = int8(k[p])
		}
		c.Funcs[i] = Function{F: f, Count: m[k], LogW: math.Log(m[k]) - logSize}
	}
	for y := range 2 {
		c.logp[y] = make([]float64, 2*(-c.lo)+1)
		for v := range c.logp[y] {
			c.logp[y][v] = LogSigmoid(float64(2*y-1) * beta * float64(v+c.lo))
		}
		c.p[y] = make([]float64, len(c.logp[y]))
		for v := range c.p[y] {
			c.p[y][v] = Sigmoid(float64(2*y-1) * beta * float64(v+c.lo))
		}
	}
	return c
}

// Total is the sum of the multiplicities (3^Params when exact).
func (c *Class) Total() float64 {
	s := 0.0
	for _, f := range c.Funcs {
		s += f.Count
	}
	return s
}

// LogP is ln p_f(y | x) for function i at input x.
func (c *Class) LogP(i, x, y int) float64 { return c.logp[y][int(c.Funcs[i].F[x])-c.lo] }

// P1 is p_f(y = 1 | x) for function i at input x.
func (c *Class) P1(i, x int) float64 { return math.Exp(c.LogP(i, x, 1)) }

// KL is the expected divergence E_x KL(p_i(·|x) ‖ p_j(·|x)) with x uniform
// over the inputs (nats per sample).
func (c *Class) KL(i, j int) float64 {
	s := 0.0
	for x := range c.Arch.Points() {
		s += BernoulliKL(c.P1(i, x), c.P1(j, x))
	}
	return s / float64(c.Arch.Points())
}

// Ball is W_ε(θ*) for every ε at once: D[k] are the distinct values of
// E_x KL(p_target ‖ p_f) over the class in increasing order (D[0] = 0, the
// target itself) and LogW[k] = ln W_{D[k]}, the log prior mass of every
// hypothesis within D[k] of the target. W_ε = W_{D[k]} for D[k] ≤ ε <
// D[k+1].
type Ball struct {
	D, LogW []float64
}

// Ball computes the exact KL neighbourhood weights of function target.
func (c *Class) Ball(target int) Ball {
	type dw struct{ d, lw float64 }
	all := make([]dw, len(c.Funcs))
	for j := range c.Funcs {
		all[j] = dw{c.KL(target, j), c.Funcs[j].LogW}
	}
	slices.SortFunc(all, func(a, b dw) int {
		if a.d < b.d {
			return -1
		} else if a.d > b.d {
			return 1
		}
		return 0
	})
	var b Ball
	acc := math.Inf(-1)
	for k, e := range all {
		acc = LogAdd(acc, e.lw)
		if k+1 < len(all) && all[k+1].d == e.d {
			continue
		}
		b.D = append(b.D, e.d)
		b.LogW = append(b.LogW, acc)
	}
	return b
}

// LogWeight is ln W_ε.
func (b Ball) LogWeight(eps float64) float64 {
	k, found := slices.BinarySearch(b.D, eps)
	if !found {
		k--
	}
	if k < 0 {
		return math.Inf(-1)
	}
	return b.LogW[k]
}

// Bound is the expected-regret bound minimised over ε, min_ε
// (−ln W_ε + nε), with the minimising ε. Between consecutive divergences
// W_ε is constant and nε grows, so the minimum is at one of the D[k]: the
// minimisation is exact.
func (b Ball) Bound(n int) (bound, eps float64) {
	bound = math.Inf(1)
	for k, d := range b.D {
		if v := -b.LogW[k] + float64(n)*d; v < bound {
			bound, eps = v, d
		}
	}
	return bound, eps
}

// Describe is the function's table as "f = [..]".
func (f Function) Describe() string {
	s := make([]string, len(f.F))
	for i, v := range f.F {
		s[i] = fmt.Sprint(v)
	}
	return "[" + strings.Join(s, " ") + "]"
}

// LogSigmoid is ln σ(z), stable for large |z|.
func LogSigmoid(z float64) float64 {
	if z >= 0 {
		return -math.Log1p(math.Exp(-z))
	}
	return z - math.Log1p(math.Exp(z))
}

// Sigmoid is σ(z).
func Sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// BernoulliKL is KL(Bern(p) ‖ Bern(q)) in nats (0·ln 0 = 0).
func BernoulliKL(p, q float64) float64 {
	s := 0.0
	if p > 0 {
		s += p * math.Log(p/q)
	}
	if p < 1 {
		s += (1 - p) * math.Log((1-p)/(1-q))
	}
	return s
}

// LogAdd is ln(e^a + e^b).
func LogAdd(a, b float64) float64 {
	if math.IsInf(a, -1) {
		return b
	}
	if math.IsInf(b, -1) {
		return a
	}
	if a < b {
		a, b = b, a
	}
	return a + math.Log1p(math.Exp(b-a))
}

// Heaviest is the non-constant function of largest weight (the "simplest"
// target that is not a constant); ties go to the lowest index.
func (c *Class) Heaviest() int {
	best := -1
	for i, f := range c.Funcs {
		if !f.Constant() && (best < 0 || f.LogW > c.Funcs[best].LogW) {
			best = i
		}
	}
	return best
}

// Lightest is the function of smallest weight (the most "complex").
func (c *Class) Lightest() int {
	best := -1
	for i, f := range c.Funcs {
		if !f.Constant() && (best < 0 || f.LogW < c.Funcs[best].LogW) {
			best = i
		}
	}
	return best
}

// Nearest is the non-constant function whose −ln W_0 is closest to nats.
func (c *Class) Nearest(nats float64) int {
	best := -1
	for i, f := range c.Funcs {
		if !f.Constant() && (best < 0 || math.Abs(-f.LogW-nats) < math.Abs(-c.Funcs[best].LogW-nats)) {
			best = i
		}
	}
	return best
}
