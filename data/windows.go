package data

import (
	"fmt"
	"iter"
)

// Tokens is a sequence of token ids to read windows from: a Shard, or IDs
// in memory.
type Tokens interface {
	Len() int
	// Read copies the tokens [start, start+len(dst)) into dst.
	Read(dst []int, start int)
}

// IDs is a token sequence held in memory.
type IDs []int

// Len returns the number of tokens.
func (ids IDs) Len() int { return len(ids) }

// Read copies the tokens [start, start+len(dst)) into dst.
func (ids IDs) Read(dst []int, start int) { copy(dst, ids[start:start+len(dst)]) }

// Window is one evaluation window of a shard: X holds the tokens
// [Start, Start+len(X)) and Y their next-token targets, the tokens
// [Start+1, Start+1+len(X)). Only the targets Y[ScoreFrom:] are new in this
// window; the earlier ones were scored by previous windows and are here
// only as context. X and Y are fresh slices that the caller may keep.
type Window struct {
	Start     int
	X, Y      []int
	ScoreFrom int
}

// Windows returns the strided sliding windows of at most seqLen tokens
// over s that score every target exactly once: the scheme of Hugging
// Face's "perplexity of fixed-length models". Window k starts at token
// k·stride and ends at the earlier of its start plus seqLen and the last
// token that has a target; targets up to the previous window's end are
// context, the rest are scored. Each of the Len()−1 targets (tokens 1 to
// Len()−1) is thus scored exactly once, with as much left context as a
// window allows: at least seqLen−stride tokens after the first window. The
// last window may be shorter than seqLen. stride == seqLen gives disjoint
// windows (no shared context); smaller strides cost more compute and give
// lower, more faithful perplexities.
//
// To evaluate, sum the loss of Y[ScoreFrom:] over all windows and divide by
// Len()−1. seqLen and stride must satisfy 1 ≤ stride ≤ seqLen, and the
// shard needs at least 2 tokens.
func Windows(s Tokens, seqLen, stride int) (iter.Seq[Window], error) {
	if seqLen < 1 || stride < 1 || stride > seqLen {
		return nil, fmt.Errorf("data: Windows: want 1 ≤ stride ≤ seqLen, have stride %d and seqLen %d", stride, seqLen)
	}
	if s.Len() < 2 {
		return nil, fmt.Errorf("data: Windows: %d tokens; at least 2 are needed for one target", s.Len())
	}
	return func(yield func(Window) bool) {
		last := s.Len() - 1 // inputs are tokens [0, last), targets [1, last]
		prevEnd := 0
		for begin := 0; ; begin += stride {
			end := min(begin+seqLen, last)
			n := end - begin
			w := Window{Start: begin, X: make([]int, n), Y: make([]int, n), ScoreFrom: prevEnd - begin}
			s.Read(w.X, begin)
			s.Read(w.Y, begin+1)
			if !yield(w) || end == last {
				return
			}
			prevEnd = end
		}
	}, nil
}

// NumWindows returns the number of windows that Windows yields for a shard
// of n ≥ 2 tokens (for progress reports).
func NumWindows(n, seqLen, stride int) int {
	if n < 2 || seqLen < 1 || stride < 1 || stride > seqLen {
		return 0
	}
	// Windows k = 0, 1, … continue while k·stride + seqLen < n−1.
	last := n - 1
	if seqLen >= last {
		return 1
	}
	return (last-seqLen+stride-1)/stride + 1
}
