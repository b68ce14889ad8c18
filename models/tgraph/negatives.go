package tgraph

import (
	"fmt"
	"slices"
	"sort"

	"github.com/loomml/loom/data/events"
	"github.com/loomml/loom/tensor"
)

// Strategy is a way of drawing negative edges for evaluation, from
// Poursafaei et al., "Towards Better Evaluation for Dynamic Link
// Prediction" (NeurIPS 2022 Datasets and Benchmarks, arXiv 2207.10128),
// as DyGLib's NegativeEdgeSampler implements them (utils/utils.py of
// yule-BUAA/DyGLib, which the sampler below follows).
type Strategy string

const (
	// Random keeps each positive's source u and draws the destination v′
	// uniformly from the stream's destination nodes: (u, v′).
	Random Strategy = "random"
	// Historical draws whole edges (u′, v′) without replacement from the
	// distinct edges seen at or before the batch's first timestamp that
	// do not occur during the batch's time span; when there are fewer
	// than needed, all of them and random edges for the rest (distinct,
	// not the batch's and not among those; DyGLib allows repeats).
	Historical Strategy = "historical"
	// Inductive is Historical restricted to edges never seen up to the
	// last observed time (the end of training for validation, of
	// validation for the test): edges first seen during the evaluation
	// period, before the batch.
	Inductive Strategy = "inductive"
)

// Strategies lists the negative-sampling strategies.
var Strategies = []Strategy{Random, Historical, Inductive}

// ParseStrategy checks a strategy's name.
func ParseStrategy(name string) (Strategy, error) {
	for _, s := range Strategies {
		if string(s) == name {
			return s, nil
		}
	}
	return "", fmt.Errorf("tgraph: negative sampling %q (want random, historical or inductive)", name)
}

type pair struct{ u, v int }

// NegativeSampler draws one negative edge per positive edge of a batch.
// Its node pools are the distinct sources and destinations of its events,
// and the edge history of Historical and Inductive is made of them, so
// evaluation builds it over the whole stream (DyGLib's evaluation
// samplers take full_data) and training over the training events
// (DyGLib's train sampler, random). Batches must come in chronological
// order; the draws are seeded (PCG) and depend only on the events and the
// positives, never on a model, so every model is scored on the same
// negatives.
type NegativeSampler struct {
	S        *events.Stream
	Strategy Strategy
	// Observed is the last observed time of Inductive: an edge seen at or
	// before it is not a negative.
	Observed float64

	idx        []int // events, chronological
	srcs, dsts []int // distinct endpoints, ascending
	rng        *tensor.RNG

	// the distinct edges up to the last batch start, in order of first
	// appearance, and how far into idx they have been read
	hist    []pair
	inHist  map[pair]bool
	read    int
	lastT   float64
	started bool
	// edges seen at or before Observed
	observed map[pair]bool
}

// NewNegativeSampler draws negatives with strategy st from the events idx
// of s (chronological), seeded; observed is Inductive's last observed time.
func NewNegativeSampler(s *events.Stream, idx []int, st Strategy, observed float64, seed uint64) (*NegativeSampler, error) {
	if _, err := ParseStrategy(string(st)); err != nil {
		return nil, err
	}
	if len(idx) == 0 {
		return nil, fmt.Errorf("tgraph: a negative sampler over no events")
	}
	if _, err := NewHistory(s, idx); err != nil {
		return nil, err
	}
	n := &NegativeSampler{S: s, Strategy: st, Observed: observed, idx: idx, rng: tensor.NewRNG(seed ^ 0x6e656773), inHist: map[pair]bool{}}
	srcs, dsts := map[int]bool{}, map[int]bool{}
	for _, i := range idx {
		srcs[s.Src[i]] = true
		dsts[s.Dst[i]] = true
	}
	n.srcs, n.dsts = sortedKeys(srcs), sortedKeys(dsts)
	if st == Inductive {
		n.observed = map[pair]bool{}
		for _, i := range idx {
			if s.Time[i] <= observed {
				n.observed[pair{s.Src[i], s.Dst[i]}] = true
			}
		}
	}
	return n, nil
}

