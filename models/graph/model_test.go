package graph

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// small is a small configuration of arch for tests.
func small(arch, norm, readout string) Config {
	return Config{Arch: arch, NodeVocab: testNodeVocab, EdgeVocab: testEdgeVocab, Dim: 16, Heads: 4, Layers: 2,
		PEDim: 3, Norm: norm, Readout: readout, Out: 2, Seed: 3}
}

func mustNew(t testing.TB, c Config) Model {
	t.Helper()
	m, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mustCollate(t testing.TB, gs []*Graph, k int) *Batch {
	t.Helper()
	b, err := Collate(gs, k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// closeRows requires got ≈ want within tol relative to max(1, max |want|).
func closeRows(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	scale := 1.0
	for _, v := range want {
		scale = max(scale, math.Abs(v))
	}
	for i := range want {
		if d := math.Abs(got[i] - want[i]); !(d <= tol*scale) {
			t.Fatalf("%s: element %d is %v, want %v (|diff| %.3g)", what, i, got[i], want[i], d)
		}
	}
}

// TestRegistry: the four architectures by name, and configurations New
// refuses with a reason.
func TestRegistry(t *testing.T) {
	if got := Archs(); !slices.Equal(got, []string{"gcn", "gin", "gt", "gt-full"}) {
		t.Fatalf("architectures %v", got)
	}
	for _, arch := range Archs() {
		m := mustNew(t, Defaults(arch, []int{28}, []int{4}))
		if m.Config().Arch != arch || len(m.Params()) == 0 {
			t.Fatalf("%s: config %+v, %d parameters", arch, m.Config(), len(m.Params()))
		}
		if _, err := nn.ParamMap(m.Params()); err != nil {
			t.Fatalf("%s: %v", arch, err)
		}
		perLayer := map[string]int{"gt": 8, "gt-full": 8, "gcn": 2, "gin": 4}[arch] // 2 per BatchNorm
		if n := len(m.Buffers()); n != 10*perLayer {
			t.Fatalf("%s: %d buffers, want %d", arch, n, 10*perLayer)
		}
	}
	for _, c := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.Arch = "gat" }, "unknown graph architecture"},
		{func(c *Config) { c.Heads = 3 }, "multiple of 3 heads"},
		{func(c *Config) { c.Norm = "group" }, "norm"},
		{func(c *Config) { c.Readout = "max" }, "readout"},
		{func(c *Config) { c.NodeVocab = nil }, "no node features"},
		{func(c *Config) { c.EdgeVocab = []int{0} }, "0 categories"},
		{func(c *Config) { c.Out = 0 }, "out_dim"},
	} {
		cfg := small("gt", NormBatch, ReadoutSum)
		c.edit(&cfg)
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("config %+v: error %v, want one mentioning %q", cfg, err, c.want)
		}
	}
}

// relabel returns g with its nodes renumbered (new node i is old node
// perm[i]) and its edges in the order given.
func relabel(g *Graph, perm, edgeOrder []int) *Graph {
	inv := make([]int, len(perm))
	for i, p := range perm {
		inv[p] = i
	}
	out := &Graph{}
	for _, p := range perm {
		out.Nodes = append(out.Nodes, g.Nodes[p])
	}
	for _, e := range edgeOrder {
		out.Src = append(out.Src, inv[g.Src[e]])
		out.Dst = append(out.Dst, inv[g.Dst[e]])
		out.Edges = append(out.Edges, g.Edges[e])
	}
	return out
}

// TestPermutationInvariance relabels the nodes (and reorders the edges)
// of a graph whose Laplacian has distinct eigenvalues, so that its LapPE
// (with fixed signs: no flips) is permuted with it: every architecture's
// graph output must stay the same and its node rows must be permuted, in
// training (batch statistics, no dropout) and in evaluation.
func TestPermutationInvariance(t *testing.T) {
	r := tensor.NewRNG(21)
	g := randomGraph(t, r, 9, 4)
	vals, _ := LaplacianEigen(g.NumNodes(), g.Src, g.Dst)
	if minGap(vals, len(vals)) < 1e-3 {
		t.Fatalf("the test graph has a repeated eigenvalue: %v", vals)
	}
	perm := r.Perm(g.NumNodes())
	gp := relabel(g, perm, r.Perm(g.NumEdges()))
	pe, pp := g.PE(3), gp.PE(3)
	for i, p := range perm {
		closeRows(t, fmt.Sprintf("LapPE of relabelled node %d", i), pp[i], pe[p], 1e-9)
	}
	b, bp := mustCollate(t, []*Graph{g}, 3), mustCollate(t, []*Graph{gp}, 3)
	for _, arch := range Archs() {
		for _, norm := range []string{NormBatch, NormLayer} {
			readout := ReadoutSum
			if norm == NormLayer {
				readout = ReadoutMean
			}
			m := mustNew(t, small(arch, norm, readout))
			for _, ctx := range []*nn.Ctx{{Train: true}, nil} {
				t.Run(fmt.Sprintf("%s/%s/train=%v", arch, norm, ctx.Training()), func(t *testing.T) {
					var y, yp, h, hp *autograd.Var
					autograd.NoGrad(func() {
						y, yp = m.Forward(ctx, b), m.Forward(ctx, bp)
						h, hp = m.Nodes(ctx, b), m.Nodes(ctx, bp)
					})
					closeRows(t, "graph output", yp.Value.Float64s(), y.Value.Float64s(), 2e-5)
					permuted := autograd.IndexSelect(h, 0, perm)
					closeRows(t, "node rows", hp.Value.Float64s(), permuted.Value.Float64s(), 2e-5)
				})
			}
		}
	}
}

