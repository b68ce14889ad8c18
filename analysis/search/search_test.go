package search

import (
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestBalancedLookaheadUniform: the balanced generator's lookaheads are
// uniform over 0…L (generator.cpp draws randrange(L+1) for every
// example), checked by a chi-square test, and every example's lookahead,
// recomputed from its edge list alone, is the one it reports.
func TestBalancedLookaheadUniform(t *testing.T) {
	for _, c := range []struct{ n, l int }{{8, 3}, {12, 4}, {14, 6}} {
		const count = 3000
		ex, err := Dataset(Params{Dist: Balanced, Vertices: c.n, Lookahead: c.l}, count, 7)
		if err != nil {
			t.Fatal(err)
		}
		obs := make([]float64, c.l+1)
		for _, e := range ex {
			if e.Lookahead > c.l {
				t.Fatalf("N=%d L=%d: lookahead %d", c.n, c.l, e.Lookahead)
			}
			obs[e.Lookahead]++
			if got := e.LookaheadVia(e.Next); got != e.Lookahead {
				t.Fatalf("N=%d: %s: recomputed lookahead %d", c.n, e.String(), got)
			}
		}
		exp := float64(count) / float64(c.l+1)
		chi := 0.0
		for _, o := range obs {
			chi += (o - exp) * (o - exp) / exp
		}
		// 99.9th percentile of χ² with ≤ 6 degrees of freedom is 22.5.
		if chi > 22.5 {
			t.Errorf("N=%d L=%d: lookahead counts %v, χ² = %.1f: not uniform", c.n, c.l, obs, chi)
		}
	}
}

// TestFixedLookahead: a test set at lookahead ℓ has exactly ℓ, a current
// vertex with more than one child and one label.
func TestFixedLookahead(t *testing.T) {
	for l := 1; l <= 4; l++ {
		ex, err := Dataset(Params{Dist: Balanced, Vertices: 10, Lookahead: l, Fixed: true}, 200, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ex {
			if e.Lookahead != l || e.Children < 2 || len(e.Labels) != 1 || e.Labels[0] != e.Next {
				t.Fatalf("ℓ=%d: %s (children %d, next %d)", l, e.String(), e.Children, e.Next)
			}
		}
	}
}

// TestLabelsAreValidNextHops: for both distributions, every label is a
// child of the current vertex from which the goal is reachable and every
// such child is a label, checked by a search over the example's own edge
// list written independently here (breadth-first, on ids); the path is a
// walk from the start along edges; the training target is a label; naive
// examples are DAGs.
func TestLabelsAreValidNextHops(t *testing.T) {
	for _, p := range []Params{{Dist: Naive, Vertices: 12}, {Dist: Balanced, Vertices: 12, Lookahead: 5}, {Dist: Naive, Vertices: 30}} {
		ex, err := Dataset(p, 1000, 11)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ex {
			adj := map[int][]int{}
			for _, uv := range e.Edges {
				if uv[0] < 1 || uv[0] > p.Vertices || uv[1] < 1 || uv[1] > p.Vertices {
					t.Fatalf("%s: vertex id outside 1…%d", e.String(), p.Vertices)
				}
				adj[uv[0]] = append(adj[uv[0]], uv[1])
			}
			reach := func(from int) bool { // BFS
				seen := map[int]bool{from: true}
				q := []int{from}
				for len(q) > 0 {
					u := q[0]
					q = q[1:]
					if u == e.Goal {
						return true
					}
					for _, v := range adj[u] {
						if !seen[v] {
							seen[v] = true
							q = append(q, v)
						}
					}
				}
				return false
			}
			var want []int
			for _, c := range adj[e.Current()] {
				if reach(c) {
					want = append(want, c)
				}
			}
			slices.Sort(want)
			if !reflect.DeepEqual(want, e.Labels) || len(want) == 0 {
				t.Fatalf("%v: %s: labels %v, BFS gives %v", p, e.String(), e.Labels, want)
			}
			if !slices.Contains(e.Labels, e.Label) || !slices.Contains(e.Labels, e.Next) {
				t.Fatalf("%s: target %d / next %d not a label", e.String(), e.Label, e.Next)
			}
			if e.Path[0] != e.Start || len(e.Edges) > p.Vertices {
				t.Fatalf("%s: path does not start at the start or too many edges", e.String())
			}
			for i := 1; i < len(e.Path); i++ {
				if !slices.Contains(adj[e.Path[i-1]], e.Path[i]) {
					t.Fatalf("%s: the path uses a missing edge", e.String())
				}
			}
			if !e.IsDAG() {
				t.Fatalf("%v: %s has a cycle", p, e.String())
			}
		}
	}
}

// TestLookaheadByHand: generator.cpp's lookahead_depth on graphs whose
// answer is known.
func TestLookaheadByHand(t *testing.T) {
	build := func(n int, edges ...[2]int) *graph {
		g := newGraph(n)
		for _, e := range edges {
			g.edge(e[0], e[1])
		}
		return g
	}
	for _, c := range []struct {
		name            string
		g               *graph
		from, next, end int
		want            int
	}{
		{"one child", build(3, [2]int{0, 1}, [2]int{1, 2}), 0, 1, 2, 0},
		{"fork, goal a child", build(3, [2]int{0, 1}, [2]int{0, 2}), 0, 1, 1, 1},
		// Two branches of length 3: 0→1→2→3 (goal) and 0→4→5→6.
		{"star of two arms of 3", build(7, [2]int{0, 1}, [2]int{1, 2}, [2]int{2, 3}, [2]int{0, 4}, [2]int{4, 5}, [2]int{5, 6}), 0, 1, 3, 3},
		// The wrong arm ends after one vertex: the frontier is the right
		// branch alone after one step.
		{"short dead end", build(5, [2]int{0, 1}, [2]int{1, 2}, [2]int{2, 3}, [2]int{0, 4}), 0, 1, 3, 1},
		// The other arm merges into the path (both children reach the
		// goal): the merge vertex is claimed by the first branch to reach
		// it, so after one step the frontier is the next vertex's alone.
		{"merging arm", build(5, [2]int{0, 1}, [2]int{1, 2}, [2]int{2, 3}, [2]int{0, 4}, [2]int{4, 2}), 0, 1, 3, 1},
		// Two arms of 2 into a goal 3 steps away, the wrong one longer.
		{"long wrong arm", build(7, [2]int{0, 4}, [2]int{0, 1}, [2]int{1, 2}, [2]int{2, 3}, [2]int{4, 5}, [2]int{5, 6}), 0, 1, 3, 3},
	} {
		if got := c.g.lookahead(c.from, c.next, c.end); got != c.want {
			t.Errorf("%s: lookahead %d, want %d", c.name, got, c.want)
		}
	}
}

// TestNaiveLookaheadIsSmall: under the naive distribution large lookahead
// is rare (the paper's reason for the balanced one): fewer than 5 % of
// examples have lookahead ≥ 3 at N = 14.
func TestNaiveLookaheadIsSmall(t *testing.T) {
	ex, err := Dataset(Params{Dist: Naive, Vertices: 14}, 3000, 5)
	if err != nil {
		t.Fatal(err)
	}
	h := Histogram(ex)
	tail := 0.0
	for l := 3; l < len(h); l++ {
		tail += h[l]
	}
	if tail > 0.05 || h[1] < 0.3 {
		t.Errorf("naive lookahead histogram %v: tail ≥3 is %.3f", h, tail)
	}
}

// TestDeterministic: a seed gives the same examples; another seed others.
func TestDeterministic(t *testing.T) {
	for _, p := range []Params{{Dist: Naive, Vertices: 10}, {Dist: Balanced, Vertices: 10, Lookahead: 3}} {
		a, _ := Dataset(p, 50, 1)
		b, _ := Dataset(p, 50, 1)
		c, _ := Dataset(p, 50, 2)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%v: the same seed gave different examples", p)
		}
		if reflect.DeepEqual(a, c) {
			t.Errorf("%v: seeds 1 and 2 gave the same examples", p)
		}
	}
}

// TestTokens: the token layout and padding are generator.cpp's.
func TestTokens(t *testing.T) {
	e := Example{N: 6, Edges: [][2]int{{3, 5}, {5, 2}}, Start: 3, Goal: 2, Path: []int{3}, Labels: []int{5}}
	if got, want := e.Tokens(), []int{8, 3, 5, 8, 5, 2, 10, 3, 2, 7, 3}; !reflect.DeepEqual(got, want) {
		t.Errorf("tokens %v, want %v", got, want)
	}
	p := e.Padded()
	if len(p) != SeqLen(6) || p[0] != PadToken(6) || p[len(p)-1] != 3 {
		t.Errorf("padded %v", p)
	}
	if s := e.String(); s != "E 3 5 E 5 2 Q 3 2 P 3 | next 5 | lookahead 0" {
		t.Errorf("text %q", s)
	}
	for _, ex := range must(Dataset(Params{Dist: Balanced, Vertices: 9, Lookahead: 4}, 200, 1)) {
		for _, id := range ex.Padded() {
			if id < 1 || id >= Vocab(9) {
				t.Fatalf("token %d outside 1…%d", id, Vocab(9)-1)
			}
		}
	}
}

func must[T any](x T, err error) T {
	if err != nil {
		panic(err)
	}
	return x
}

// TestBadParams: parameters that cannot produce a graph name the flag.
func TestBadParams(t *testing.T) {
	for _, c := range []struct {
		p    Params
		want string
	}{
		{Params{Dist: "star", Vertices: 10}, "--distribution"},
		{Params{Dist: Naive, Vertices: 3}, "--vertices 3"},
		{Params{Dist: Naive, Vertices: 1000}, "--vertices 1000"},
		{Params{Dist: Balanced, Vertices: 12, Lookahead: 9}, "--lookahead 9 needs at least 19 vertices (--vertices 12)"},
		{Params{Dist: Balanced, Vertices: 12, Lookahead: -1}, "--lookahead -1"},
		{Params{Dist: Balanced, Vertices: 12, Lookahead: 0, Fixed: true}, "--lookahead 0"},
	} {
		_, err := NewGenerator(c.p, 1)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want it to contain %q", c.p, err, c.want)
		}
	}
	for _, c := range []struct {
		c    TrainConfig
		want string
	}{
		{TrainConfig{Data: Params{Dist: Naive, Vertices: 8}, Layers: 0, Dim: 16, Steps: 1, Batch: 1, LR: 1e-3}, "--layers"},
		{TrainConfig{Data: Params{Dist: Naive, Vertices: 8}, Layers: 1, Dim: 15, Steps: 1, Batch: 1, LR: 1e-3}, "--dim 15"},
		{TrainConfig{Data: Params{Dist: Naive, Vertices: 8}, Layers: 1, Dim: 16, Steps: 1, Batch: 1, LR: math.NaN()}, "--lr"},
		{TrainConfig{Data: Params{Dist: Balanced, Vertices: 8, Lookahead: 4}, Layers: 1, Dim: 16, Steps: 1, Batch: 1, LR: 1e-3}, "--lookahead 4 needs at least 9"},
	} {
		_, _, err := Train(c.c)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.c, err, c.want)
		}
	}
}

