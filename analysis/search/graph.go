package search

import (
	"math/rand/v2"
	"slices"
)

// maxParents is generator.cpp's max_num_parents (4): randrange(1, 4) and
// randrange(0, 4) draw at most 3.
const maxParents = 4

// maxPaths is generator.cpp's limit on shortest paths: a graph with more
// is rejected.
const maxPaths = 64

// alpha is generator.cpp's ALPHA, the smoothing of the degree-proportional
// draws of the balanced generator's extra vertices.
const alpha = 0.5

// graph is a DAG over vertices 0…n−1 (in construction order) with their
// ids after relabelling.
type graph struct {
	children, parents [][]int
	id                []int
}

func newGraph(n int) *graph {
	return &graph{children: make([][]int, n), parents: make([][]int, n), id: make([]int, n)}
}

func (g *graph) n() int { return len(g.children) }

func (g *graph) edge(u, v int) {
	g.children[u] = append(g.children[u], v)
	g.parents[v] = append(g.parents[v], u)
}

// randrange is generator.cpp's randrange(start, end): uniform in
// start…end−1.
func randrange(r *rand.Rand, start, end int) int { return start + r.IntN(end-start) }

// relabel gives the vertices distinct ids drawn uniformly from 1…maxID, as
// generator.cpp's shuffle of 0…max_vertex_id that skips the reserved 0.
func (g *graph) relabel(r *rand.Rand, maxID int) {
	perm := r.Perm(maxID)
	for i := range g.id {
		g.id[i] = perm[i] + 1
	}
}

// naiveGraph is generator.cpp's generate_graph: vertex i ≥ 1 takes 1
// parent with probability ½, else randrange(1, maxParents) parents, at
// most i, uniformly without replacement from 0…i−1; start and goal are
// distinct and drawn uniformly from all vertices but the last.
func naiveGraph(r *rand.Rand, n, maxID int) (g *graph, start, goal int) {
	g = newGraph(n)
	for i := 1; i < n; i++ {
		k := 1
		if r.IntN(2) != 0 {
			k = randrange(r, 1, maxParents)
		}
		k = min(k, i)
		avail := make([]int, i)
		for j := range avail {
			avail[j] = j
		}
		for range k {
			u := r.IntN(len(avail))
			g.edge(avail[u], i)
			avail = slices.Delete(avail, u, u+1)
		}
	}
	g.relabel(r, maxID)
	start = r.IntN(n - 1)
	for goal = start; goal == start; {
		goal = r.IntN(n - 1)
	}
	return g, start, goal
}

// descendants returns the vertices reachable from v by at least one edge.
func (g *graph) descendants(v int) []bool {
	seen := make([]bool, g.n())
	stack := []int{v}
	for len(stack) > 0 {
		u := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, c := range g.children[u] {
			if !seen[c] {
				seen[c] = true
				stack = append(stack, c)
			}
		}
	}
	return seen
}

// reaches reports whether goal is reachable from v (v == goal included),
// generator.cpp's has_path.
func (g *graph) reaches(v, goal int) bool {
	return v == goal || g.descendants(v)[goal]
}

// categorical draws an index with probability p[i]/Σp (p ≥ 0, Σp > 0).
func categorical(r *rand.Rand, p []float64) int {
	total := 0.0
	for _, x := range p {
		total += x
	}
	u := r.Float64() * total
	last := -1
	for i, x := range p {
		if x <= 0 {
			continue
		}
		last = i
		if u < x {
			return i
		}
		u -= x
	}
	return last
}