// TestBatchingEqualsSeparate: a batch of graphs gives each graph the
// output it gets alone — in evaluation for every architecture (BatchNorm
// with running estimates moved by two training steps first), and in
// training with LayerNorm (BatchNorm's batch statistics couple the graphs
// of a training batch, as in the reference).
func TestBatchingEqualsSeparate(t *testing.T) {
	r := tensor.NewRNG(22)
	gs := []*Graph{randomGraph(t, r, 7, 3), ring(t, 6), mustBonds(t, 1, nil), star(t, 4)}
	all := mustCollate(t, gs, 3)
	for _, arch := range Archs() {
		for _, norm := range []string{NormBatch, NormLayer} {
			m := mustNew(t, small(arch, norm, ReadoutMean))
			autograd.NoGrad(func() {
				m.Forward(&nn.Ctx{Train: true}, all)
				m.Forward(&nn.Ctx{Train: true}, mustCollate(t, gs[:2], 3))
			})
			ctxs := []*nn.Ctx{nil}
			if norm == NormLayer {
				ctxs = append(ctxs, &nn.Ctx{Train: true})
			}
			for _, ctx := range ctxs {
				t.Run(fmt.Sprintf("%s/%s/train=%v", arch, norm, ctx.Training()), func(t *testing.T) {
					autograd.NoGrad(func() {
						y := m.Forward(ctx, all).Value.Float64s()
						for i, g := range gs {
							alone := m.Forward(ctx, mustCollate(t, []*Graph{g}, 3)).Value.Float64s()
							closeRows(t, fmt.Sprintf("graph %d", i), y[2*i:2*i+2], alone, 2e-5)
						}
					})
				})
			}
		}
	}
}

// TestSignFlip: in training with an RNG each LapPE column is multiplied by
// a random sign, the same for every node of the batch, and both signs
// occur; evaluation, NoSignFlip or no RNG leave the LapPE as it is.
func TestSignFlip(t *testing.T) {
	b := mustCollate(t, []*Graph{ring(t, 7), star(t, 5)}, 3)
	m := mustNew(t, small("gt", NormBatch, ReadoutSum)).(*Net)
	rng := tensor.NewRNG(5)
	seen := map[float32]int{}
	for range 20 {
		f := m.signFlip(&nn.Ctx{Train: true, RNG: rng}, b)
		for c := range 3 {
			s := f.F32()[c] / b.PE.F32()[c]
			if s != 1 && s != -1 {
				t.Fatalf("column %d scaled by %v", c, s)
			}
			seen[s]++
			for i := range b.Nodes {
				if f.F32()[i*3+c] != s*b.PE.F32()[i*3+c] {
					t.Fatalf("column %d: node %d not flipped with node 0", c, i)
				}
			}
		}
	}
	if seen[1] < 10 || seen[-1] < 10 {
		t.Fatalf("signs drawn %v times", seen)
	}
	for _, ctx := range []*nn.Ctx{nil, {Train: true}} {
		if f := m.signFlip(ctx, b); f != b.PE {
			t.Fatal("LapPE flipped in evaluation or without an RNG")
		}
	}
	m.cfg.NoSignFlip = true
	if f := m.signFlip(&nn.Ctx{Train: true, RNG: rng}, b); f != b.PE {
		t.Fatal("LapPE flipped with NoSignFlip")
	}
}

// to64 makes m's parameters float64 (GradCheck runs in float64).
func to64(m Model) {
	for _, p := range m.Params() {
		p.Value = p.Value.To(tensor.Float64)
	}
}

