package prose

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/loomml/loom/sciml/ode"
)

// The symbolic form of every system, written and parsed back, evaluates to
// the integrator's right-hand side.
func TestExprMatchesSystem(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, name := range ode.Systems() {
		s, _ := ode.Lookup(name)
		p, _ := s.Sample(rng, 0.1)
		e, err := NewExpr(name, p)
		if err != nil {
			t.Fatal(err)
		}
		nodes, err := Parse(e.Tokens())
		if err != nil {
			t.Fatalf("%s: %v (tokens %v)", name, err, e.Tokens())
		}
		f, _ := s.Func(p)
		for range 20 {
			u := []float64{6*rng.Float64() - 3, 6*rng.Float64() - 3, 6*rng.Float64() - 3}
			want := make([]float64, 3)
			f(0, u, want)
			got := System(nodes, u)
			for j := range want {
				if math.Abs(got[j]-want[j]) > 1e-9*(1+math.Abs(want[j])) {
					t.Fatalf("%s component %d at %v: expression %g, system %g", name, j, u, got[j], want[j])
				}
			}
		}
		sk := e.Skeleton()
		if slices.Contains(sk, "+") || slices.Contains(sk, "-") {
			t.Errorf("%s: skeleton %v holds constants", name, sk)
		}
		if _, err := Parse(sk); err != nil {
			t.Errorf("%s: skeleton does not parse: %v", name, err)
		}
		v := NewVocab(3)
		if _, err := v.Encode(append(e.Tokens(), sk...)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestFloatTokens(t *testing.T) {
	cases := []struct {
		x    float64
		want string
	}{{28.3, "+ N283 E-1"}, {-0.17, "- N170 E-3"}, {10, "+ N100 E-1"}, {0, "+ N000 E0"}, {-2.67, "- N267 E-2"}, {1e-15, "+ N000 E0"}}
	for _, c := range cases {
		got := EncodeFloat(c.x)
		if strings.Join(got, " ") != c.want {
			t.Errorf("EncodeFloat(%g) = %v, want %s", c.x, got, c.want)
		}
		v, err := DecodeFloat(got)
		if err != nil || math.Abs(v-ode.Round3(c.x)) > 1e-12*(1+math.Abs(c.x)) && c.x > 1e-10 {
			t.Errorf("DecodeFloat(%v) = %g, %v; want %g", got, v, err, c.x)
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{"add u_0", "missing operand"},
		{"u_0 u_1", "trailing"},
		{"mul foo u_0", `unknown token "foo"`},
		{"mul + N12 E0 u_0", "mantissa"},
		{"mul + N120 E99 u_0", "exponent"},
		{"u_0 |", "missing operand"},
		{"mul -", "truncated constant"},
	}
	for _, c := range cases {
		_, err := Parse(strings.Fields(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", c.in, err, c.want)
		}
	}
}

func TestNoisy(t *testing.T) {
	e, _ := NewExpr("lorenz", []float64{10, 28, 2.67})
	count := func(e *Expr) int {
		n := 0
		for _, ts := range e.Terms {
			n += len(ts)
		}
		return n
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for _, c := range []struct {
		miss, add float64
		delta     int
	}{{1, 0, -1}, {0, 1, 1}, {0, 0, 0}, {1, 1, 0}} {
		for range 10 {
			n := e.Noisy(rng, c.miss, c.add)
			if got := count(n) - count(e); got != c.delta {
				t.Fatalf("miss %g add %g: %+d terms, want %+d", c.miss, c.add, got, c.delta)
			}
			if _, err := Parse(n.Skeleton()); err != nil {
				t.Fatalf("noisy skeleton %v: %v", n.Skeleton(), err)
			}
		}
	}
	if count(e) != 7 {
		t.Fatalf("the original changed: %d terms", count(e))
	}
}

func TestBadInput(t *testing.T) {
	if _, err := NewExpr("lorenz96", []float64{1}); err == nil || !strings.Contains(err.Error(), `unknown ODE system "lorenz96"`) {
		t.Errorf("unknown system: %v", err)
	}
	if _, err := NewExpr("rossler", []float64{0.1, math.Inf(-1), 14}); err == nil || !strings.Contains(err.Error(), "parameter b = -Inf") {
		t.Errorf("non-finite parameter: %v", err)
	}
	if _, err := Generate(rand.New(rand.NewPCG(1, 1)), "chua", 0.1); err == nil || !strings.Contains(err.Error(), "unknown ODE system") {
		t.Errorf("Generate unknown system: %v", err)
	}
	if _, err := New(Config{Dim: 10, Heads: 3, Hidden: 8, DataLayers: 1, FusionLayers: 1, DecoderLayers: 1, StateDim: 3, MaxSymbol: 8}, 1); err == nil || !strings.Contains(err.Error(), "multiple of Heads") {
		t.Errorf("config: %v", err)
	}
}

func tinyConfig(symbols bool) Config {
	return Config{Dim: 16, Heads: 2, Hidden: 32, DataLayers: 1, SymbolLayers: 1, FusionLayers: 1, DecoderLayers: 1, Symbols: symbols, StateDim: 3, MaxSymbol: 64}
}

// A few steps on a handful of trajectories lower both losses, and the
// evaluation path (prediction, greedy decoding, scoring) runs.
func TestTrainEvaluate(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	data, err := Dataset(rng, []string{"lorenz", "thomas", "duffing"}, 2, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != 6 || len(data[0].U) != NTimes || data[0].Times[NTimes-1] != TMax {
		t.Fatalf("dataset shape: %d samples, %d times", len(data), len(data[0].U))
	}
	steps := 60
	if testing.Short() {
		steps = 20
	}
	for _, sym := range []bool{false, true} {
		m, err := New(tinyConfig(sym), 7)
		if err != nil {
			t.Fatal(err)
		}
		var first, last [2]float64
		_, err = Train(m, data, TrainOptions{Steps: steps, Batch: 6, LR: 3e-3, Warmup: 5, SymbolWeight: 1, Seed: 1, Noisy: sym}, func(step int, d, s float64) {
			if step == 0 {
				first = [2]float64{d, s}
			}
			last = [2]float64{d, s}
		})
		if err != nil {
			t.Fatal(err)
		}
		if last[0] >= first[0] || (sym && last[1] >= first[1]) {
			t.Errorf("symbols %v: losses (data, symbol) %v → %v, want both lower", sym, first, last)
		}
		mode := NoSymbols
		if sym {
			mode = CleanSymbols
		}
		res, err := Evaluate(m, data[:3], mode, rand.New(rand.NewPCG(1, 2)), 2, sym)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if !(r.RelL2 >= 0) || math.IsInf(r.RelL2, 0) {
				t.Errorf("relative L2 %v", r.RelL2)
			}
		}
	}
}

// scoreExpr gives R² = 1 for the true expression, marks a wrong number of
// components and garbage as invalid.
func TestScoreExpr(t *testing.T) {
	s, err := Generate(rand.New(rand.NewPCG(8, 9)), "rossler", 0.1)
	if err != nil {
		t.Fatal(err)
	}
	toks := s.Expr.Tokens()
	if ok, r2 := scoreExpr(toks, s); !ok || math.Abs(r2-1) > 1e-12 {
		t.Errorf("true expression: valid %v, R² %g", ok, r2)
	}
	i := slices.Index(toks, Sep)
	if ok, _ := scoreExpr(toks[:i], s); ok {
		t.Error("one component of three counted as valid")
	}
	if ok, _ := scoreExpr([]string{"add", "u_0"}, s); ok {
		t.Error("garbage counted as valid")
	}
	// Perturb one constant's mantissa: still valid, R² below 1.
	j := slices.IndexFunc(toks, func(x string) bool { return strings.HasPrefix(x, "N") && x != "N000" })
	bad := slices.Clone(toks)
	bad[j] = "N999"
	if ok, r2 := scoreExpr(bad, s); !ok || r2 >= 1 {
		t.Errorf("perturbed expression: valid %v, R² %g", ok, r2)
	}
}
