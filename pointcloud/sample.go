package pointcloud

import (
	"fmt"
	"math"
	"slices"
)

// FPS picks k of the first n points of points (xyz, n·3 values at least)
// by farthest-point sampling and returns their indices in the order
// picked: it starts at point 0, then repeatedly takes the point whose
// squared distance to the nearest point already picked is largest (the
// lowest index on ties). This is pointnet2_ops' furthest_point_sample
// (cpp/pointnet2_batch/src/sampling_gpu.cu in the official code: old = 0,
// temp initialised to 1e10, d2 = min(d, temp[k]), best by strict >),
// computed in float64. k > n is an error.
func FPS(points []float32, n, k int) []int {
	if n < 0 || k < 0 || len(points) < 3*n || (k > 0 && n == 0) || k > n {
		panic(fmt.Sprintf("pointcloud: FPS of %d points (%d values) for %d samples", n, len(points), k))
	}
	out := make([]int, 0, k)
	if k == 0 {
		return out
	}
	nearest := make([]float64, n)
	for i := range nearest {
		nearest[i] = math.Inf(1)
	}
	last := 0
	out = append(out, last)
	for len(out) < k {
		x, y, z := float64(points[3*last]), float64(points[3*last+1]), float64(points[3*last+2])
		best, besti := -1.0, 0
		for i := range n {
			dx, dy, dz := float64(points[3*i])-x, float64(points[3*i+1])-y, float64(points[3*i+2])-z
			d := min(dx*dx+dy*dy+dz*dz, nearest[i])
			nearest[i] = d
			if d > best {
				best, besti = d, i
			}
		}
		last = besti
		out = append(out, last)
	}
	return out
}

// KNN returns, for each centre (an index into points, xyz), the indices of
// its k nearest points (the centre itself included, at distance 0), nearest
// first, ties by lower index: [len(centres)][k]. It is the official
// knn_point (square_distance then topk, smallest) with the neighbours
// sorted. k > the number of points is an error.
func KNN(points []float32, centres []int, k int) [][]int {
	n := len(points) / 3
	if k < 0 || k > n {
		panic(fmt.Sprintf("pointcloud: KNN of %d neighbours among %d points", k, n))
	}
	type cand struct {
		d float64
		i int
	}
	out := make([][]int, len(centres))
	cands := make([]cand, n)
	for c, ci := range centres {
		x, y, z := float64(points[3*ci]), float64(points[3*ci+1]), float64(points[3*ci+2])
		for i := range n {
			dx, dy, dz := float64(points[3*i])-x, float64(points[3*i+1])-y, float64(points[3*i+2])-z
			cands[i] = cand{dx*dx + dy*dy + dz*dz, i}
		}
		slices.SortFunc(cands, func(a, b cand) int {
			if a.d != b.d {
				if a.d < b.d {
					return -1
				}
				return 1
			}
			return a.i - b.i
		})
		nb := make([]int, k)
		for j := range nb {
			nb[j] = cands[j].i
		}
		out[c] = nb
	}
	return out
}
