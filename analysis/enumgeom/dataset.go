package enumgeom

import (
	"fmt"
	"math/big"
)

// Point is one intersection number ⟨τ_{d1}…τ_{dn}⟩_g.
type Point struct {
	G     int
	D     []int    // ascending; n = len(D)
	Value *big.Rat // exact, positive
	Log   float64  // ln Value
}

// N is the number of marked points.
func (p Point) N() int { return len(p.D) }

// Enumerate returns every non-zero ⟨τ_{d1}…τ_{dn}⟩_g with g ≤ maxG and
// 1 ≤ n ≤ maxN on a stable M̄_{g,n} (2g − 2 + n > 0): each multiset
// {d_i} with Σ d_i = 3g − 3 + n once, ordered by g, then n, then d
// (reverse lexicographic on the ascending d). Every such number is
// positive.
func Enumerate(maxG, maxN int) ([]Point, error) {
	if maxG < 0 {
		return nil, fmt.Errorf("enumgeom: maximum genus %d, want ≥ 0", maxG)
	}
	if maxN < 1 {
		return nil, fmt.Errorf("enumgeom: maximum number of points %d, want ≥ 1", maxN)
	}
	t := NewTable()
	var out []Point
	for g := 0; g <= maxG; g++ {
		for n := 1; n <= maxN; n++ {
			if 2*g-2+n <= 0 {
				continue
			}
			for _, d := range Multisets(n, 3*g-3+n) {
				v := t.value(g, d)
				if v.Sign() <= 0 {
					return nil, fmt.Errorf("enumgeom: ⟨%v⟩_%d = %v, expected a positive number", d, g, v)
				}
				out = append(out, Point{G: g, D: d, Value: new(big.Rat).Set(v), Log: LogRat(v)})
			}
		}
	}
	return out, nil
}

// Multisets returns every ascending d of n non-negative integers summing
// to sum (the partitions of sum into at most n parts, padded with zeros).
func Multisets(n, sum int) [][]int {
	if n <= 0 || sum < 0 {
		return nil
	}
	var out [][]int
	cur := make([]int, n)
	// fill positions from the last (largest) down, each ≤ the one after it
	var rec func(pos, left, maxv int)
	rec = func(pos, left, maxv int) {
		if pos < 0 {
			if left == 0 {
				out = append(out, append([]int(nil), cur...))
			}
			return
		}
		// the remaining pos+1 entries are each ≤ v, so v ≥ ⌈left/(pos+1)⌉
		for v := min(left, maxv); v*(pos+1) >= left; v-- {
			cur[pos] = v
			rec(pos-1, left-v, v)
			if v == 0 {
				break
			}
		}
	}
	rec(n-1, sum, sum)
	return out
}
