package graph

import (
	"fmt"
)

// Graph is one graph: nodes with categorical features and directed edges
// with categorical features (an undirected bond is two edges, one each
// way). A molecule maps onto it directly: each atom's features (element,
// charge, aromaticity, hydrogen count…) as indices into per-feature
// vocabularies, each bond's type as an edge feature on both directions.
type Graph struct {
	// Nodes holds each node's feature indices, the same number F for
	// every node (F ≥ 1).
	Nodes [][]int
	// Src and Dst are the edges: edge i goes from node Src[i] to Dst[i].
	Src, Dst []int
	// Edges holds each edge's feature indices, the same number for every
	// edge; nil when edges have no features.
	Edges [][]int

	pe  [][]float64 // LapPE rows, computed by PE
	peK int
}

// NumNodes returns the number of nodes.
func (g *Graph) NumNodes() int { return len(g.Nodes) }

// NumEdges returns the number of (directed) edges.
func (g *Graph) NumEdges() int { return len(g.Src) }

// FromBonds builds an undirected graph from a list of bonds: bond b joins
// nodes bonds[b][0] and bonds[b][1] and becomes edges 2b (first → second)
// and 2b+1 (second → first), both with features bondFeat[b] (bondFeat nil:
// edges without features).
func FromBonds(nodes [][]int, bonds [][2]int, bondFeat [][]int) (*Graph, error) {
	if bondFeat != nil && len(bondFeat) != len(bonds) {
		return nil, fmt.Errorf("graph: %d bonds with %d feature rows", len(bonds), len(bondFeat))
	}
	g := &Graph{Nodes: nodes, Src: make([]int, 0, 2*len(bonds)), Dst: make([]int, 0, 2*len(bonds))}
	for b, ij := range bonds {
		g.Src = append(g.Src, ij[0], ij[1])
		g.Dst = append(g.Dst, ij[1], ij[0])
		if bondFeat != nil {
			g.Edges = append(g.Edges, bondFeat[b], bondFeat[b])
		}
	}
	return g, g.Check()
}

// FromAdjacency builds a graph from adjacency lists: adj[i] lists the
// nodes node i has an edge to, and edgeFeat(i, j) returns the features of
// the edge i → j (edgeFeat nil: edges without features). For an
// undirected graph the lists are symmetric (j in adj[i] and i in adj[j]).
// Edges are numbered in the order of the lists.
func FromAdjacency(nodes [][]int, adj [][]int, edgeFeat func(i, j int) []int) (*Graph, error) {
	if len(adj) != len(nodes) {
		return nil, fmt.Errorf("graph: %d adjacency lists for %d nodes", len(adj), len(nodes))
	}
	g := &Graph{Nodes: nodes}
	for i, nb := range adj {
		for _, j := range nb {
			g.Src = append(g.Src, i)
			g.Dst = append(g.Dst, j)
			if edgeFeat != nil {
				g.Edges = append(g.Edges, edgeFeat(i, j))
			}
		}
	}
	return g, g.Check()
}

// NodeFeatures returns the number of features of each node.
func (g *Graph) NodeFeatures() int {
	if len(g.Nodes) == 0 {
		return 0
	}
	return len(g.Nodes[0])
}

// EdgeFeatures returns the number of features of each edge (0 without).
func (g *Graph) EdgeFeatures() int {
	if len(g.Edges) == 0 {
		return 0
	}
	return len(g.Edges[0])
}

// Check reports an inconsistent graph: feature rows of different lengths,
// negative feature indices, edges naming nodes that do not exist or
// joining a node to itself, or edge features for some edges only.
func (g *Graph) Check() error {
	n := len(g.Nodes)
	if len(g.Src) != len(g.Dst) {
		return fmt.Errorf("graph: %d edge sources and %d destinations", len(g.Src), len(g.Dst))
	}
	if g.Edges != nil && len(g.Edges) != len(g.Src) {
		return fmt.Errorf("graph: %d edges with %d feature rows", len(g.Src), len(g.Edges))
	}
	for i, row := range g.Nodes {
		if err := checkRow(row, len(g.Nodes[0]), "node", i); err != nil {
			return err
		}
		if len(row) == 0 {
			return fmt.Errorf("graph: node %d has no features", i)
		}
	}
	for i, row := range g.Edges {
		if err := checkRow(row, len(g.Edges[0]), "edge", i); err != nil {
			return err
		}
	}
	for i := range g.Src {
		s, d := g.Src[i], g.Dst[i]
		if s < 0 || s >= n || d < 0 || d >= n {
			return fmt.Errorf("graph: edge %d joins %d and %d in a graph of %d nodes", i, s, d, n)
		}
		if s == d {
			return fmt.Errorf("graph: edge %d is a self-loop on node %d", i, s)
		}
	}
	return nil
}

func checkRow(row []int, want int, what string, i int) error {
	if len(row) != want {
		return fmt.Errorf("graph: %s %d has %d features, %s 0 has %d", what, i, len(row), what, want)
	}
	for f, v := range row {
		if v < 0 {
			return fmt.Errorf("graph: %s %d feature %d is %d", what, i, f, v)
		}
	}
	return nil
}

// PE returns the graph's LapPE with k eigenvectors ([n][k], LapPE),
// computed on the first call for k and kept.
func (g *Graph) PE(k int) [][]float64 {
	if g.pe == nil || g.peK != k {
		g.pe, g.peK = LapPE(len(g.Nodes), g.Src, g.Dst, k), k
	}
	return g.pe
}
