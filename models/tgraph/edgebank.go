package tgraph

// EdgeBank is the memorisation baseline of Poursafaei et al. ("Towards
// Better Evaluation for Dynamic Link Prediction", arXiv 2207.10128) with
// unlimited memory (EdgeBank∞): it stores every edge u → v observed so far
// and predicts 1 for a stored pair, 0 for any other. It has no parameters.
// As in DyGLib's edge_bank, pairs are directed and the memory at a
// prediction holds the history's events strictly before the cutoff.
type EdgeBank struct {
	mem  map[pair]bool
	h    *History
	read int // events of h in mem
	t    float64
}

// NewEdgeBank returns an empty EdgeBank.
func NewEdgeBank() *EdgeBank { return &EdgeBank{} }

// Score returns 1 for each pair src[i] → dst[i] that h holds before cutoff,
// else 0. Successive calls on one History with non-decreasing cutoffs
// extend the memory; any other call rebuilds it.
func (b *EdgeBank) Score(h *History, cutoff float64, src, dst []int) []float64 {
	if b.h != h || cutoff < b.t || b.mem == nil {
		b.mem, b.h, b.read = map[pair]bool{}, h, 0
	}
	b.t = cutoff
	for n := h.Before(cutoff); b.read < n; b.read++ {
		i := h.Idx[b.read]
		b.mem[pair{h.S.Src[i], h.S.Dst[i]}] = true
	}
	out := make([]float64, len(src))
	for i := range src {
		if b.mem[pair{src[i], dst[i]}] {
			out[i] = 1
		}
	}
	return out
}
