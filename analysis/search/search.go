package search

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// The distributions.
const (
	Naive    = "naive"
	Balanced = "balanced"
)

// Distributions lists the distributions' names.
var Distributions = []string{Naive, Balanced}

// Limits on Params.Vertices.
const (
	MinVertices = 4   // the naive generator draws 3…N−1 vertices
	MaxVertices = 100 // a sequence of 3N+5 tokens
)

// Params selects a distribution of examples.
type Params struct {
	Dist     string // Naive or Balanced
	Vertices int    // N: at most N vertices, ids 1…N
	// Lookahead is Balanced's L: each example's lookahead is uniform over
	// 0…L (with Fixed, exactly L). Naive ignores it.
	Lookahead int
	// Fixed makes every Balanced example's lookahead exactly Lookahead
	// (a test set at one lookahead; train.py's generate_eval_data).
	Fixed bool
}

// MaxLookahead is the largest lookahead n vertices allow: the balanced
// generator puts at least two branches of ℓ vertices besides the start,
// p ≥ 2 with p·ℓ ≤ N−1 (train.py's max_test_lookahead).
func MaxLookahead(n int) int { return (n - 1) / 2 }

// Validate checks p, naming the CLI flag of a bad field.
func (p Params) Validate() error {
	if !slices.Contains(Distributions, p.Dist) {
		return fmt.Errorf("--distribution %q: want one of %s", p.Dist, strings.Join(Distributions, ", "))
	}
	if p.Vertices < MinVertices || p.Vertices > MaxVertices {
		return fmt.Errorf("--vertices %d: want %d to %d (the naive generator draws 3 to N−1 vertices; inputs are 3N+5 tokens)", p.Vertices, MinVertices, MaxVertices)
	}
	if p.Dist == Balanced {
		if p.Lookahead < 0 {
			return fmt.Errorf("--lookahead %d: want at least 0", p.Lookahead)
		}
		if p.Fixed && p.Lookahead == 0 {
			return fmt.Errorf("--lookahead 0: a test set at a fixed lookahead needs at least 1 (lookahead 0 means a single child, nothing to choose)")
		}
		if need := 2*p.Lookahead + 1; p.Vertices < need {
			return fmt.Errorf("--lookahead %d needs at least %d vertices (--vertices %d): the balanced generator puts at least two branches of %d vertices besides the start", p.Lookahead, need, p.Vertices, p.Lookahead)
		}
	}
	return nil
}

// Vocab is the vocabulary size for N vertices: ids 1…N, P, E, padding, Q.
func Vocab(n int) int { return n + 5 }

// SeqLen is the padded input length for N vertices (max_input_size).
func SeqLen(n int) int { return 3*n + 5 }

// Special tokens for N vertices, as generator.cpp.
func PathToken(n int) int  { return n + 1 }
func EdgeToken(n int) int  { return n + 2 }
func PadToken(n int) int   { return n + 3 }
func QueryToken(n int) int { return n + 4 }

// Example is one input with its labels.
type Example struct {
	N           int      // the vertex budget (ids 1…N)
	Edges       [][2]int // (u, v) by id, in the input's (shuffled) order
	Start, Goal int
	Path        []int // the path prefix by id; Path[0] = Start
	Labels      []int // ids of the current vertex's children that reach Goal (sorted)
	Label       int   // the training target: one of Labels drawn uniformly
	Lookahead   int   // of the step to Next
	Next        int   // the next vertex on the shortest path the example was cut from
	Children    int   // the current vertex's out-degree
}

// Current is the prefix's last vertex.
func (e *Example) Current() int { return e.Path[len(e.Path)-1] }

// Tokens returns the unpadded input ids: E u v … Q s t P path….
func (e *Example) Tokens() []int {
	n := e.N
	ids := make([]int, 0, 3*len(e.Edges)+4+len(e.Path))
	for _, uv := range e.Edges {
		ids = append(ids, EdgeToken(n), uv[0], uv[1])
	}
	ids = append(ids, QueryToken(n), e.Start, e.Goal, PathToken(n))
	return append(ids, e.Path...)
}

// Padded returns the input left-padded to SeqLen(N), as generator.cpp.
func (e *Example) Padded() []int {
	ids := e.Tokens()
	out := make([]int, SeqLen(e.N)-len(ids), SeqLen(e.N))
	for i := range out {
		out[i] = PadToken(e.N)
	}
	return append(out, ids...)
}

// String renders the example as text: the input, then the labels and the
// lookahead.
func (e *Example) String() string {
	var b strings.Builder
	for _, uv := range e.Edges {
		fmt.Fprintf(&b, "E %d %d ", uv[0], uv[1])
	}
	fmt.Fprintf(&b, "Q %d %d P", e.Start, e.Goal)
	for _, v := range e.Path {
		b.WriteString(" " + strconv.Itoa(v))
	}
	labels := make([]string, len(e.Labels))
	for i, v := range e.Labels {
		labels[i] = strconv.Itoa(v)
	}
	fmt.Fprintf(&b, " | next %s | lookahead %d", strings.Join(labels, ","), e.Lookahead)
	return b.String()
}

