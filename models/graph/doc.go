// Package graph holds loom's graph neural networks for graph-level
// regression: the Graph Transformer of Dwivedi & Bresson ("A
// Generalization of Transformer Networks to Graphs", arXiv 2012.09699,
// code graphdeeplearning/graphtransformer) with sparse ("gt") or
// full-graph ("gt-full") attention, and the GCN (Kipf & Welling, arXiv
// 1609.02907) and GIN (Xu et al., "How Powerful are Graph Neural
// Networks?", arXiv 1810.00826) baselines, all behind one Model interface
// and a registry by name, trained through train.Loop (Trainer).
//
// A Graph is one graph with categorical node and edge features (a
// molecule: atoms with a few categorical features each, bonds with a bond
// type, built with FromBonds); a Batch concatenates the nodes and edges of
// many graphs, with each node's graph and each graph's Laplacian
// positional encoding (LapPE, lappe.go):
//
//	g, _ := graph.FromBonds(atoms, bonds, bondTypes) // atoms [n][F], bonds [b]{i, j}, bondTypes [b][1]
//	set, _ := graph.NewSet(graphs, targets, 8)       // LapPE with 8 eigenvectors per graph
//	m, _ := graph.New(graph.Defaults("gt", []int{28}, []int{4}))
//	y := m.Forward(nil, set.Batch([]int{0, 1, 2}))   // [3, 1], evaluation
//
// Every model embeds node features (a sum of one table per feature), adds
// the LapPE through a linear layer (flipping each eigenvector's sign at
// random in training, as the reference does per batch), runs its layers
// over the batch's edges with message passing built from
// autograd.IndexSelect and autograd.IndexAdd (so the models have
// derivatives of every order), reads out the sum or mean of each graph's
// node rows and maps it through the reference's MLP head
// (D → D/2 → D/4 → outputs). The layers:
//
//   - gt (gt.go, attention.go): per head, score = (K_src·Q_dst/√d_h) ⊙
//     E_e, which is the edge's new feature; weight w = exp(clamp(Σ score,
//     −5, 5)); h = Σ_edges w·V_src / (Σ w + 1e−6); residuals, BatchNorm or
//     LayerNorm, a ReLU FFN of width 2d for nodes and for edges, dropout.
//   - gt-full: the same over every ordered pair of distinct nodes of each
//     graph; a pair that is an edge keeps its features, the others get a
//     feature of their own (NoEdge). The LapPE stays the sparse graph's.
//     (The reference's make_full_graph instead gives every pair, bonded or
//     not, the edge feature 0, dropping the bond types.)
//   - gcn: h ← ReLU(Norm(D̃^−½ Ã D̃^−½ h W + b)) + h, Ã = A + I.
//   - gin: h ← ReLU(Norm(MLP((1 + ε)·h + Σ_neighbours h))) + h, ε learnt.
//
// BatchNorm's running estimates are Buffers, outside Params (no gradient,
// no optimizer state); train.Loop's checkpoints and RestoreBest carry them
// with the parameters.
package graph
