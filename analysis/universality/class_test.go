package universality

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// The convolution enumerates exactly 3^|θ| hypotheses and, where brute
// force is affordable, the same functions with the same multiplicities.
func TestEnumerateCounts(t *testing.T) {
	for _, tc := range []struct {
		a     Arch
		brute bool
	}{
		{Arch{1, 1}, true}, {Arch{2, 1}, true}, {Arch{2, 2}, true}, {Arch{3, 2}, true},
		{Arch{2, 3}, true}, {Arch{3, 3}, false}, {Arch{4, 2}, true}, {Arch{3, 4}, false},
	} {
		c, err := Enumerate(tc.a, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := c.Total(), math.Pow(3, float64(tc.a.Params())); got != want {
			t.Errorf("%v: total multiplicity %v, want 3^%d = %v", tc.a, got, tc.a.Params(), want)
		}
		lz := math.Inf(-1)
		for _, f := range c.Funcs {
			lz = LogAdd(lz, f.LogW)
		}
		if math.Abs(lz) > 1e-12 {
			t.Errorf("%v: prior weights sum to e^%v", tc.a, lz)
		}
		if !tc.brute {
			continue
		}
		b, err := EnumerateBrute(tc.a, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Funcs) != len(c.Funcs) {
			t.Fatalf("%v: %d functions by convolution, %d by brute force", tc.a, len(c.Funcs), len(b.Funcs))
		}
		for i := range c.Funcs {
			if !slices.Equal(c.Funcs[i].F, b.Funcs[i].F) || c.Funcs[i].Count != b.Funcs[i].Count {
				t.Fatalf("%v: function %d: %v×%v against brute force %v×%v", tc.a, i, c.Funcs[i].F, c.Funcs[i].Count, b.Funcs[i].F, b.Funcs[i].Count)
			}
		}
	}
}

// One input, one hidden unit, β = ln 3 so that σ(β) = 3/4: the nine
// settings of (w, v) compute [0 0] five times (v = 0 or w = 0) and each of
// [±1 0], [0 ±1] once; KL([0 0] ‖ [0 1]) = ½·KL(½ ‖ ¾) = ln(4/3)/4.
func TestHandChecked(t *testing.T) {
	c, err := Enumerate(Arch{1, 1}, math.Log(3))
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]float64{}
	idx := map[string]int{}
	for i, f := range c.Funcs {
		count[f.Describe()] = f.Count
		idx[f.Describe()] = i
	}
	want := map[string]float64{"[0 0]": 5, "[1 0]": 1, "[-1 0]": 1, "[0 1]": 1, "[0 -1]": 1}
	if len(count) != len(want) {
		t.Fatalf("functions %v, want %v", count, want)
	}
	for k, v := range want {
		if count[k] != v {
			t.Errorf("count of %s = %v, want %v", k, count[k], v)
		}
	}
	if p := c.P1(idx["[0 1]"], 1); math.Abs(p-0.75) > 1e-15 {
		t.Fatalf("σ(ln 3) = %v", p)
	}
	cases := []struct {
		i, j string
		want float64
	}{
		{"[0 0]", "[0 1]", math.Log(4.0/3) / 4},
		// KL(¾ ‖ ½) = ¾ ln(3/2) + ¼ ln(1/2), averaged with 0.
		{"[0 1]", "[0 0]", (0.75*math.Log(1.5) + 0.25*math.Log(0.5)) / 2},
		// KL(¾ ‖ ¼) = ½ ln 3 per input, on one input of two.
		{"[0 1]", "[0 -1]", math.Log(3) / 4},
		{"[1 0]", "[1 0]", 0},
	}
	for _, tc := range cases {
		if got := c.KL(idx[tc.i], idx[tc.j]); math.Abs(got-tc.want) > 1e-15 {
			t.Errorf("KL(%s ‖ %s) = %v, want %v", tc.i, tc.j, got, tc.want)
		}
	}
	// The ball of [0 1]: itself (weight 1/9), then [0 0] (5/9) at
	// KL(¾‖½)/2, then the rest.
	b := c.Ball(idx["[0 1]"])
	if math.Abs(b.LogWeight(0)-math.Log(1.0/9)) > 1e-14 || math.Abs(b.LogWeight(0.07)-math.Log(6.0/9)) > 1e-14 || math.Abs(b.LogWeight(10)) > 1e-14 {
		t.Errorf("ball %+v", b)
	}
}