// Generator draws examples of one distribution from a seeded stream.
type Generator struct {
	p       Params
	r       *rand.Rand
	want    int       // Balanced: the lookahead of the next example
	pending []Example // examples of the last graph not yet returned
	// Attempts counts graphs drawn (accepted or not).
	Attempts int
}

// NewGenerator returns a generator of p's distribution seeded by seed.
func NewGenerator(p Params, seed uint64) (*Generator, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	g := &Generator{p: p, r: rand.New(rand.NewPCG(seed, 0x2412_04703))}
	g.want = g.drawLookahead()
	return g, nil
}

func (g *Generator) drawLookahead() int {
	if g.p.Dist != Balanced {
		return -1
	}
	if g.p.Fixed {
		return g.p.Lookahead
	}
	return g.r.IntN(g.p.Lookahead + 1)
}

// maxAttempts bounds the graphs drawn for one example.
const maxAttempts = 1_000_000

// Next returns the next example.
func (g *Generator) Next() (Example, error) {
	for tries := 0; ; tries++ {
		if len(g.pending) > 0 {
			e := g.pending[0]
			g.pending = g.pending[1:]
			if g.p.Dist == Balanced && e.Lookahead != g.want {
				continue
			}
			if g.p.Fixed && (e.Children < 2 || len(e.Labels) != 1) {
				continue
			}
			g.want = g.drawLookahead()
			return e, nil
		}
		if tries > maxAttempts {
			return Example{}, fmt.Errorf("search: no example after %d graphs (%+v)", maxAttempts, g.p)
		}
		g.pending = g.graphExamples()
	}
}

// Dataset returns count examples of p drawn with seed.
func Dataset(p Params, count int, seed uint64) ([]Example, error) {
	g, err := NewGenerator(p, seed)
	if err != nil {
		return nil, err
	}
	out := make([]Example, count)
	for i := range out {
		if out[i], err = g.Next(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// graphExamples draws one graph and returns its examples (every prefix of
// every shortest path), or none when the graph is rejected.
func (g *Generator) graphExamples() []Example {
	g.Attempts++
	n, r := g.p.Vertices, g.r
	var gr *graph
	var start, goal int
	if g.p.Dist == Naive {
		gr, start, goal = naiveGraph(r, randrange(r, 3, n), n)
	} else {
		look := g.want
		var paths int
		if look == 0 {
			paths = randrange(r, 1, 3)
		} else {
			paths = randrange(r, 2, (n-1)/look+1)
		}
		nv := min(look*paths+1+randrange(r, 0, 6), n, n+1)
		gr, start, goal = balancedGraph(r, nv, n, look, paths, SeqLen(n))
	}
	paths := gr.shortestPaths(start, goal)
	if paths == nil || gr.edgeCount() > n {
		return nil
	}
	var edges [][2]int
	for u, cs := range gr.children {
		for _, v := range cs {
			edges = append(edges, [2]int{gr.id[u], gr.id[v]})
		}
	}
	r.Shuffle(len(edges), func(i, j int) { edges[i], edges[j] = edges[j], edges[i] })
	var out []Example
	for _, path := range paths {
		for j := 1; j < len(path); j++ {
			if 3*len(edges)+4+j > SeqLen(n) {
				continue
			}
			cur := path[j-1]
			e := Example{N: n, Edges: edges, Start: gr.id[start], Goal: gr.id[goal],
				Lookahead: gr.lookahead(cur, path[j], goal), Next: gr.id[path[j]], Children: len(gr.children[cur])}
			for _, v := range path[:j] {
				e.Path = append(e.Path, gr.id[v])
			}
			var useful []int
			for _, c := range gr.children[cur] {
				if gr.reaches(c, goal) {
					useful = append(useful, gr.id[c])
				}
			}
			e.Label = useful[r.IntN(len(useful))]
			slices.Sort(useful)
			e.Labels = useful
			out = append(out, e)
		}
	}
	return out
}

// Histogram returns the fraction of examples at each lookahead 0…max.
func Histogram(ex []Example) []float64 {
	m := 0
	for _, e := range ex {
		m = max(m, e.Lookahead)
	}
	h := make([]float64, m+1)
	for _, e := range ex {
		h[e.Lookahead] += 1 / float64(len(ex))
	}
	return h
}

// fromEdges rebuilds an example's graph from its edge list: vertex index
// = id (0 unused).
func (e *Example) fromEdges() *graph {
	g := newGraph(e.N + 1)
	for i := range g.id {
		g.id[i] = i
	}
	for _, uv := range e.Edges {
		g.edge(uv[0], uv[1])
	}
	return g
}

// ValidNext recomputes, from the example's edge list alone, the children
// of the current vertex from which the goal is reachable (sorted ids).
func (e *Example) ValidNext() []int {
	g := e.fromEdges()
	var out []int
	for _, c := range g.children[e.Current()] {
		if g.reaches(c, e.Goal) {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}

// LookaheadVia recomputes, from the edge list alone, the lookahead of
// stepping from the current vertex to next (generator.cpp's
// lookahead_depth).
func (e *Example) LookaheadVia(next int) int {
	return e.fromEdges().lookahead(e.Current(), next, e.Goal)
}

// IsDAG reports whether the example's graph is acyclic.
func (e *Example) IsDAG() bool { return !e.fromEdges().hasCycle() }
