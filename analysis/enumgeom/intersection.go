package enumgeom

import (
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
)

// The DVV (Dijkgraaf–Verlinde–Verlinde) recursion, with (−1)!! = 1 and
// k ≥ −1: removing a point τ_{k+1},
//
//	⟨τ_{k+1} τ_{d1}…τ_{dn}⟩_g = 1/(2k+3)!! · [
//	    Σ_j (2k+2d_j+1)!!/(2d_j−1)!! ⟨τ_{d1}…τ_{dj+k}…τ_{dn}⟩_g
//	  + ½ Σ_{r+s=k−1} (2r+1)!!(2s+1)!! ⟨τ_r τ_s τ_{d1}…τ_{dn}⟩_{g−1}
//	  + ½ Σ_{r+s=k−1} (2r+1)!!(2s+1)!! Σ_{g1+g2=g, I⊔J={1…n}} ⟨τ_r τ_I⟩_{g1} ⟨τ_s τ_J⟩_{g2} ]
//
// (Dijkgraaf, Verlinde and Verlinde, Nucl. Phys. B 348, 1991, written
// for the numbers ⟨…⟩_g themselves). For k = −1 it is the string
// equation; for k = 0 the dilaton equation. Terms on unstable or
// wrong-dimensional spaces are 0; ⟨τ₀³⟩₀ = 1 and ⟨τ₁⟩₁ = 1/24 start it.

// Table computes intersection numbers, memoised on (g, sorted d).
// It is not safe for concurrent use.
type Table struct {
	memo map[string]*big.Rat
	// pick chooses which point the recursion removes from a sorted d
	// whose largest entry is positive (nil: the largest). Any positive
	// entry gives the same value; tests use another choice to check it.
	pick func(d []int) int
}

// NewTable returns an empty table.
func NewTable() *Table { return &Table{memo: map[string]*big.Rat{}} }

// Intersection returns ⟨τ_{d1}…τ_{dn}⟩_g (0 when Σ d_i ≠ 3g − 3 + n or
// M̄_{g,n} is unstable). It checks g ≥ 0 and every d_i ≥ 0.
func (t *Table) Intersection(g int, d []int) (*big.Rat, error) {
	if g < 0 {
		return nil, fmt.Errorf("enumgeom: genus %d, want g ≥ 0", g)
	}
	for i, x := range d {
		if x < 0 {
			return nil, fmt.Errorf("enumgeom: d[%d] = %d, want d_i ≥ 0", i, x)
		}
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return new(big.Rat).Set(t.value(g, s)), nil
}

// Intersection is NewTable().Intersection(g, d).
func Intersection(g int, d []int) (*big.Rat, error) { return NewTable().Intersection(g, d) }

// Len reports how many (g, d) the table holds.
func (t *Table) Len() int { return len(t.memo) }

var zero = new(big.Rat)

func key(g int, d []int) string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(g))
	for _, x := range d {
		b.WriteByte(',')
		b.WriteString(strconv.Itoa(x))
	}
	return b.String()
}

// value is ⟨τ_d⟩_g for sorted d (entries may be negative: then 0). The
// result is shared: callers must not modify it.
func (t *Table) value(g int, d []int) *big.Rat {
	n := len(d)
	if g < 0 || 2*g-2+n <= 0 || (n > 0 && d[0] < 0) {
		return zero
	}
	sum := 0
	for _, x := range d {
		sum += x
	}
	if sum != 3*g-3+n {
		return zero
	}
	k := key(g, d)
	if v, ok := t.memo[k]; ok {
		return v
	}
	v := t.compute(g, d)
	t.memo[k] = v
	return v
}

