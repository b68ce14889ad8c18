package tensor

import (
	"fmt"
	"iter"
	"math"
	"slices"
)

// Stochastically subsampled self-attention (SSA; Hussain, Zaki and
// Subramanian, "The Information Pathways Hypothesis: Transformers are
// Dynamic Self-Ensembles", arXiv 2306.01705): in every training step each
// query attends to a random, locally biased subset of the keys, and the
// fused kernel computes only the tiles of those keys, forward and backward,
// so time and the score tiles shrink with the subset.
//
// The subset is chosen by tile: queries and keys are cut into tiles of
// SSATile positions (the fused kernel's tile), and each query tile i of
// every (batch row, head) gets its own sorted list of key tiles (an
// SSAPlan). SampleSSA's rule, with n_i the key tiles query tile i may see
// at all (i+1 causally, every tile otherwise):
//
//   - the budget is m_i = min(n_i, max(1, ⌈ratio·n_i⌉)) tiles;
//   - the query tile's own (diagonal) key tile is always kept: it holds
//     each query's nearest keys and, causally, its own position, so no
//     query is left without a key;
//   - the other m_i − 1 tiles are drawn without replacement among the
//     remaining visible tiles j with weights (1 + |i − j|)^(−locality)
//     (Efraimidis–Spirakis: the largest log(u)/w with u uniform): locality
//     0 is the paper's unbiased subsampling, locality > 0 its locally
//     biased one, nearer tiles drawn more often.
//
// With ratio 1 every visible tile is kept and the kernel does exactly the
// dense computation, in the same order (the same bits).

// SSATile is the tile (in query and key positions) SSA samples by.
const SSATile = flashBk

// SSAPlan is one subsampled attention pattern: for every (batch row, head)
// and query tile, the sorted key tiles attended (and the inverse map the
// backward pass walks).
type SSAPlan struct {
	B, H, T int // the batch, heads and positions it was drawn for
	Tiles   int // ⌈T/SSATile⌉
	Causal  bool
	keys    [][]int32 // [(b·H+h)·Tiles + i] → key tiles of query tile i
	queries [][]int32 // [(b·H+h)·Tiles + j] → query tiles that attend key tile j
}

// SampleSSA draws a plan for B rows of H heads and T positions; ratio in
// (0, 1] is the share of visible key tiles each query tile keeps and
// locality ≥ 0 the exponent of the bias towards near tiles (rule above).
func SampleSSA(r *RNG, B, H, T int, ratio, locality float64, causal bool) (*SSAPlan, error) {
	switch {
	case !(ratio > 0 && ratio <= 1):
		return nil, fmt.Errorf("tensor: SSA ratio %v, want (0, 1]", ratio)
	case !(locality >= 0) || math.IsInf(locality, 1):
		return nil, fmt.Errorf("tensor: SSA locality %v, want a finite number ≥ 0", locality)
	case B < 1 || H < 1 || T < 1:
		return nil, fmt.Errorf("tensor: SSA plan for B %d, H %d, T %d: want positive sizes", B, H, T)
	}
	n := (T + SSATile - 1) / SSATile
	p := &SSAPlan{B: B, H: H, T: T, Tiles: n, Causal: causal, keys: make([][]int32, B*H*n), queries: make([][]int32, B*H*n)}
	type cand struct {
		key  float64
		tile int32
	}
	var cs []cand
	for bh := range B * H {
		for i := range n {
			visible := n
			if causal {
				visible = i + 1
			}
			m := min(visible, max(1, int(math.Ceil(ratio*float64(visible)-1e-9))))
			keep := make([]int32, 0, m)
			keep = append(keep, int32(i))
			if m > 1 {
				cs = cs[:0]
				for j := range visible {
					if j == i {
						continue
					}
					w := math.Pow(1+math.Abs(float64(i-j)), -locality)
					u := r.Float64()
					for u == 0 {
						u = r.Float64()
					}
					cs = append(cs, cand{math.Log(u) / w, int32(j)})
				}
				slices.SortFunc(cs, func(a, b cand) int {
					if a.key != b.key {
						if a.key > b.key {
							return -1
						}
						return 1
					}
					return int(a.tile - b.tile)
				})
				for _, c := range cs[:m-1] {
					keep = append(keep, c.tile)
				}
			}
			slices.Sort(keep)
			p.keys[bh*n+i] = keep
			for _, j := range keep {
				p.queries[bh*n+int(j)] = append(p.queries[bh*n+int(j)], int32(i))
			}
		}
	}
	return p, nil
}

