package memory

import (
	"fmt"
	"hash/fnv"
	"math"
	"strings"
	"unicode"

	"github.com/loomml/loom/tensor"
)

// Embedder maps a text to a unit vector: hashed word counts weighted by
// inverse document frequency (TF-IDF), L2-normalised. It stands in for the
// paper's document embeddings, which organise the memory bank by
// clustering.
type Embedder struct {
	Dim int
	IDF []float64 // per hashed bucket, from the documents Fit saw
}

func words(text string) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) })
}

func bucket(w string, dim int) int {
	h := fnv.New64a()
	h.Write([]byte(w))
	return int(h.Sum64() % uint64(dim))
}

// MaxDF is the largest fraction of documents a word may appear in and
// still count: more common words (the corpus's stop words and templates)
// get weight zero, as TF-IDF's usual max_df cut.
const MaxDF = 0.3

// FitEmbedder computes the inverse document frequencies of docs' words in
// dim hashed buckets (zero above MaxDF).
func FitEmbedder(docs []string, dim int) *Embedder {
	df := make([]float64, dim)
	for _, d := range docs {
		seen := map[int]bool{}
		for _, w := range words(d) {
			seen[bucket(w, dim)] = true
		}
		for k := range seen {
			df[k]++
		}
	}
	e := &Embedder{Dim: dim, IDF: make([]float64, dim)}
	for k := range df {
		if df[k] <= MaxDF*float64(len(docs)) {
			e.IDF[k] = math.Log((1 + float64(len(docs))) / (1 + df[k]))
		}
	}
	return e
}

// Embed returns text's unit vector (all zeros for a text without words).
func (e *Embedder) Embed(text string) []float32 {
	v := make([]float64, e.Dim)
	for _, w := range words(text) {
		k := bucket(w, e.Dim)
		v[k] += e.IDF[k]
	}
	var ss float64
	for _, x := range v {
		ss += x * x
	}
	out := make([]float32, e.Dim)
	if ss == 0 {
		return out
	}
	s := 1 / math.Sqrt(ss)
	for i, x := range v {
		out[i] = float32(x * s)
	}
	return out
}

// Tree is a hierarchical clustering: Levels levels of Branching children
// per node, by k-means within each parent. Node n of level l (0-based,
// numbered parent·Branching + child within its level) has the global id
// Offset(l) + n, which is also its memory block's id in the bank.
type Tree struct {
	Levels, Branching int
	// Centroids[l][n] is level l's node n's centroid (unit length, or zero
	// for a node no document reached).
	Centroids [][][]float32
}

// Offset returns the global id of level l's first node.
func (t *Tree) Offset(l int) int {
	off, n := 0, 1
	for range l {
		n *= t.Branching
		off += n
	}
	return off
}

// Nodes returns the number of nodes (blocks) in the tree.
func (t *Tree) Nodes() int { return t.Offset(t.Levels) }

// Path returns the global ids of the nodes from the root's child down to
// a leaf that v descends to: at each level the child of the node chosen
// above whose centroid is closest to v (highest inner product; ties to the
// lower index).
func (t *Tree) Path(v []float32) []int {
	path := make([]int, t.Levels)
	parent := 0
	for l := range t.Levels {
		best, bestDot := 0, math.Inf(-1)
		for c := range t.Branching {
			n := parent*t.Branching + c
			if d := dot(v, t.Centroids[l][n]); d > bestDot {
				best, bestDot = c, d
			}
		}
		parent = parent*t.Branching + best
		path[l] = t.Offset(l) + parent
	}
	return path
}

func dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// BuildTree clusters the unit vectors vs hierarchically: k-means (cosine,
// k-means++ seeding, iters Lloyd iterations) into branching clusters, then
// again within each cluster, levels deep.
func BuildTree(vs [][]float32, levels, branching, iters int, seed uint64) (*Tree, error) {
	if levels < 1 || branching < 2 {
		return nil, fmt.Errorf("memory: a tree needs levels ≥ 1 and branching ≥ 2, have %d and %d", levels, branching)
	}
	if len(vs) == 0 {
		return nil, fmt.Errorf("memory: no documents to cluster")
	}
	dim := len(vs[0])
	t := &Tree{Levels: levels, Branching: branching}
	rng := tensor.NewRNG(seed)
	members := [][]int{make([]int, len(vs))} // documents of each node of the level above
	for i := range vs {
		members[0][i] = i
	}
	for range levels {
		var cents [][]float32
		var next [][]int
		for _, docs := range members {
			c, assign := bestKmeans(vs, docs, branching, iters, dim, rng)
			cents = append(cents, c...)
			groups := make([][]int, branching)
			for j, d := range docs {
				groups[assign[j]] = append(groups[assign[j]], d)
			}
			next = append(next, groups...)
		}
		t.Centroids = append(t.Centroids, cents)
		members = next
	}
	return t, nil
}

// Restarts is how many k-means++ seedings bestKmeans tries.
const Restarts = 5

// bestKmeans runs kmeans from Restarts seedings and keeps the clustering
// with the highest total similarity of documents to their centroids.
func bestKmeans(vs [][]float32, docs []int, k, iters, dim int, rng *tensor.RNG) ([][]float32, []int) {
	var bc [][]float32
	var ba []int
	best := math.Inf(-1)
	for range Restarts {
		c, a := kmeans(vs, docs, k, iters, dim, rng)
		var s float64
		for j, d := range docs {
			s += dot(vs[d], c[a[j]])
		}
		if s > best {
			bc, ba, best = c, a, s
		}
	}
	return bc, ba
}

// kmeans clusters vs[docs] into k unit centroids; a cluster left empty
// keeps a zero centroid (no document descends to it). Assignments are by
// the final centroids, as Path descends.
func kmeans(vs [][]float32, docs []int, k, iters, dim int, rng *tensor.RNG) ([][]float32, []int) {
	cents := make([][]float32, k)
	for c := range cents {
		cents[c] = make([]float32, dim)
	}
	assign := make([]int, len(docs))
	if len(docs) == 0 {
		return cents, assign
	}
	// k-means++ seeding on cosine distance 1 − v·c.
	copy(cents[0], vs[docs[rng.Intn(len(docs))]])
	dist := make([]float64, len(docs))
	for c := 1; c < min(k, len(docs)); c++ {
		var total float64
		for j, d := range docs {
			best := math.Inf(1)
			for p := range c {
				best = math.Min(best, 1-dot(vs[d], cents[p]))
			}
			dist[j] = math.Max(best, 0)
			total += dist[j]
		}
		pick := rng.Intn(len(docs))
		if total > 0 {
			r := rng.Float64() * total
			for j := range dist {
				if r -= dist[j]; r <= 0 {
					pick = j
					break
				}
			}
		}
		copy(cents[c], vs[docs[pick]])
	}
	for c := min(k, len(docs)); c < k; c++ {
		clear(cents[c]) // more clusters than documents: the rest stay empty
	}
	nearest := func() bool {
		changed := false
		for j, d := range docs {
			best, bestDot := 0, math.Inf(-1)
			for c := range k {
				if dd := dot(vs[d], cents[c]); dd > bestDot {
					best, bestDot = c, dd
				}
			}
			if assign[j] != best {
				changed = true
			}
			assign[j] = best
		}
		return changed
	}
	nearest()
	for range iters {
		sum := make([][]float64, k)
		for c := range sum {
			sum[c] = make([]float64, dim)
		}
		for j, d := range docs {
			for i, x := range vs[d] {
				sum[assign[j]][i] += float64(x)
			}
		}
		for c := range k {
			var ss float64
			for _, x := range sum[c] {
				ss += x * x
			}
			if ss == 0 {
				clear(cents[c])
				continue
			}
			s := 1 / math.Sqrt(ss)
			for i, x := range sum[c] {
				cents[c][i] = float32(x * s)
			}
		}
		if !nearest() {
			break
		}
	}
	return cents, assign
}
