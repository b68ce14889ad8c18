// Package search reproduces "Transformers Struggle to Learn to Search"
// (Saparov, Pawar, Pimpalgaonkar, Joshi, Pang, Padmakumar, Kazemi, Kim and
// He, arXiv 2412.04703; code asaparov/learning_to_search, generator.cpp):
// the graph-search task, its two training distributions, and small
// decoders trained on them.
//
// # The task
//
// An example is a directed acyclic graph given as a shuffled edge list,
// a query and a path prefix:
//
//	E u₁ v₁ E u₂ v₂ … Q s t P s p₁ … pₖ
//
// and the label is the set of children of the prefix's last vertex from
// which t is reachable (generator.cpp's useful_steps). Vertex ids are
// 1…N for a graph of at most N vertices (Params.Vertices), relabelled
// uniformly at random for every graph so that ids carry no topology; 0 is
// reserved, as generator.cpp's RESERVED_INDICES. The token ids follow
// generator.cpp: vertices 1…N, then P = N+1, E = N+2, padding = N+3,
// Q = N+4 (Vocab = N+5), and inputs are left-padded to SeqLen = 3N+5
// (generator.cpp's max_input_size, of which (max_input_size−5)/3 = N).
//
// # The distributions
//
// Naive (generator.cpp's generate_graph, train.py's "simple"): a random
// DAG of n vertices, n uniform in 3…N−1; vertex i ≥ 1 takes one parent
// with probability ½ and otherwise 1…3 parents (randrange(1, 4)), at most
// i, drawn uniformly without replacement from the earlier vertices; start
// and goal are distinct vertices drawn uniformly from all but the last.
//
// Balanced (generate_graph_with_lookahead, train.py's "crafted"): each
// example's lookahead ℓ is drawn uniformly from 0…L (randrange(L+1),
// redrawn after every accepted example), and graphs are built to have it:
// a path 0 → 1 → … → ℓ from the start 0 to the goal ℓ, p − 1 other
// branches out of the start of length ℓ or ℓ+1 (p uniform in 2…⌊(N−1)/ℓ⌋,
// or in 1…2 when ℓ = 0), a chain of ancestors of the start (its length
// uniform over the vertices left), and the remaining vertices each joined
// with 0…3 children (drawn ∝ ½ + in-degree) and 0…3 parents (drawn ∝ ½ +
// out-degree among the vertices that are not its descendants, so that the
// graph stays acyclic). The vertex count is min(ℓp + 1 + U{0…5}, N).
//
// In both, a graph is rejected when the goal is unreachable, when it has
// more than 64 shortest start-to-goal paths, or more than N edges (the
// input budget 3·edges + 4 ≤ 3N+5). Every prefix of every shortest path
// is an example; under Balanced only those whose lookahead is the drawn
// ℓ are kept.
//
// # Lookahead
//
// Lookahead is generator.cpp's lookahead_depth: a breadth-first search
// from the current vertex's children, each frontier vertex remembering the
// child (branch) it descends from, counting the steps until the frontier
// lies entirely in the correct branch or the goal is reached. Under the
// naive distribution most examples have lookahead 0 or 1 (Histogram
// measures it), which is the paper's explanation of why models trained
// on it fail at large lookahead.
//
// # Where this differs from generator.cpp
//
//   - Randomness: Go's PCG (math/rand/v2) instead of core's Mersenne
//     twister, so no example is bit-identical; every draw has the same
//     distribution as generator.cpp's.
//   - Probabilities are float64 (generator.cpp: float32).
//   - Shortest paths are enumerated by a depth-first walk back from the
//     goal; generator.cpp's order differs, which changes only which
//     prefix of a graph is visited first (under Balanced, which of
//     several matching prefixes of one graph is kept).
//   - generator.cpp's label-correcting search for shortest paths is
//     replaced by breadth-first search (the same set of paths).
//   - Test sets (TestSets, Params.Fixed) follow train.py's generate_eval_data in keeping
//     only examples whose current vertex has more than one child and
//     whose label set has exactly one vertex (so that the label is
//     unambiguous); it uses all paths, not only shortest ones, and this
//     package uses the shortest paths for test sets too.
//   - The training loss is the cross-entropy toward one label drawn
//     uniformly from the label set at the last position, as train.py
//     (labels_mem is choice(useful_steps)); the paper's optimiser is Sophia,
//     here AdamW; its positions are learned absolute embeddings, here the
//     decoder's rotary ones.
package search