func sortedKeys(m map[int]bool) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Sample returns negatives for the positive edges src[i] → dst[i] of a
// batch spanning times [start, end].
func (n *NegativeSampler) Sample(src, dst []int, start, end float64) (negSrc, negDst []int) {
	size := len(src)
	if n.Strategy == Random {
		negDst = make([]int, size)
		for i := range negDst {
			negDst[i] = n.dsts[n.rng.Intn(len(n.dsts))]
		}
		return slices.Clone(src), negDst
	}
	if n.started && start < n.lastT {
		panic(fmt.Sprintf("tgraph: negative sampler batches out of order (start %v after %v)", start, n.lastT))
	}
	n.started, n.lastT = true, start
	// the distinct edges with t ≤ start
	for n.read < len(n.idx) && n.S.Time[n.idx[n.read]] <= start {
		i := n.idx[n.read]
		if e := (pair{n.S.Src[i], n.S.Dst[i]}); !n.inHist[e] {
			n.inHist[e] = true
			n.hist = append(n.hist, e)
		}
		n.read++
	}
	// the edges during [start, end], of all events, not only the batch's
	during := map[pair]bool{}
	lo := sort.Search(len(n.idx), func(k int) bool { return n.S.Time[n.idx[k]] >= start })
	for k := lo; k < len(n.idx) && n.S.Time[n.idx[k]] <= end; k++ {
		i := n.idx[k]
		during[pair{n.S.Src[i], n.S.Dst[i]}] = true
	}
	var cands []pair
	for _, e := range n.hist {
		if !during[e] && (n.observed == nil || !n.observed[e]) {
			cands = append(cands, e)
		}
	}
	var picked []pair
	if size > len(cands) {
		picked = append(n.randomEdges(size-len(cands), src, dst, cands), cands...)
	} else {
		for k := range size { // partial Fisher–Yates
			j := k + n.rng.Intn(len(cands)-k)
			cands[k], cands[j] = cands[j], cands[k]
		}
		picked = cands[:size]
	}
	negSrc, negDst = make([]int, size), make([]int, size)
	for i, e := range picked {
		negSrc[i], negDst[i] = e.u, e.v
	}
	return negSrc, negDst
}

// randomEdges draws k edges uniformly from sources × destinations that
// are not edges of the batch (DyGLib's random_sample_with_collision_
// check), distinct and not among taken (the candidates they pad; DyGLib
// allows both repeats) unless there are too few such edges.
func (n *NegativeSampler) randomEdges(k int, src, dst []int, taken []pair) []pair {
	batch := map[pair]bool{}
	for i := range src {
		batch[pair{src[i], dst[i]}] = true
	}
	possible := len(n.srcs)*len(n.dsts) - countIn(batch, n.srcs, n.dsts)
	if possible <= 0 {
		panic("tgraph: every possible edge is in the batch")
	}
	distinct := possible-len(taken) >= k // the taken edges are possible and not the batch's
	got := map[pair]bool{}
	for _, e := range taken {
		got[e] = true
	}
	out := make([]pair, 0, k)
	for len(out) < k {
		e := pair{n.srcs[n.rng.Intn(len(n.srcs))], n.dsts[n.rng.Intn(len(n.dsts))]}
		if batch[e] || distinct && got[e] {
			continue
		}
		got[e] = true
		out = append(out, e)
	}
	return out
}

// countIn counts the edges of m with a source in srcs and a destination in
// dsts.
func countIn(m map[pair]bool, srcs, dsts []int) int {
	c := 0
	for e := range m {
		if _, ok := slices.BinarySearch(srcs, e.u); !ok {
			continue
		}
		if _, ok := slices.BinarySearch(dsts, e.v); ok {
			c++
		}
	}
	return c
}