// TestCategorical: the degree-proportional draw matches its probabilities
// and never returns a zero-probability index.
func TestCategorical(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	p := []float64{0.5, 0, 1.5, 2}
	counts := make([]float64, len(p))
	const n = 40000
	for range n {
		counts[categorical(r, p)]++
	}
	for i, w := range p {
		if math.Abs(counts[i]/n-w/4) > 0.01 {
			t.Errorf("index %d: frequency %.3f, want %.3f", i, counts[i]/n, w/4)
		}
	}
}

// TestTrainLearnsShort: a short run's loss falls and the result has one
// accuracy per test lookahead in [0, 1] (a smoke test; the claims are the
// reproduction's).
func TestTrainLearnsShort(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	r, _, err := Train(TrainConfig{Data: Params{Dist: Balanced, Vertices: 7, Lookahead: 2}, Layers: 2, Dim: 32, Steps: 150, Batch: 32, LR: 3e-3, Seed: 1, EvalCount: 100})
	if err != nil {
		t.Fatal(err)
	}
	first, last := meanF(r.Loss[:10]), meanF(r.Loss[len(r.Loss)-10:])
	if !(last < first-0.2) {
		t.Errorf("loss %.3f → %.3f: did not fall", first, last)
	}
	if len(r.Accuracy) != 3 {
		t.Fatalf("accuracies %v, want lookaheads 1…3", r.Accuracy)
	}
	for _, a := range r.Accuracy {
		if a < 0 || a > 1 {
			t.Errorf("accuracy %v", a)
		}
	}
}