func (t *Table) compute(g int, d []int) *big.Rat {
	n := len(d)
	switch {
	case g == 0 && n == 3: // Σd = 0: ⟨τ₀³⟩₀
		return big.NewRat(1, 1)
	case g == 1 && n == 1: // d = [1]
		return big.NewRat(1, 24)
	}
	// Stable, right dimension and not a base case: the largest entry is
	// positive (all zero forces 3g − 3 + n = 0, i.e. g = 0, n = 3).
	p := n - 1
	if t.pick != nil {
		p = t.pick(d)
	}
	k := d[p] - 1
	rest := slices.Delete(slices.Clone(d), p, p+1)
	total := new(big.Rat)
	term := new(big.Rat)

	// Σ_j: one d_j raised by k.
	for j := 0; j < len(rest); j++ {
		if j > 0 && rest[j] == rest[j-1] {
			continue // counted with its first copy
		}
		c := 1
		for j+c < len(rest) && rest[j+c] == rest[j] {
			c++
		}
		e := slices.Clone(rest)
		e[j] += k
		slices.Sort(e)
		v := t.value(g, e)
		if v.Sign() == 0 {
			continue
		}
		num := new(big.Int).Mul(dfact(2*k+2*rest[j]+1), big.NewInt(int64(c)))
		term.SetFrac(num, dfact(2*rest[j]-1))
		term.Mul(term, v)
		total.Add(total, term)
	}

	// ½ Σ_{r+s=k−1}: the genus-reducing term and the splitting term.
	half := new(big.Rat)
	if k >= 1 {
		vals, counts := multiplicities(rest)
		for r := 0; r <= k-1; r++ {
			s := k - 1 - r
			w := new(big.Int).Mul(dfact(2*r+1), dfact(2*s+1))
			// ⟨τ_r τ_s τ_rest⟩_{g−1}
			e := append(slices.Clone(rest), r, s)
			slices.Sort(e)
			if v := t.value(g-1, e); v.Sign() != 0 {
				term.SetInt(w)
				term.Mul(term, v)
				half.Add(half, term)
			}
			// Σ over I ⊔ J = rest (labelled points: a sub-multiset taking
			// m_v of the c_v copies of value v counts ∏ C(c_v, m_v) times).
			m := make([]int, len(vals))
			for {
				var I, J []int
				ways := big.NewInt(1)
				sumI := r
				for i, x := range vals {
					for range m[i] {
						I = append(I, x)
					}
					for range counts[i] - m[i] {
						J = append(J, x)
					}
					ways.Mul(ways, new(big.Int).Binomial(int64(counts[i]), int64(m[i])))
					sumI += x * m[i]
				}
				// Σ(τ_r τ_I) = 3g1 − 3 + |I| + 1 fixes g1.
				if num := sumI - len(I) + 2; num >= 0 && num%3 == 0 && num/3 <= g {
					g1 := num / 3
					I = append(I, r)
					J = append(J, s)
					slices.Sort(I)
					slices.Sort(J)
					a := t.value(g1, I)
					if a.Sign() != 0 {
						if b := t.value(g-g1, J); b.Sign() != 0 {
							term.SetInt(new(big.Int).Mul(w, ways))
							term.Mul(term, a)
							term.Mul(term, b)
							half.Add(half, term)
						}
					}
				}
				// next sub-multiset
				i := 0
				for i < len(m) && m[i] == counts[i] {
					m[i] = 0
					i++
				}
				if i == len(m) {
					break
				}
				m[i]++
			}
		}
	}
	half.Mul(half, big.NewRat(1, 2))
	total.Add(total, half)
	return total.Quo(total, new(big.Rat).SetInt(dfact(2*k+3)))
}

// multiplicities returns the distinct values of sorted d and their counts.
func multiplicities(d []int) (vals, counts []int) {
	for i, x := range d {
		if i > 0 && x == d[i-1] {
			counts[len(counts)-1]++
			continue
		}
		vals, counts = append(vals, x), append(counts, 1)
	}
	return vals, counts
}

// dfact is the double factorial m!! with (−1)!! = 0!! = 1.
func dfact(m int) *big.Int {
	r := big.NewInt(1)
	for i := m; i > 1; i -= 2 {
		r.Mul(r, big.NewInt(int64(i)))
	}
	return r
}

// LogRat returns ln|x| for x ≠ 0 (−Inf for 0), accurate to float64 for
// any size of numerator and denominator.
func LogRat(x *big.Rat) float64 {
	if x.Sign() == 0 {
		return math.Inf(-1)
	}
	return logInt(x.Num()) - logInt(x.Denom())
}

func logInt(x *big.Int) float64 {
	a := new(big.Int).Abs(x)
	shift := max(a.BitLen()-64, 0)
	a.Rsh(a, uint(shift))
	f, _ := new(big.Float).SetInt(a).Float64()
	return math.Log(f) + float64(shift)*math.Ln2
}
