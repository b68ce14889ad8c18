package enumgeom

import (
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
)

func rat(a, b int64) *big.Rat { return big.NewRat(a, b) }

func mustValue(t *testing.T, tb *Table, g int, d []int) *big.Rat {
	t.Helper()
	v, err := tb.Intersection(g, d)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func fact(n int) *big.Int { return new(big.Int).MulRange(1, int64(max(n, 1))) }

func TestKnownValues(t *testing.T) {
	tb := NewTable()
	for _, c := range []struct {
		g    int
		d    []int
		want *big.Rat
	}{
		{0, []int{0, 0, 0}, rat(1, 1)},
		{0, []int{0, 0, 0, 1}, rat(1, 1)},
		{1, []int{1}, rat(1, 24)},
		{1, []int{1, 1}, rat(1, 24)},
		{2, []int{4}, rat(1, 1152)},
		{2, []int{2, 3}, rat(29, 5760)},
		{2, []int{2, 2, 2}, rat(7, 240)},
		{2, []int{1, 4}, rat(1, 384)}, // dilaton: 3·⟨τ₄⟩₂
		{3, []int{7}, rat(1, 82944)},
		{1, []int{0, 0}, rat(0, 1)}, // wrong dimension
		{0, []int{0, 0}, rat(0, 1)}, // unstable
		{2, []int{3, 3}, rat(0, 1)}, // Σd = 6 ≠ 5
		{0, []int{2, 0, 0, 0, 0}, rat(1, 1)},
	} {
		if got := mustValue(t, tb, c.g, c.d); got.Cmp(c.want) != 0 {
			t.Errorf("⟨%v⟩_%d = %v, want %v", c.d, c.g, got, c.want)
		}
	}
}

// Witten: ⟨τ_{3g−2}⟩_g = 1/(24^g g!).
func TestOnePoint(t *testing.T) {
	tb := NewTable()
	for g := 1; g <= 7; g++ {
		den := new(big.Int).Exp(big.NewInt(24), big.NewInt(int64(g)), nil)
		den.Mul(den, fact(g))
		want := new(big.Rat).SetFrac(big.NewInt(1), den)
		if got := mustValue(t, tb, g, []int{3*g - 2}); got.Cmp(want) != 0 {
			t.Errorf("⟨τ_%d⟩_%d = %v, want %v", 3*g-2, g, got, want)
		}
	}
}

// Genus 0: ⟨τ_{d1}…τ_{dn}⟩₀ = (n−3)!/∏ d_i!.
func TestGenusZero(t *testing.T) {
	tb := NewTable()
	for n := 3; n <= 9; n++ {
		for _, d := range Multisets(n, n-3) {
			den := big.NewInt(1)
			for _, x := range d {
				den.Mul(den, fact(x))
			}
			want := new(big.Rat).SetFrac(fact(n-3), den)
			if got := mustValue(t, tb, 0, d); got.Cmp(want) != 0 {
				t.Fatalf("⟨%v⟩₀ = %v, want %v", d, got, want)
			}
		}
	}
}

// Genus 1: ⟨τ₁ⁿ⟩₁ = (n−1)!/24.
func TestGenusOneDilaton(t *testing.T) {
	tb := NewTable()
	for n := 1; n <= 9; n++ {
		d := make([]int, n)
		for i := range d {
			d[i] = 1
		}
		want := new(big.Rat).SetFrac(fact(n-1), big.NewInt(24))
		if got := mustValue(t, tb, 1, d); got.Cmp(want) != 0 {
			t.Errorf("⟨τ₁^%d⟩₁ = %v, want %v", n, got, want)
		}
	}
}

// The string equation ⟨τ₀ ∏τ_{di}⟩_g = Σ_j ⟨…τ_{dj−1}…⟩_g (Σ d_i =
// 3g − 2 + n) and the dilaton equation ⟨τ₁ ∏τ_{di}⟩_g = (2g − 2 + n)⟨∏τ_{di}⟩_g
// (Σ d_i = 3g − 3 + n), on random stable (g, n). The recursion removes the
// largest d, so neither equation is applied as such.
func TestStringAndDilaton(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	tb := NewTable()
	for range 80 {
		g, n := r.IntN(4), 1+r.IntN(5)
		if 2*g-2+n <= 0 {
			continue
		}
		ms := Multisets(n, 3*g-2+n)
		d := ms[r.IntN(len(ms))]
		lhs := mustValue(t, tb, g, append(slices.Clone(d), 0))
		rhs := new(big.Rat)
		for j := range d {
			e := slices.Clone(d)
			e[j]--
			if e[j] >= 0 {
				rhs.Add(rhs, mustValue(t, tb, g, e))
			}
		}
		if lhs.Sign() == 0 || lhs.Cmp(rhs) != 0 {
			t.Errorf("string: ⟨τ₀ %v⟩_%d = %v, Σ = %v", d, g, lhs, rhs)
		}
		ms = Multisets(n, 3*g-3+n)
		d = ms[r.IntN(len(ms))]
		lhs = mustValue(t, tb, g, append(slices.Clone(d), 1))
		rhs = new(big.Rat).Mul(mustValue(t, tb, g, d), rat(int64(2*g-2+n), 1))
		if lhs.Sign() == 0 || lhs.Cmp(rhs) != 0 {
			t.Errorf("dilaton: ⟨τ₁ %v⟩_%d = %v, want %v", d, g, lhs, rhs)
		}
	}
}

// The recursion may remove any point with d > 0; removing the smallest
// positive one must give the same numbers (a consequence of the Virasoro
// algebra, not of the code path).
func TestRecursionChoiceFree(t *testing.T) {
	a := NewTable()
	b := NewTable()
	b.pick = func(d []int) int {
		for i, x := range d {
			if x > 0 {
				return i
			}
		}
		return len(d) - 1
	}
	for g := 0; g <= 4; g++ {
		for n := 1; n <= 5; n++ {
			if 2*g-2+n <= 0 {
				continue
			}
			for _, d := range Multisets(n, 3*g-3+n) {
				if x, y := mustValue(t, a, g, d), mustValue(t, b, g, d); x.Cmp(y) != 0 {
					t.Fatalf("⟨%v⟩_%d: %v removing the largest, %v removing the smallest positive", d, g, x, y)
				}
			}
		}
	}
}

func TestIntersectionErrors(t *testing.T) {
	if _, err := Intersection(-1, []int{1}); err == nil {
		t.Error("negative genus accepted")
	}
	if _, err := Intersection(1, []int{2, -1}); err == nil {
		t.Error("negative d accepted")
	}
	if _, err := Enumerate(-1, 3); err == nil {
		t.Error("Enumerate: negative genus accepted")
	}
	if _, err := Enumerate(2, 0); err == nil {
		t.Error("Enumerate: n = 0 accepted")
	}
}

// Multisets against brute force over all tuples.
func TestMultisets(t *testing.T) {
	for _, c := range []struct{ n, sum int }{{1, 0}, {1, 5}, {2, 4}, {3, 6}, {4, 7}, {5, 3}} {
		want := map[string]bool{}
		tuple := make([]int, c.n)
		var rec func(i, left int)
		rec = func(i, left int) {
			if i == c.n {
				if left == 0 {
					s := slices.Clone(tuple)
					slices.Sort(s)
					want[key(0, s)] = true
				}
				return
			}
			for v := 0; v <= left; v++ {
				tuple[i] = v
				rec(i+1, left-v)
			}
		}
		rec(0, c.sum)
		got := Multisets(c.n, c.sum)
		seen := map[string]bool{}
		for _, d := range got {
			if !slices.IsSorted(d) {
				t.Fatalf("%v not ascending", d)
			}
			k := key(0, d)
			if seen[k] || !want[k] {
				t.Fatalf("n=%d sum=%d: %v duplicated or not a multiset of the sum", c.n, c.sum, d)
			}
			seen[k] = true
		}
		if len(seen) != len(want) {
			t.Errorf("n=%d sum=%d: %d multisets, want %d", c.n, c.sum, len(seen), len(want))
		}
	}
}

func TestEnumerateAndLog(t *testing.T) {
	ps, err := Enumerate(3, 4)
	if err != nil {
		t.Fatal(err)
	}
	count := 0
	for g := 0; g <= 3; g++ {
		for n := 1; n <= 4; n++ {
			if 2*g-2+n > 0 {
				count += len(Multisets(n, 3*g-3+n))
			}
		}
	}
	if len(ps) != count {
		t.Fatalf("%d points, want %d", len(ps), count)
	}
	for _, p := range ps {
		f, _ := p.Value.Float64()
		if math.Abs(p.Log-math.Log(f)) > 1e-12*math.Max(1, math.Abs(p.Log)) {
			t.Fatalf("⟨%v⟩_%d: log %v, float64 says %v", p.D, p.G, p.Log, math.Log(f))
		}
	}
	// LogRat beyond float64's range: 10^-400 and 10^400.
	big400 := new(big.Int).Exp(big.NewInt(10), big.NewInt(400), nil)
	for _, c := range []struct {
		x    *big.Rat
		want float64
	}{
		{new(big.Rat).SetFrac(big.NewInt(3), big400), math.Log(3) - 400*math.Ln10},
		{new(big.Rat).SetFrac(big400, big.NewInt(7)), 400*math.Ln10 - math.Log(7)},
	} {
		if got := LogRat(c.x); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("LogRat: %v, want %v", got, c.want)
		}
	}
}
