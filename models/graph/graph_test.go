package graph

import (
	"strings"
	"testing"

	"github.com/loomml/loom/tensor"
)

// Test graphs: atoms with two categorical features (vocabularies 4 and 3),
// bonds with one (vocabulary 3).

var (
	testNodeVocab = []int{4, 3}
	testEdgeVocab = []int{3}
)

// mustBonds is FromBonds for tests, with bond types cycling 0, 1, 2 and
// node features drawn from i.
func mustBonds(t testing.TB, n int, bonds [][2]int) *Graph {
	t.Helper()
	nodes := make([][]int, n)
	for i := range nodes {
		nodes[i] = []int{(i * 7) % 4, (i * 5) % 3}
	}
	feat := make([][]int, len(bonds))
	for b := range feat {
		feat[b] = []int{b % 3}
	}
	g, err := FromBonds(nodes, bonds, feat)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// ring is an n-cycle (n = 6: benzene's skeleton).
func ring(t testing.TB, n int) *Graph {
	var bonds [][2]int
	for i := range n {
		bonds = append(bonds, [2]int{i, (i + 1) % n})
	}
	return mustBonds(t, n, bonds)
}

// star is a centre joined to n−1 leaves (neopentane's skeleton for n = 5).
func star(t testing.TB, n int) *Graph {
	var bonds [][2]int
	for i := 1; i < n; i++ {
		bonds = append(bonds, [2]int{0, i})
	}
	return mustBonds(t, n, bonds)
}

// randomGraph is a connected graph of n nodes: a random tree plus extra
// random bonds, with random features.
func randomGraph(t testing.TB, r *tensor.RNG, n, extra int) *Graph {
	var bonds [][2]int
	seen := map[[2]int]bool{}
	add := func(i, j int) {
		if i == j || seen[[2]int{i, j}] || seen[[2]int{j, i}] {
			return
		}
		seen[[2]int{i, j}] = true
		bonds = append(bonds, [2]int{i, j})
	}
	for i := 1; i < n; i++ {
		add(r.Intn(i), i)
	}
	for range extra {
		add(r.Intn(n), r.Intn(n))
	}
	g := mustBonds(t, n, bonds)
	for _, row := range g.Nodes {
		row[0], row[1] = r.Intn(4), r.Intn(3)
	}
	for b := range bonds {
		v := r.Intn(3)
		g.Edges[2*b] = []int{v}
		g.Edges[2*b+1] = []int{v}
	}
	return g
}

// TestFromBondsAndAdjacency: a bond becomes two edges with its features,
// adjacency lists give the same graph, and inconsistent input is refused
// with a message naming the fault.
func TestFromBondsAndAdjacency(t *testing.T) {
	nodes := [][]int{{0}, {1}, {2}}
	g, err := FromBonds(nodes, [][2]int{{0, 1}, {1, 2}}, [][]int{{1}, {2}})
	if err != nil {
		t.Fatal(err)
	}
	wantSrc, wantDst := []int{0, 1, 1, 2}, []int{1, 0, 2, 1}
	for i := range wantSrc {
		if g.Src[i] != wantSrc[i] || g.Dst[i] != wantDst[i] || g.Edges[i][0] != 1+i/2 {
			t.Fatalf("edges %v → %v features %v", g.Src, g.Dst, g.Edges)
		}
	}
	adj := [][]int{{1}, {0, 2}, {1}}
	types := map[[2]int]int{{0, 1}: 1, {1, 0}: 1, {1, 2}: 2, {2, 1}: 2}
	a, err := FromAdjacency(nodes, adj, func(i, j int) []int { return []int{types[[2]int{i, j}]} })
	if err != nil {
		t.Fatal(err)
	}
	if a.NumEdges() != 4 || a.EdgeFeatures() != 1 || a.NodeFeatures() != 1 || a.NumNodes() != 3 {
		t.Fatalf("adjacency graph: %+v", a)
	}
	for _, c := range []struct {
		name string
		make func() (*Graph, error)
		want string
	}{
		{"self_loop", func() (*Graph, error) { return FromBonds(nodes, [][2]int{{1, 1}}, nil) }, "self-loop"},
		{"missing_node", func() (*Graph, error) { return FromBonds(nodes, [][2]int{{0, 3}}, nil) }, "3 nodes"},
		{"feature_rows", func() (*Graph, error) { return FromBonds(nodes, [][2]int{{0, 1}}, [][]int{{0}, {1}}) }, "feature rows"},
		{"ragged_nodes", func() (*Graph, error) { return FromBonds([][]int{{0}, {1, 2}}, nil, nil) }, "node 1 has 2 features"},
		{"negative", func() (*Graph, error) { return FromBonds([][]int{{-1}}, nil, nil) }, "is -1"},
		{"lists", func() (*Graph, error) { return FromAdjacency(nodes, adj[:2], nil) }, "adjacency lists"},
	} {
		if _, err := c.make(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
}

// TestCollate: nodes and edges concatenate with edges renumbered, each
// node knows its graph, the LapPE rows are each graph's own, and graphs
// with different numbers of features do not batch.
func TestCollate(t *testing.T) {
	a, b := ring(t, 6), star(t, 4)
	single := mustBonds(t, 1, nil)
	batch, err := Collate([]*Graph{a, single, b}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if batch.Graphs != 3 || batch.Nodes != 11 || batch.Edges() != 12+6 || batch.F != 2 || batch.Fe != 1 {
		t.Fatalf("batch of %d graphs, %d nodes, %d edges, F %d, Fe %d", batch.Graphs, batch.Nodes, batch.Edges(), batch.F, batch.Fe)
	}
	if got := batch.Offsets; got[0] != 0 || got[1] != 6 || got[2] != 7 || got[3] != 11 {
		t.Fatalf("offsets %v", got)
	}
	if batch.GraphOf[5] != 0 || batch.GraphOf[6] != 1 || batch.GraphOf[7] != 2 {
		t.Fatalf("graph of nodes %v", batch.GraphOf)
	}
	if batch.Src[12] != 7 || batch.Dst[12] != 8 {
		t.Fatalf("the star's first edge is %d → %d, want 7 → 8", batch.Src[12], batch.Dst[12])
	}
	pe := b.PE(3)
	for i := range 4 {
		for c := range 3 {
			if got := float64(batch.PE.At(7+i, c)); got != float64(float32(pe[i][c])) {
				t.Fatalf("PE row %d: %v, the star's own %v", 7+i, got, pe[i])
			}
		}
	}
	for c := range 3 {
		if batch.PE.At(6, c) != 0 {
			t.Fatal("a one-node graph has a LapPE of zeros")
		}
	}
	odd, _ := FromBonds([][]int{{0}, {1}}, [][2]int{{0, 1}}, nil)
	if _, err := Collate([]*Graph{a, odd}, 0); err == nil {
		t.Fatal("graphs with 2 and 1 node features batched")
	}
}

// TestFull: full-graph edges relate every ordered pair of distinct nodes
// of each graph and no pair across graphs, keep the features of real
// edges and give the others NoEdge.
func TestFull(t *testing.T) {
	b, err := Collate([]*Graph{ring(t, 5), star(t, 3), mustBonds(t, 1, nil)}, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := b.Full()
	if f.Edges() != 5*4+3*2 || f.Fe != 1 || f.Nodes != b.Nodes || f != b.Full() {
		t.Fatalf("full graph: %d edges, Fe %d", f.Edges(), f.Fe)
	}
	real := map[[2]int]int{}
	for e := range b.Src {
		real[[2]int{b.Src[e], b.Dst[e]}] = b.EdgeFeat[e]
	}
	seen := map[[2]int]bool{}
	for e := range f.Src {
		s, d := f.Src[e], f.Dst[e]
		if s == d || b.GraphOf[s] != b.GraphOf[d] || seen[[2]int{s, d}] {
			t.Fatalf("full edge %d → %d", s, d)
		}
		seen[[2]int{s, d}] = true
		want, ok := real[[2]int{s, d}]
		if !ok {
			want = NoEdge
		}
		if f.EdgeFeat[e] != want {
			t.Fatalf("full edge %d → %d has feature %d, want %d", s, d, f.EdgeFeat[e], want)
		}
	}
	bare, _ := FromBonds([][]int{{0}, {1}, {2}}, [][2]int{{0, 1}}, nil)
	fb, _ := Collate([]*Graph{bare}, 0)
	if ff := fb.Full(); ff.Fe != 1 || ff.EdgeFeat[0] != 0 || ff.EdgeFeat[1] != NoEdge {
		t.Fatalf("featureless edges in the full graph: %v", ff.EdgeFeat)
	}
}
