package moefy

import (
	"fmt"
	"math"

	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// EMoE ("Unlocking Emergent Modularity in Large Language Models", arXiv
// 2310.10908) clusters the keys of a dense FFN's hidden units into
// experts: the official code (moe_utils.py) L2-normalises the rows of the
// first projection and runs constrained k-means into E clusters of equal
// size (KMeansConstrained, random_state 0); each expert's gate is the mean
// of its keys, the top k experts by x·g_e take the token with weight 1
// (tutel's one_score gate), and the gates follow the keys as they train.
//
// For a gated FFN (SwiGLU: down(act(gate x) ⊙ up x)) a hidden unit has
// two rows, of gate and up: loom clusters their concatenation [gate_h,
// up_h], L2-normalised, so that units grouped together respond alike in
// both; the gate vector is the mean of the gate rows (nn.RouterKeys), the
// projection whose activation decides whether a unit fires. For a
// two-layer FFN the keys are the up rows, as in the paper.
type emoe struct{}

// Iterations of the balanced k-means (KMeansConstrained's max_iter is
// 1000; loom's rounds stop as soon as the assignment repeats).
const emoeIters = 100

func (emoe) Router() string { return nn.RouterKeys }

func (emoe) Partition(in Input) (nn.Split, float64, error) {
	x, n, d, err := unitKeys(in.FFN)
	if err != nil {
		return nn.Split{}, 0, err
	}
	groups, cost := clusterKeys(x, n, d, in.Experts, in.RNG)
	return nn.Split{Groups: groups}, cost, nil
}

// clusterKeys L2-normalises the n keys x [n, d] in place and clusters them
// into e equal groups (BalancedKMeans), returning the groups (row indices)
// and the clustering cost.
func clusterKeys(x []float32, n, d, e int, rng *tensor.RNG) ([][]int, float64) {
	for i := range n { // L2-normalise each unit's key
		row := x[i*d : (i+1)*d]
		s := 0.0
		for _, v := range row {
			s += float64(v) * float64(v)
		}
		if s > 0 {
			inv := float32(1 / math.Sqrt(s))
			for j := range row {
				row[j] *= inv
			}
		}
	}
	labels := BalancedKMeans(x, n, d, e, rng, emoeIters)
	return groupsOf(labels, e), clusterCost(x, n, d, e, labels)
}

// unitKeys returns each hidden unit's key as a row of x [n, d]: its gate
// and up rows concatenated for a gated FFN, its up row for a two-layer
// one (a copy, as float32).
func unitKeys(f nn.FFN) (x []float32, n, d int, err error) {
	rows := func(l nn.Layer) (*tensor.Tensor, error) {
		lin, ok := l.(*nn.Linear)
		if !ok {
			return nil, fmt.Errorf("a %T projection (moefy splits Linear layers)", l)
		}
		return lin.Weight.Value.To(tensor.Float32).Contiguous(), nil
	}
	switch m := f.(type) {
	case *nn.GatedMLP:
		g, err := rows(m.Gate)
		if err != nil {
			return nil, 0, 0, err
		}
		u, err := rows(m.Up)
		if err != nil {
			return nil, 0, 0, err
		}
		return tensor.Concat(1, g, u).Contiguous().F32(), g.Dim(0), 2 * g.Dim(1), nil
	case *nn.MLP:
		u, err := rows(m.Up)
		if err != nil {
			return nil, 0, 0, err
		}
		return append([]float32(nil), u.F32()...), u.Dim(0), u.Dim(1), nil
	}
	return nil, 0, 0, fmt.Errorf("a %T cannot be split into experts (moefy splits gated and two-layer FFNs)", f)
}

// groupsOf lists the rows of each of e labels, in order.
func groupsOf(labels []int, e int) [][]int {
	out := make([][]int, e)
	for i, c := range labels {
		out[c] = append(out[c], i)
	}
	return out
}

// random assigns hidden units to experts by a random permutation (the
// paper's "random partition" baseline; the official code's random_cluster
// takes contiguous blocks of units, which for a trained FFN is as random).
type random struct{}

func (random) Router() string { return nn.RouterKeys }

func (random) Partition(in Input) (nn.Split, float64, error) {
	_, n, _, err := unitKeys(in.FFN)
	if err != nil {
		return nn.Split{}, 0, err
	}
	perm := in.RNG.Perm(n)
	labels := make([]int, n)
	for i, u := range perm {
		labels[u] = i % in.Experts
	}
	return nn.Split{Groups: groupsOf(labels, in.Experts)}, 0, nil
}

func init() {
	Register("emoe", emoe{})
	Register("random", random{})
}
