package graph

import (
	"fmt"

	"github.com/loomml/loom/tensor"
)

// NoEdge is the edge feature index of a pair of nodes that full-graph
// attention relates although no edge joins them; the edge embedding gives
// it a row of its own, after the feature's vocabulary.
const NoEdge = -1

// Batch is many graphs as one: their nodes concatenated (graph g's nodes
// are Offsets[g] … Offsets[g+1]−1), their edges renumbered onto those
// nodes and concatenated, with each node's graph, the graphs' LapPE and
// their targets. Collate and Set.Batch build it.
type Batch struct {
	Graphs int // G
	Nodes  int // N = Σ nodes
	// NodeFeat [N·F] holds each node's F feature indices, row-major.
	NodeFeat []int
	F        int
	// Src and Dst [E] are the edges, as indices of the batch's nodes.
	Src, Dst []int
	// EdgeFeat [E·Fe] holds each edge's Fe feature indices (Fe 0: none).
	EdgeFeat []int
	Fe       int
	GraphOf  []int // [N] each node's graph
	Offsets  []int // [G+1] each graph's first node, then N
	// PE [N, k] holds each graph's LapPE rows (nil: k = 0).
	PE *tensor.Tensor
	// Target [G, T] holds the graphs' targets (nil: unlabelled).
	Target *tensor.Tensor

	full *Batch    // the full-graph edges, made by Full
	gcn  *gcnEdges // the GCN's edges and coefficients
}

// Collate batches gs with their LapPE of k eigenvectors (k 0: none). The
// graphs must have the same numbers of node and edge features (a graph
// without edges is taken to have the others' number).
func Collate(gs []*Graph, k int) (*Batch, error) {
	b := &Batch{Graphs: len(gs), Offsets: make([]int, len(gs)+1), F: -1, Fe: -1}
	for gi, g := range gs {
		if err := g.Check(); err != nil {
			return nil, fmt.Errorf("graph %d: %w", gi, err)
		}
		if f := g.NodeFeatures(); len(g.Nodes) > 0 {
			if b.F >= 0 && f != b.F {
				return nil, fmt.Errorf("graph: graph %d has %d node features, an earlier one %d", gi, f, b.F)
			}
			b.F = f
		}
		if fe := g.EdgeFeatures(); len(g.Src) > 0 {
			if b.Fe >= 0 && fe != b.Fe {
				return nil, fmt.Errorf("graph: graph %d has %d edge features, an earlier one %d", gi, fe, b.Fe)
			}
			b.Fe = fe
		}
		b.Offsets[gi+1] = b.Offsets[gi] + len(g.Nodes)
	}
	b.F, b.Fe = max(b.F, 0), max(b.Fe, 0)
	b.Nodes = b.Offsets[len(gs)]
	b.NodeFeat = make([]int, 0, b.Nodes*b.F)
	b.GraphOf = make([]int, 0, b.Nodes)
	var pe []float32
	if k > 0 {
		pe = make([]float32, 0, b.Nodes*k)
	}
	for gi, g := range gs {
		off := b.Offsets[gi]
		for _, row := range g.Nodes {
			b.NodeFeat = append(b.NodeFeat, row...)
			b.GraphOf = append(b.GraphOf, gi)
		}
		for e := range g.Src {
			b.Src = append(b.Src, g.Src[e]+off)
			b.Dst = append(b.Dst, g.Dst[e]+off)
			if b.Fe > 0 {
				b.EdgeFeat = append(b.EdgeFeat, g.Edges[e]...)
			}
		}
		if k > 0 {
			for _, row := range g.PE(k) {
				for _, v := range row {
					pe = append(pe, float32(v))
				}
			}
		}
	}
	if k > 0 {
		b.PE = tensor.FromFloat32(pe, b.Nodes, k)
	}
	return b, nil
}

// Edges returns the number of edges.
func (b *Batch) Edges() int { return len(b.Src) }

// Tokens returns the number of nodes, the tokens of a graph transformer
// (train.Loop reports them per second).
func (b *Batch) Tokens() int { return b.Nodes }

// Full returns the batch with full-graph edges: every ordered pair of
// distinct nodes of each graph, source-major (graph by graph, for each
// source node every other destination in order), with the features of
// the edge that joins them, or NoEdge for every feature where none does
// (one feature, NoEdge, when edges have no features). The other fields
// are b's. It is computed once and kept.
func (b *Batch) Full() *Batch {
	if b.full != nil {
		return b.full
	}
	fe := max(b.Fe, 1)
	edge := make(map[[2]int]int, len(b.Src))
	for e := range b.Src {
		edge[[2]int{b.Src[e], b.Dst[e]}] = e
	}
	f := *b
	f.Src, f.Dst, f.EdgeFeat, f.Fe, f.gcn = nil, nil, nil, fe, nil
	for g := range b.Graphs {
		for i := b.Offsets[g]; i < b.Offsets[g+1]; i++ {
			for j := b.Offsets[g]; j < b.Offsets[g+1]; j++ {
				if i == j {
					continue
				}
				f.Src = append(f.Src, i)
				f.Dst = append(f.Dst, j)
				e, ok := edge[[2]int{i, j}]
				switch {
				case !ok:
					for range fe {
						f.EdgeFeat = append(f.EdgeFeat, NoEdge)
					}
				case b.Fe == 0:
					f.EdgeFeat = append(f.EdgeFeat, 0)
				default:
					f.EdgeFeat = append(f.EdgeFeat, b.EdgeFeat[e*fe:(e+1)*fe]...)
				}
			}
		}
	}
	f.full = &f
	b.full = &f
	return b.full
}