// KeyTiles returns the key tiles query tile i of batch row b, head h
// attends.
func (p *SSAPlan) KeyTiles(b, h, i int) []int32 { return p.keys[(b*p.H+h)*p.Tiles+i] }

// Pairs returns the number of (query, key) pairs the plan computes that
// the mask lets through (the causal mask inside the kept tiles), summed
// over batch rows and heads, and the same count for dense attention: the
// ratio is SSA's share of attention's FLOPs and of the score entries a
// non-fused attention would hold.
func (p *SSAPlan) Pairs() (sampled, dense int64) {
	for bh := range p.B * p.H {
		for i := range p.Tiles {
			q0, q1 := i*SSATile, min(p.T, (i+1)*SSATile)
			for _, j := range p.keys[bh*p.Tiles+i] {
				k0, k1 := int(j)*SSATile, min(p.T, (int(j)+1)*SSATile)
				for t := q0; t < q1; t++ {
					hi := k1
					if p.Causal {
						hi = min(k1, t+1)
					}
					sampled += int64(max(0, hi-k0))
				}
			}
		}
	}
	per := int64(p.T) * int64(p.T)
	if p.Causal {
		per = int64(p.T) * int64(p.T+1) / 2
	}
	return sampled, per * int64(p.B*p.H)
}

// Mask returns the plan as an additive float32 mask [B, H, T, T]: 0 on the
// kept tiles, −Inf elsewhere (for a composed, dense reference; the causal
// mask is not included).
func (p *SSAPlan) Mask() *Tensor {
	m := Full(float32(math.Inf(-1)), p.B, p.H, p.T, p.T)
	d := Data[float32](m)
	for bh := range p.B * p.H {
		for i := range p.Tiles {
			for _, j := range p.keys[bh*p.Tiles+i] {
				k0, k1 := int(j)*SSATile, min(p.T, (int(j)+1)*SSATile)
				for t := i * SSATile; t < min(p.T, (i+1)*SSATile); t++ {
					clear(d[(bh*p.T+t)*p.T+k0 : (bh*p.T+t)*p.T+k1])
				}
			}
		}
	}
	return m
}

// check panics unless the plan fits the kernel's geometry.
func (p *SSAPlan) check(g flashGeom) {
	if p.B != g.B || p.H != g.H || p.T != g.T || g.S != g.T || p.Causal != g.causal {
		panic(fmt.Sprintf("tensor: SSA plan for B %d, H %d, T %d (causal %v) used on B %d, H %d, T %d, S %d (causal %v)",
			p.B, p.H, p.T, p.Causal, g.B, g.H, g.T, g.S, g.causal))
	}
}

// keyTiles yields the first key of every tile query tile i0/flashBq of
// batch-head bh computes among the keys [from, to): every tile without a
// plan, the plan's tiles with one.
func (g flashGeom) keyTiles(bh, i0, from, to int) iter.Seq[int] {
	start := from / flashBk * flashBk
	if g.ssa == nil {
		return func(yield func(int) bool) {
			for j0 := start; j0 < to; j0 += flashBk {
				if !yield(j0) {
					return
				}
			}
		}
	}
	return func(yield func(int) bool) {
		for _, t := range g.ssa.keys[bh*g.ssa.Tiles+i0/flashBq] {
			if j0 := int(t) * flashBk; j0 >= start && j0 < to && !yield(j0) {
				return
			}
		}
	}
}

// queryTiles yields the first row of every query tile of batch-head bh
// that attends key tile j0/flashBk, among the rows [first, last).
func (g flashGeom) queryTiles(bh, j0, first, last int) iter.Seq[int] {
	start := first / flashBq * flashBq
	if g.ssa == nil {
		return func(yield func(int) bool) {
			for i0 := start; i0 < last; i0 += flashBq {
				if !yield(i0) {
					return
				}
			}
		}
	}
	return func(yield func(int) bool) {
		for _, t := range g.ssa.queries[bh*g.ssa.Tiles+j0/flashBk] {
			if i0 := int(t) * flashBq; i0 >= start && i0 < last && !yield(i0) {
				return
			}
		}
	}
}
