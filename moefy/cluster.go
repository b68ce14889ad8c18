package moefy

import (
	"math"
	"slices"

	"github.com/loomml/loom/tensor"
)

// BalancedKMeans clusters the n rows of x (n×d, row-major) into k clusters
// of exactly n/k rows each (k must divide n), as EMoE's constrained
// k-means (k-means-constrained's KMeansConstrained with size_min = size_max)
// does, and returns each row's cluster. It is Lloyd's algorithm with the
// assignment step constrained: rows are given, nearest pair first, to the
// nearest cluster with room (a greedy start), then pairs of rows in
// different clusters are exchanged while an exchange lowers the total
// squared distance. KMeansConstrained solves the assignment exactly as a
// minimum-cost flow; the exchanges stop at an assignment no single swap
// improves, which is not always the optimum. Centres start by k-means++
// from rng; at most iters rounds.
func BalancedKMeans(x []float32, n, d, k int, rng *tensor.RNG, iters int) []int {
	size := n / k
	centres := kmeansPlusPlus(x, n, d, k, rng)
	labels := make([]int, n)
	for i := range labels {
		labels[i] = -1
	}
	dist := make([]float64, n*k)
	for range iters {
		for i := range n {
			for c := range k {
				dist[i*k+c] = sqDist(x[i*d:(i+1)*d], centres[c*d:(c+1)*d])
			}
		}
		next := balancedAssign(dist, n, k, size)
		if slices.Equal(next, labels) {
			break
		}
		labels = next
		// Centres: the means of their rows.
		clear(centres)
		for i, c := range labels {
			for j, v := range x[i*d : (i+1)*d] {
				centres[c*d+j] += v
			}
		}
		for j := range centres {
			centres[j] /= float32(size)
		}
	}
	return labels
}

// balancedAssign gives each of n rows one of k clusters of size rows,
// lowering Σ dist[i, label i]: nearest pairs first, then exchanges.
func balancedAssign(dist []float64, n, k, size int) []int {
	pairs := make([]int, n*k)
	for i := range pairs {
		pairs[i] = i
	}
	slices.SortStableFunc(pairs, func(a, b int) int {
		switch {
		case dist[a] < dist[b]:
			return -1
		case dist[a] > dist[b]:
			return 1
		}
		return 0
	})
	labels := make([]int, n)
	for i := range labels {
		labels[i] = -1
	}
	room := make([]int, k)
	for c := range room {
		room[c] = size
	}
	for _, p := range pairs {
		i, c := p/k, p%k
		if labels[i] < 0 && room[c] > 0 {
			labels[i] = c
			room[c]--
		}
	}
	// Exchanges: for clusters a ≠ b, the row of a gaining most by moving to
	// b and the row of b gaining most by moving to a swap while their
	// gains sum above 0.
	members := make([][]int, k)
	for i, c := range labels {
		members[c] = append(members[c], i)
	}
	best := func(from, to int) (int, float64) {
		at, g := -1, math.Inf(-1)
		for j, i := range members[from] {
			if v := dist[i*k+from] - dist[i*k+to]; v > g {
				at, g = j, v
			}
		}
		return at, g
	}
	for pass := 0; pass < 50; pass++ {
		improved := false
		for a := range k {
			for b := a + 1; b < k; b++ {
				for {
					ja, ga := best(a, b)
					jb, gb := best(b, a)
					if ja < 0 || jb < 0 || ga+gb <= 1e-12 {
						break
					}
					ia, ib := members[a][ja], members[b][jb]
					labels[ia], labels[ib] = b, a
					members[a][ja], members[b][jb] = ib, ia
					improved = true
				}
			}
		}
		if !improved {
			break
		}
	}
	return labels
}

// kmeansPlusPlus picks k of the rows as starting centres, each further
// one with probability proportional to its squared distance from the
// nearest centre so far.
func kmeansPlusPlus(x []float32, n, d, k int, rng *tensor.RNG) []float32 {
	centres := make([]float32, 0, k*d)
	first := rng.Intn(n)
	centres = append(centres, x[first*d:(first+1)*d]...)
	near := make([]float64, n)
	for i := range near {
		near[i] = sqDist(x[i*d:(i+1)*d], centres[:d])
	}
	for c := 1; c < k; c++ {
		total := 0.0
		for _, v := range near {
			total += v
		}
		pick := n - 1
		if total > 0 {
			r := rng.Float64() * total
			for i, v := range near {
				if r -= v; r < 0 {
					pick = i
					break
				}
			}
		} else {
			pick = rng.Intn(n)
		}
		centres = append(centres, x[pick*d:(pick+1)*d]...)
		for i := range near {
			near[i] = min(near[i], sqDist(x[i*d:(i+1)*d], centres[c*d:(c+1)*d]))
		}
	}
	return centres
}

func sqDist(a, b []float32) float64 {
	s := 0.0
	for i, v := range a {
		t := float64(v - b[i])
		s += t * t
	}
	return s
}

// clusterCost is Σ_i ‖x_i − mean of i's cluster‖².
func clusterCost(x []float32, n, d, k int, labels []int) float64 {
	centres := make([]float64, k*d)
	count := make([]int, k)
	for i, c := range labels {
		count[c]++
		for j, v := range x[i*d : (i+1)*d] {
			centres[c*d+j] += float64(v)
		}
	}
	for c := range k {
		for j := range d {
			centres[c*d+j] /= float64(max(count[c], 1))
		}
	}
	s := 0.0
	for i, c := range labels {
		for j, v := range x[i*d : (i+1)*d] {
			t := float64(v) - centres[c*d+j]
			s += t * t
		}
	}
	return s
}