// swap puts the parameters a gradient check differentiates into m: the
// node embedding, the LapPE layer and the head's first layer, and for the
// first layer of gt and gt-full Q, the edge projection and the first norm's
// gain, of gcn its convolution, of gin ε and its first linear layer (and
// the edge embedding where there is one). It returns them.
func swap(m *Net) []**autograd.Var {
	ps := []**autograd.Var{&m.EmbedH.Tables[1].Weight, &m.PE.Weight, &m.Head.FC[0].Weight}
	if m.EmbedE != nil {
		ps = append(ps, &m.EmbedE.Tables[0].Weight)
	}
	switch l := m.Layers[0].(type) {
	case *GTLayer:
		ps = append(ps, &l.Attn.Q.Weight, &l.Attn.E.Weight)
		switch n := l.Norm1H.(type) {
		case *nn.BatchNorm1d:
			ps = append(ps, &n.Weight)
		case *LayerNorm:
			ps = append(ps, &n.Norm.Weight)
		}
	case *GCNLayer:
		ps = append(ps, &l.Conv.Weight)
	case *GINLayer:
		ps = append(ps, &l.Eps, &l.Lin1.Weight)
	}
	return ps
}

// TestGradCheck checks each architecture's gradients with respect to
// parameters spread over the model (swap) against finite differences, in
// float64, on a batch of two graphs: in training (BatchNorm's batch
// statistics) and with LayerNorm.
func TestGradCheck(t *testing.T) {
	r := tensor.NewRNG(23)
	b := mustCollate(t, []*Graph{randomGraph(t, r, 5, 2), ring(t, 4)}, 2)
	for _, arch := range Archs() {
		for _, norm := range []string{NormBatch, NormLayer} {
			t.Run(arch+"/"+norm, func(t *testing.T) {
				c := small(arch, norm, ReadoutMean)
				c.Dim, c.Heads, c.PEDim, c.Layers = 8, 2, 2, 2
				m := mustNew(t, c).(*Net)
				to64(m)
				ps := swap(m)
				var in []*tensor.Tensor
				for _, p := range ps {
					in = append(in, (*p).Value)
				}
				f := func(xs []*autograd.Var) *autograd.Var {
					for i, p := range ps {
						*p = xs[i]
					}
					return m.Forward(&nn.Ctx{Train: true}, b)
				}
				if err := autograd.GradCheck(f, in, autograd.CheckOptions{Atol: 1e-6, Rtol: 1e-4}); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

// TestGradGradCheck checks second derivatives through a whole Graph
// Transformer (attention with its clamp, scatter-adds, BatchNorm or
// LayerNorm, readout, head) with respect to the node embedding, as
// training on −∂E/∂x through a graph model needs.
func TestGradGradCheck(t *testing.T) {
	b := mustCollate(t, []*Graph{ring(t, 3), star(t, 3)}, 2)
	for _, arch := range []string{"gt", "gt-full"} {
		for _, norm := range []string{NormBatch, NormLayer} {
			t.Run(arch+"/"+norm, func(t *testing.T) {
				c := small(arch, norm, ReadoutSum)
				c.Dim, c.Heads, c.PEDim, c.Layers, c.Out = 4, 2, 2, 1, 1
				m := mustNew(t, c).(*Net)
				to64(m)
				f := func(xs []*autograd.Var) *autograd.Var {
					m.EmbedH.Tables[1].Weight = xs[0]
					return m.Forward(&nn.Ctx{Train: true}, b)
				}
				in := []*tensor.Tensor{m.EmbedH.Tables[1].Weight.Value}
				if err := autograd.GradGradCheck(f, in, autograd.CheckOptions{Atol: 1e-6, Rtol: 1e-4}); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

// TestFeaturelessEdges: a model without edge vocabularies embeds every
// edge alike (the reference's edge_feat false), ignoring features a batch
// may carry, and its full-graph variant tells edges from other pairs.
func TestFeaturelessEdges(t *testing.T) {
	g := ring(t, 5) // edges with features
	bare := &Graph{Nodes: g.Nodes, Src: g.Src, Dst: g.Dst}
	for _, arch := range []string{"gt", "gt-full"} {
		c := small(arch, NormLayer, ReadoutMean)
		c.EdgeVocab = nil
		m := mustNew(t, c)
		if rows := m.(*Net).EmbedE.Tables[0].Weight.Dim(0); rows != 1+b2i(arch == "gt-full") {
			t.Fatalf("%s: %d edge embedding rows", arch, rows)
		}
		autograd.NoGrad(func() {
			y := m.Forward(nil, mustCollate(t, []*Graph{g}, 3)).Value.Float64s()
			yb := m.Forward(nil, mustCollate(t, []*Graph{bare}, 3)).Value.Float64s()
			closeRows(t, arch, y, yb, 1e-6)
		})
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
