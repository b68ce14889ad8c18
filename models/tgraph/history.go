package tgraph

import (
	"fmt"
	"sort"

	"github.com/loomml/loom/data/events"
)

// History is the set of events a model may look at: the events of a
// stream it has observed, in chronological order. Training uses the
// training events (TrainHistory; with events.MaskedSplit the masked nodes'
// events are not among them), evaluation every event of the stream
// (FullHistory), as DyGLib's neighbour samplers do; a prediction with
// cutoff t sees only the events of History strictly before t.
type History struct {
	S   *events.Stream
	Idx []int // event indices into S, chronological
}

// FullHistory is every event of s.
func FullHistory(s *events.Stream) *History {
	idx := make([]int, s.Len())
	for i := range idx {
		idx[i] = i
	}
	return &History{S: s, Idx: idx}
}

// NewHistory is the events idx of s, which must be in chronological order.
func NewHistory(s *events.Stream, idx []int) (*History, error) {
	for k := 1; k < len(idx); k++ {
		if s.Time[idx[k]] < s.Time[idx[k-1]] {
			return nil, fmt.Errorf("tgraph: history event %d (t=%v) comes after event %d (t=%v)", idx[k], s.Time[idx[k]], idx[k-1], s.Time[idx[k-1]])
		}
	}
	return &History{S: s, Idx: idx}, nil
}

// Before returns how many events of h happen strictly before t.
func (h *History) Before(t float64) int {
	return sort.Search(len(h.Idx), func(k int) bool { return h.S.Time[h.Idx[k]] >= t })
}

// Window returns the last w events of h strictly before t (fewer at the
// start of the stream), chronological: DyG2Vec's and Todyformer's input
// window. w ≤ 0 means every earlier event.
func (h *History) Window(t float64, w int) []int {
	n := h.Before(t)
	if w <= 0 || w > n {
		return h.Idx[:n]
	}
	return h.Idx[n-w : n]
}