// W_ε is non-decreasing in ε, equals the target's own weight at ε = 0
// (σ is injective, so only the target's function is at divergence 0) and 1
// once ε covers the class; the minimised bound is −ln W_0 for large n and
// never above it.
func TestBall(t *testing.T) {
	c, err := Enumerate(Arch{3, 2}, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []int{0, 1, len(c.Funcs) / 3, len(c.Funcs) / 2, len(c.Funcs) - 1} {
		b := c.Ball(target)
		if b.D[0] != 0 || b.LogW[0] != c.Funcs[target].LogW {
			t.Fatalf("target %d: W_0 = e^%v, its weight e^%v", target, b.LogW[0], c.Funcs[target].LogW)
		}
		prev := math.Inf(-1)
		for eps := 0.0; eps < 3; eps += 0.001 {
			w := b.LogWeight(eps)
			if w < prev {
				t.Fatalf("target %d: W_ε decreases at ε = %v", target, eps)
			}
			prev = w
		}
		if math.Abs(prev) > 1e-12 {
			t.Errorf("target %d: W_∞ = e^%v", target, prev)
		}
		if b.LogWeight(-1) != math.Inf(-1) {
			t.Errorf("W at negative ε")
		}
		for _, n := range []int{0, 1, 10, 100, 1000, 1000000} {
			bound, eps := b.Bound(n)
			if bound > -b.LogW[0]+1e-12 {
				t.Errorf("target %d, n %d: bound %v above −ln W_0 = %v", target, n, bound, -b.LogW[0])
			}
			// Brute force over a fine grid never beats the exact minimum.
			for e := 0.0; e < 2; e += 0.0005 {
				if v := -b.LogWeight(e) + float64(n)*e; v < bound-1e-12 {
					t.Fatalf("target %d, n %d: grid ε = %v gives %v below the minimum %v (ε %v)", target, n, e, v, bound, eps)
				}
			}
		}
		if bound, _ := b.Bound(1000000); math.Abs(bound+b.LogW[0]) > 1e-12 {
			t.Errorf("target %d: bound at large n %v, want −ln W_0 = %v", target, bound, -b.LogW[0])
		}
	}
}

func TestArchErrors(t *testing.T) {
	for _, tc := range []struct {
		a    Arch
		beta float64
		want string
	}{
		{Arch{0, 2}, 1, "Inputs"},
		{Arch{7, 1}, 1, "Inputs"},
		{Arch{3, 0}, 1, "Hidden"},
		{Arch{3, 9}, 1, "Hidden·(Inputs+1)"},
		{Arch{3, 2}, 0, "Beta"},
		{Arch{3, 2}, math.NaN(), "Beta"},
	} {
		_, err := Enumerate(tc.a, tc.beta)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v β %v: error %v, want one naming %s", tc.a, tc.beta, err, tc.want)
		}
	}
	if _, err := EnumerateBrute(Arch{3, 4}, 1); err == nil {
		t.Error("brute force over 3^16 accepted")
	}
}

func TestNumerics(t *testing.T) {
	for _, z := range []float64{-800, -30, -1, 0, 0.5, 30, 800} {
		if got, want := LogSigmoid(z), math.Log(Sigmoid(z)); z > -700 && math.Abs(got-want) > 1e-12*max(1, math.Abs(want)) {
			t.Errorf("LogSigmoid(%v) = %v, want %v", z, got, want)
		}
		if math.IsNaN(LogSigmoid(z)) || math.IsInf(LogSigmoid(z), 0) {
			t.Errorf("LogSigmoid(%v) not finite", z)
		}
	}
	if got := LogAdd(math.Log(0.25), math.Log(0.5)); math.Abs(got-math.Log(0.75)) > 1e-15 {
		t.Errorf("LogAdd %v", got)
	}
}

func TestPick(t *testing.T) {
	c, err := Enumerate(Arch{3, 2}, 1)
	if err != nil {
		t.Fatal(err)
	}
	h, l, m := c.Heaviest(), c.Lightest(), c.Nearest(5)
	for i, f := range c.Funcs {
		if f.Constant() {
			continue
		}
		if f.LogW > c.Funcs[h].LogW || f.LogW < c.Funcs[l].LogW || math.Abs(-f.LogW-5) < math.Abs(-c.Funcs[m].LogW-5) {
			t.Fatalf("function %d (ln w %v) beats heaviest %v / lightest %v / nearest %v", i, f.LogW, c.Funcs[h].LogW, c.Funcs[l].LogW, c.Funcs[m].LogW)
		}
	}
	if c.Funcs[h].Constant() || c.Funcs[l].Constant() || c.Funcs[m].Constant() {
		t.Fatal("a constant target")
	}
}