func meanF(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

// TestRecord: a run's record reads back, matches its own settings and no
// others, and gives back the measurements at fewer test lookaheads.
func TestRecord(t *testing.T) {
	c := TrainConfig{Data: Params{Dist: Naive, Vertices: 7, Lookahead: 2}, Layers: 1, Dim: 8, Steps: 3, Batch: 4, LR: 1e-3, Seed: 5, EvalCount: 20, EvalSeed: 9}
	r, _, err := Train(c)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := NewRecord(c, r, 1).Save(dir); err != nil {
		t.Fatal(err)
	}
	rec, err := LoadRecord(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Matches(c) {
		t.Fatalf("record %+v does not match its run", rec)
	}
	c2 := c
	c2.EvalLookahead = 2
	if !rec.Matches(c2) || !reflect.DeepEqual(rec.Result(2).Accuracy, r.Accuracy[:2]) {
		t.Error("fewer test lookaheads: not reused")
	}
	for _, mod := range []func(*TrainConfig){
		func(c *TrainConfig) { c.Seed = 6 }, func(c *TrainConfig) { c.Steps = 4 }, func(c *TrainConfig) { c.Data.Dist = Balanced },
		func(c *TrainConfig) { c.EvalSeed = 1 }, func(c *TrainConfig) { c.Heads = 2 },
	} {
		c3 := c
		mod(&c3)
		if rec.Matches(c3) {
			t.Errorf("record matches other settings %+v", c3)
		}
	}
}
