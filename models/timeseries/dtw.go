package timeseries

import (
	"fmt"
	"math"
)

// DTW is the dynamic-time-warping distance between a and b ([time][dim],
// lengths may differ) within a Sakoe–Chiba band of half-width window
// points (|i − j| ≤ window, widened to the length difference so a path
// exists; negative: no band): the least sum, along a warping path, of the
// squared Euclidean distance between the points matched, as the UCR
// archive's DTW (no square root; the ranking is the same). With several
// dimensions this is the dependent variant DTW_D; DTWIndependent sums
// per-dimension distances (DTW_I).
func DTW(a, b [][]float64, window int) float64 {
	n, m := len(a), len(b)
	if n == 0 || m == 0 {
		return math.Inf(1)
	}
	w := window
	if w < 0 {
		w = max(n, m)
	}
	w = max(w, abs(n-m))
	inf := math.Inf(1)
	prev, cur := make([]float64, m+1), make([]float64, m+1)
	for j := range prev {
		prev[j] = inf
	}
	prev[0] = 0
	for i := 1; i <= n; i++ {
		for j := range cur {
			cur[j] = inf
		}
		lo, hi := max(1, i-w), min(m, i+w)
		ai := a[i-1]
		for j := lo; j <= hi; j++ {
			c := 0.0
			for k, x := range ai {
				d := x - b[j-1][k]
				c += d * d
			}
			cur[j] = c + min(prev[j-1], prev[j], cur[j-1])
		}
		prev, cur = cur, prev
	}
	return prev[m]
}

// DTWIndependent is DTW_I: the sum over dimensions of each dimension's
// own DTW distance.
func DTWIndependent(a, b [][]float64, window int) float64 {
	if len(a) == 0 || len(b) == 0 {
		return math.Inf(1)
	}
	s := 0.0
	for k := range a[0] {
		s += DTW(column(a, k), column(b, k), window)
	}
	return s
}

func column(x [][]float64, k int) [][]float64 {
	out := make([][]float64, len(x))
	for i := range x {
		out[i] = []float64{x[i][k]}
	}
	return out
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// Distance names a 1-NN distance.
type Distance string

// Distances of NearestNeighbour.
const (
	Euclidean Distance = "euclidean" // squared Euclidean, lengths must match
	DTWD      Distance = "dtw"       // DTW (dependent, DTW_D, with several dimensions)
	DTWI      Distance = "dtw-i"     // DTW_I: per-dimension DTW summed
)

// NearestNeighbour is 1-NN classification by a distance over series of
// [time][dim] points.
type NearestNeighbour struct {
	Distance Distance
	Window   int // DTW band half-width in points (negative: none)
	Train    [][][]float64
	Labels   []int
}

// dist is the distance between a and b.
func (nn *NearestNeighbour) dist(a, b [][]float64) float64 {
	switch nn.Distance {
	case Euclidean: // DTW with no warping (lengths that differ get the band of their difference)
		return DTW(a, b, 0)
	case DTWI:
		return DTWIndependent(a, b, nn.Window)
	default:
		return DTW(a, b, nn.Window)
	}
}

// Predict returns the label of x's nearest training series (the first
// one on ties).
func (nn *NearestNeighbour) Predict(x [][]float64) int {
	best, label := math.Inf(1), -1
	for i, t := range nn.Train {
		if d := nn.dist(x, t); d < best {
			best, label = d, nn.Labels[i]
		}
	}
	return label
}

// LearnWindow sets nn.Window to the band (in percent of the longest
// training series, 0 … maxPercent) of fewest leave-one-out errors on the
// training set, the smallest on ties, as the UCR archive learns DTW's
// window; it returns the percent and the leave-one-out accuracy.
func (nn *NearestNeighbour) LearnWindow(maxPercent int) (percent int, looAcc float64) {
	if len(nn.Train) < 2 {
		panic(fmt.Sprintf("timeseries: learning a window needs 2 training series, have %d", len(nn.Train)))
	}
	L := 0
	for _, t := range nn.Train {
		L = max(L, len(t))
	}
	bestErr := len(nn.Train) + 1
	lastW := -1
	for p := 0; p <= maxPercent; p++ {
		w := int(math.Ceil(float64(p) * float64(L) / 100))
		if w == lastW {
			continue // the same band as a smaller percent
		}
		lastW = w
		errs := 0
		for i, x := range nn.Train {
			best, label := math.Inf(1), -1
			for j, t := range nn.Train {
				if j == i {
					continue
				}
				var d float64
				if nn.Distance == DTWI {
					d = DTWIndependent(x, t, w)
				} else {
					d = DTW(x, t, w)
				}
				if d < best {
					best, label = d, nn.Labels[j]
				}
			}
			if label != nn.Labels[i] {
				errs++
			}
		}
		if errs < bestErr {
			bestErr, percent, nn.Window = errs, p, w
		}
	}
	return percent, 1 - float64(bestErr)/float64(len(nn.Train))
}
