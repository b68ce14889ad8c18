package timeseries

import (
	"math"

	"github.com/loomml/loom/tensor"
)

// IsolationForest is Liu, Ting and Zhou's isolation forest ("Isolation
// Forest", ICDM 2008): trees grown on random subsamples by random splits
// of random features, a point's anomaly score 2^(−E[h(x)]/c(ψ)) where h is
// its path length (plus c(size) at an unsplit leaf) and c(n) the average
// path length of an unsuccessful search in a binary search tree of n
// points. Scores near 1 are anomalous, below 0.5 normal.
type IsolationForest struct {
	Trees     []*iNode
	Subsample int
}

type iNode struct {
	Feature     int
	Split       float64
	Left, Right *iNode
	Size        int // points at a leaf
}

// avgPath is c(n).
func avgPath(n int) float64 {
	switch {
	case n <= 1:
		return 0
	case n == 2:
		return 1
	}
	h := math.Log(float64(n-1)) + 0.5772156649015329
	return 2*h - 2*float64(n-1)/float64(n)
}

// FitIsolationForest grows trees on subsamples of psi points of x
// ([point][feature]), each to height ⌈log2 psi⌉, seeded.
func FitIsolationForest(x [][]float64, trees, psi int, seed uint64) *IsolationForest {
	rng := tensor.NewRNG(seed)
	psi = min(psi, len(x))
	limit := int(math.Ceil(math.Log2(float64(max(psi, 2)))))
	f := &IsolationForest{Subsample: psi}
	for range trees {
		perm := rng.Perm(len(x))[:psi]
		rows := make([][]float64, psi)
		for i, k := range perm {
			rows[i] = x[k]
		}
		f.Trees = append(f.Trees, grow(rows, 0, limit, rng))
	}
	return f
}

func grow(rows [][]float64, depth, limit int, rng *tensor.RNG) *iNode {
	if depth >= limit || len(rows) <= 1 {
		return &iNode{Size: len(rows)}
	}
	d := len(rows[0])
	// A random feature with spread (up to d tries), split uniformly in its range.
	for range d {
		k := int(rng.Uint64() % uint64(d))
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, r := range rows {
			lo, hi = min(lo, r[k]), max(hi, r[k])
		}
		if hi <= lo {
			continue
		}
		s := lo + rng.Float64()*(hi-lo)
		var left, right [][]float64
		for _, r := range rows {
			if r[k] < s {
				left = append(left, r)
			} else {
				right = append(right, r)
			}
		}
		return &iNode{Feature: k, Split: s, Left: grow(left, depth+1, limit, rng), Right: grow(right, depth+1, limit, rng)}
	}
	return &iNode{Size: len(rows)}
}

// Score returns each point's anomaly score.
func (f *IsolationForest) Score(x [][]float64) []float64 {
	c := avgPath(f.Subsample)
	out := make([]float64, len(x))
	for i, p := range x {
		sum := 0.0
		for _, t := range f.Trees {
			h, n := 0.0, t
			for n.Left != nil {
				if p[n.Feature] < n.Split {
					n = n.Left
				} else {
					n = n.Right
				}
				h++
			}
			sum += h + avgPath(n.Size)
		}
		out[i] = math.Pow(2, -sum/float64(len(f.Trees))/c)
	}
	return out
}