// balancedGraph is generator.cpp's generate_graph_with_lookahead: the
// start 0, the goal max(1, ℓ), a path of ℓ edges between them, numPaths−1
// other branches out of the start, a chain of ancestors of the start and
// the remaining vertices joined by degree-proportional draws.
func balancedGraph(r *rand.Rand, n, maxID, look, numPaths, maxPrefix int) (g *graph, start, goal int) {
	n = max(2, n, 1+numPaths*look)
	g = newGraph(n)
	g.edge(0, 1)
	for i := 1; i < look; i++ {
		g.edge(i, i+1)
	}
	index := 2
	if look > 0 {
		index = 1 + look
		for j := range numPaths - 1 {
			g.edge(0, index)
			index++
			// generator.cpp: lookahead + randrange(min(2, n − index −
			// (numPaths−j−1)·ℓ + 2)), the +1 vertex only when the budget
			// has room for it.
			slack := n - index - (numPaths-j-1)*look + 2
			length := look
			if m := min(2, slack); m > 1 {
				length += r.IntN(m)
			}
			for i := 1; i < length; i++ {
				g.edge(index-1, index)
				index++
			}
		}
	}
	prefix := r.IntN(min(maxPrefix+1, n-index+1))
	prev := 0
	for range prefix {
		g.edge(index, prev)
		prev = index
		index++
	}
	start, goal = 0, max(1, look)

	in, out := make([]float64, n), make([]float64, n)
	for i := range n {
		in[i], out[i] = float64(len(g.parents[i])), float64(len(g.children[i]))
	}
	for ; index < n; index++ {
		nc := randrange(r, 0, maxParents)
		lo := 0
		if nc == 0 {
			lo = 1
		}
		np := randrange(r, lo, maxParents)
		nc, np = min(nc, index), min(np, index)
		p := make([]float64, index)
		for j := range p {
			p[j] = alpha + in[j]
		}
		for range nc {
			u := categorical(r, p)
			p[u] = 0
			g.edge(index, u)
			in[u]++
		}
		for j := range p {
			p[j] = alpha + out[j]
		}
		desc := g.descendants(index)
		nd := 0
		for j := range p {
			if desc[j] {
				p[j] = 0
				nd++
			}
		}
		if nd == index {
			continue // every earlier vertex is a descendant: no parent possible
		}
		np = min(np, index-nd)
		for range np {
			u := categorical(r, p)
			p[u] = 0
			g.edge(u, index)
			out[u]++
		}
	}
	g.relabel(r, maxID)
	return g, start, goal
}

// shortestPaths returns every shortest path from start to goal (vertex
// indices), or nil when goal is unreachable or there are more than
// maxPaths of them.
func (g *graph) shortestPaths(start, goal int) [][]int {
	dist := make([]int, g.n())
	for i := range dist {
		dist[i] = -1
	}
	dist[start] = 0
	queue := []int{start}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		for _, c := range g.children[u] {
			if dist[c] < 0 {
				dist[c] = dist[u] + 1
				queue = append(queue, c)
			}
		}
	}
	if dist[goal] < 0 {
		return nil
	}
	var paths [][]int
	var walk func(v int, tail []int) bool
	walk = func(v int, tail []int) bool {
		tail = append([]int{v}, tail...)
		if v == start {
			paths = append(paths, tail)
			return len(paths) <= maxPaths
		}
		for _, u := range g.parents[v] {
			if dist[u] >= 0 && dist[u] == dist[v]-1 {
				if !walk(u, tail) {
					return false
				}
			}
		}
		return true
	}
	if !walk(goal, nil) {
		return nil
	}
	return paths
}

// lookahead is generator.cpp's lookahead_depth(vertex, next, goal): the
// number of breadth-first steps from vertex's children until every
// frontier vertex descends from next (the correct branch) or the goal is
// reached.
func (g *graph) lookahead(vertex, next, goal int) int {
	type entry struct{ v, branch int }
	var frontier []entry
	visited := map[int]bool{}
	for _, c := range g.children[vertex] {
		frontier = append(frontier, entry{c, c})
		visited[c] = true
	}
	look := 0
	for len(frontier) > 0 {
		all := true
		for _, e := range frontier {
			if e.branch != next {
				all = false
				break
			}
		}
		if all {
			return look
		}
		look++
		var nf []entry
		for _, e := range frontier {
			if e.v == goal {
				return look
			}
			for _, c := range g.children[e.v] {
				if !visited[c] {
					nf = append(nf, entry{c, e.branch})
					visited[c] = true
				} else if e.branch == next {
					for i := range nf {
						if nf[i].v == c {
							nf[i].branch = e.branch
						}
					}
				}
			}
		}
		frontier = nf
	}
	return look
}

// edgeCount is the number of edges.
func (g *graph) edgeCount() int {
	n := 0
	for _, c := range g.children {
		n += len(c)
	}
	return n
}

// hasCycle reports whether some vertex is its own descendant.
func (g *graph) hasCycle() bool {
	for v := range g.n() {
		if g.descendants(v)[v] {
			return true
		}
	}
	return false
}
