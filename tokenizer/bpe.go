package tokenizer

import (
	"container/heap"
	"fmt"
	"sync"
)

// mergeTable is the heart of every byte-pair encoder in this package: the
// merges as a map from an adjacent pair of token ids to the merge's rank
// (lower merges first) and the id of the merged token. tiktoken's "merge
// the pair whose concatenation has the lowest rank" and Hugging Face's
// ordered merge list both reduce to it.
type mergeTable map[uint64]merge

type merge struct {
	rank int32
	id   int32
}

func pairKey(a, b int) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// bpeEncode merges the initial symbols of one word (ids) in place and
// returns the result: repeatedly the adjacent pair of lowest rank, leftmost
// first on ties. Short words scan; long ones use a heap over a linked list,
// so whole-text words (pre-tokenizer-free models) stay O(n log n).
func (mt mergeTable) bpeEncode(ids []int) []int {
	if len(ids) < 2 {
		return ids
	}
	if len(ids) <= 48 {
		return mt.bpeScan(ids)
	}
	return mt.bpeHeap(ids)
}

func (mt mergeTable) bpeScan(ids []int) []int {
	for len(ids) > 1 {
		best, at := int32(-1), -1
		var id int32
		for i := 0; i+1 < len(ids); i++ {
			if m, ok := mt[pairKey(ids[i], ids[i+1])]; ok && (best < 0 || m.rank < best) {
				best, at, id = m.rank, i, m.id
			}
		}
		if at < 0 {
			break
		}
		ids[at] = int(id)
		ids = append(ids[:at+1], ids[at+2:]...)
	}
	return ids
}

// candidate is a possible merge of the symbol at pos with its right
// neighbour, valid while both symbols are unchanged.
type candidate struct {
	rank     int32
	pos      int
	left, rt int // ids expected at pos and at its right neighbour
}

type candHeap []candidate

func (h candHeap) Len() int { return len(h) }
func (h candHeap) Less(i, j int) bool {
	if h[i].rank != h[j].rank {
		return h[i].rank < h[j].rank
	}
	return h[i].pos < h[j].pos
}
func (h candHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *candHeap) Push(x any)   { *h = append(*h, x.(candidate)) }
func (h *candHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (mt mergeTable) bpeHeap(ids []int) []int {
	n := len(ids)
	next, prev := make([]int, n), make([]int, n)
	alive := make([]bool, n)
	for i := range ids {
		next[i], prev[i], alive[i] = i+1, i-1, true
	}
	next[n-1] = -1
	h := &candHeap{}
	push := func(i int) {
		j := next[i]
		if j < 0 {
			return
		}
		if m, ok := mt[pairKey(ids[i], ids[j])]; ok {
			heap.Push(h, candidate{rank: m.rank, pos: i, left: ids[i], rt: ids[j]})
		}
	}
	for i := 0; i+1 < n; i++ {
		push(i)
	}
	for h.Len() > 0 {
		c := heap.Pop(h).(candidate)
		i := c.pos
		j := next[i]
		if !alive[i] || j < 0 || ids[i] != c.left || ids[j] != c.rt {
			continue // stale
		}
		m := mt[pairKey(ids[i], ids[j])]
		ids[i] = int(m.id)
		alive[j] = false
		next[i] = next[j]
		if next[j] >= 0 {
			prev[next[j]] = i
		}
		if p := prev[i]; p >= 0 {
			push(p)
		}
		push(i)
	}
	out := ids[:0]
	for i := 0; i >= 0 && i < n; i = next[i] {
		out = append(out, ids[i])
	}
	return out
}

// wordCache memoises word → ids for the frequent words of natural text.
type wordCache struct {
	mu sync.RWMutex
	m  map[string][]int
}

const wordCacheMax = 1 << 16

func (c *wordCache) get(w string) ([]int, bool) {
	c.mu.RLock()
	ids, ok := c.m[w]
	c.mu.RUnlock()
	return ids, ok
}

func (c *wordCache) put(w string, ids []int) {
	c.mu.Lock()
	if c.m == nil || len(c.m) >= wordCacheMax {
		c.m = make(map[string][]int, 1024) // start over: cheap and bounded
	}
	c.m[w] = ids
	c.mu.Unlock()
}

// checkID panics with a clear message on an id outside [0, n): a model that
// produces such an id is broken, so this is a programming error.
func checkID(id, n int) {
	if id < 0 || id >= n {
		panic(fmt.Sprintf("tokenizer: id %d outside the vocabulary [0, %d)", id, n))
	}
}
