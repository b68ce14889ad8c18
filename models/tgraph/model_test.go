package tgraph

import (
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/data/events"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// stream builds a Stream from parallel slices (times non-decreasing) over
// nodes 0..nodes−1, with feat features per event when feat > 0.
func stream(t testing.TB, src, dst []int, times []float64, nodes, feat int, r *tensor.RNG) *events.Stream {
	t.Helper()
	s := &events.Stream{Name: "test", Src: src, Dst: dst, Time: times, FeatDim: feat}
	for n := range nodes {
		s.IDs = append(s.IDs, strconv.Itoa(n))
	}
	if feat > 0 {
		s.Feat = make([]float32, len(src)*feat)
		for i := range s.Feat {
			s.Feat[i] = float32(r.Normal())
		}
	}
	if !s.Sorted() {
		t.Fatal("stream times not sorted")
	}
	return s
}

// randomStream is n events among nodes nodes at integer times with
// random gaps of 0 to 3 (so timestamps repeat).
func randomStream(t testing.TB, seed uint64, nodes, n, feat int) *events.Stream {
	r := tensor.NewRNG(seed)
	src, dst, times := make([]int, n), make([]int, n), make([]float64, n)
	var now float64
	for i := range n {
		now += float64(r.Intn(4))
		src[i], dst[i], times[i] = r.Intn(nodes), r.Intn(nodes), now
	}
	return stream(t, src, dst, times, nodes, feat, r)
}

// tiny is a small configuration for tests.
func tiny(arch string) Config {
	c := Defaults(arch)
	if arch == ArchTGN {
		c.Dim, c.TimeDim, c.MemoryBatch, c.Seed = 8, 4, 16, 3
		return c
	}
	c.Dim, c.TimeDim, c.FFN, c.Window = 8, 4, 16, 40
	if arch == ArchTodyformer {
		c.Patches = 4
	}
	c.Seed = 3
	return c
}

func mustBuild(t testing.TB, c Config) LinkModel {
	t.Helper()
	m, err := Build(c)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mustNew(t testing.TB, c Config) *Model {
	t.Helper()
	m, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestConfigCheck refuses configurations New cannot build.
func TestConfigCheck(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(*Config)
		ok   bool
	}{
		{"defaults", func(*Config) {}, true},
		{"arch", func(c *Config) { c.Arch = "tgn" }, false},
		{"heads", func(c *Config) { c.Heads = 3 }, false},
		{"no global layers", func(c *Config) { c.GlobalLayers = 0 }, false},
		{"more patches than events", func(c *Config) { c.Window, c.Patches = 4, 8 }, false},
		{"dropout", func(c *Config) { c.Dropout = 1 }, false},
	} {
		cfg := Defaults(ArchTodyformer)
		c.edit(&cfg)
		if err := cfg.Check(); (err == nil) != c.ok {
			t.Errorf("%s: Check() = %v", c.name, err)
		}
	}
	for _, arch := range Archs {
		if err := Defaults(arch).Check(); err != nil {
			t.Error(err)
		}
	}
	bad := Defaults(ArchTGN)
	bad.MemoryBatch = 0
	if bad.Check() == nil {
		t.Error("tgn without a memory batch passed")
	}
	if _, err := New(Defaults(ArchTGN)); err == nil {
		t.Error("New built a tgn")
	}
}

// TestNoLeakage: the embedding a prediction at time t uses depends only
// on the history strictly before t. Rewriting every event at or after t
// (endpoints, times, features) and appending more leaves the embeddings
// (for TGN, the scores of every pair) and the scores bit for bit as they
// were; rewriting the last event before t changes them.
func TestNoLeakage(t *testing.T) {
	for _, arch := range Archs {
		for _, feat := range []int{0, 3} {
			t.Run(arch+"/feat"+strconv.Itoa(feat), func(t *testing.T) {
				const nodes, n = 30, 200
				s := randomStream(t, 5, nodes, n, feat)
				c := tiny(arch)
				c.EdgeFeat = feat
				m := mustBuild(t, c)
				cut := 120
				for cut > 0 && s.Time[cut-1] == s.Time[cut] {
					cut--
				}
				tc := s.Time[cut] // events 0..cut−1 are strictly before tc
				query := make([]int, nodes)
				for i := range query {
					query[i] = i
				}
				var allSrc, allDst []int
				for u := range nodes {
					for v := range nodes {
						allSrc, allDst = append(allSrc, u), append(allDst, v)
					}
				}
				embed := func(s *events.Stream) []float64 {
					mm, ok := m.(*Model)
					if !ok {
						return m.Score(FullHistory(s), tc, allSrc, allDst)
					}
					var out []float64
					autograd.NoGrad(func() { out = mm.Embed(nil, mm.Patches(FullHistory(s), tc), query).Value.Float64s() })
					return out
				}
				score := func(s *events.Stream) []float64 {
					return m.Score(FullHistory(s), tc, query[:10], query[10:20])
				}
				e0, p0 := embed(s), score(s)

				r := tensor.NewRNG(9)
				f := &events.Stream{Name: "future", IDs: s.IDs, FeatDim: feat}
				f.Src, f.Dst, f.Time = slices.Clone(s.Src[:cut]), slices.Clone(s.Dst[:cut]), slices.Clone(s.Time[:cut])
				f.Feat = slices.Clone(s.Feat[:cut*feat])
				for i := cut; i < n+50; i++ { // rewritten and extra events, all at t ≥ tc
					f.Src, f.Dst = append(f.Src, r.Intn(nodes)), append(f.Dst, r.Intn(nodes))
					f.Time = append(f.Time, tc+float64(i-cut)/2)
					for range feat {
						f.Feat = append(f.Feat, float32(r.Normal()))
					}
				}
				if e1, p1 := embed(f), score(f); !slices.Equal(e0, e1) || !slices.Equal(p0, p1) {
					t.Fatal("events at or after the cutoff changed the embeddings or scores")
				}
				// the last event before the cutoff does matter
				g := &events.Stream{Name: "past", IDs: s.IDs, FeatDim: feat, Src: slices.Clone(s.Src), Dst: slices.Clone(s.Dst), Time: s.Time, Feat: s.Feat}
				g.Src[cut-1], g.Dst[cut-1] = (s.Src[cut-1]+1)%nodes, (s.Dst[cut-1]+7)%nodes
				if slices.Equal(e0, embed(g)) {
					t.Fatal("changing the last event before the cutoff left every embedding as it was")
				}
			})
		}
	}
}

// TestGradientsReachEveryParameter: one batch's loss has a non-zero
// gradient with respect to every trainable parameter, the time encoding's
// included when it learns, with dropout in training (for TGN, through the
// memory update of the batch before).
func TestGradientsReachEveryParameter(t *testing.T) {
	for _, arch := range Archs {
		t.Run(arch, func(t *testing.T) {
			s := randomStream(t, 7, 15, 300, 2) // dense: instances receive several messages
			s.IDs = append(s.IDs, "15")         // a node without events
			c := tiny(arch)
			c.EdgeFeat, c.LearnTime = 2, true
			if arch != ArchTGN {
				c.Blocks, c.LocalLayers = 2, 2
			}
			if arch == ArchTodyformer {
				c.GlobalLayers = 2
			}
			m := mustBuild(t, c)
			h := FullHistory(s)
			end := h.Before(s.Time[250]) // the memory's last batch ends here
			src := []int{s.Src[250], s.Src[end-1], 14, 0}
			dst := []int{s.Dst[250], s.Dst[end-1], 13, s.Dst[252]}
			src = append(src, 15) // outside the window: Absent
			dst = append(dst, s.Dst[250])
			loss := Trainer{M: m, H: h}.Loss(&nn.Ctx{Train: true, RNG: tensor.NewRNG(1)},
				&Batch{Cutoff: s.Time[250], Src: src[:3], Dst: dst[:3], NegSrc: src[2:], NegDst: dst[2:]})
			loss.Backward()
			for _, p := range m.Params() {
				if p.Frozen() {
					t.Errorf("%s is frozen", p.Name)
					continue
				}
				if p.Grad == nil {
					t.Errorf("%s has no gradient", p.Name)
					continue
				}
				var norm float64
				for _, g := range p.Grad.Float64s() {
					norm += g * g
				}
				if norm == 0 || math.IsNaN(norm) {
					t.Errorf("%s: gradient norm² %v", p.Name, norm)
				}
			}
		})
	}
}

// TestGradCheck compares the gradients of a batch's loss with finite
// differences in float64, with respect to parameters of every part: the
// time encoding, a local layer's query, key and skip maps, the positional
// encoding, a global layer's QKV and FFN, Absent and the head; for TGN the
// GRU, the embedding and the head, with one memory batch (the gradient
// through earlier memory is cut, as in TGN, so finite differences would
// differ there).
func TestGradCheck(t *testing.T) {
	t.Run(ArchTGN, func(t *testing.T) {
		s := randomStream(t, 11, 12, 60, 1)
		c := tiny(ArchTGN)
		c.Dim, c.TimeDim, c.EdgeFeat, c.LearnTime, c.MemoryBatch = 4, 3, 1, true, 64
		m, err := NewTGN(c)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m.Params() {
			p.Value = p.Value.To(tensor.Float64)
		}
		ps := []**autograd.Var{&m.Time.W, &m.GRUIn.Weight, &m.GRUHidden.Bias, &m.Emb.Weight, &m.Head1.Weight}
		var in []*tensor.Tensor
		for _, p := range ps {
			in = append(in, (*p).Value)
		}
		b := &Batch{Cutoff: s.Time[50], Src: []int{s.Src[49], s.Src[51]}, Dst: []int{s.Dst[49], s.Dst[51]},
			NegSrc: []int{s.Src[48], 11}, NegDst: []int{3, 5}}
		f := func(xs []*autograd.Var) *autograd.Var {
			for i, p := range ps {
				*p = xs[i]
			}
			h := FullHistory(s) // a new history: the memory starts from zero
			return Trainer{M: m, H: h}.Loss(&nn.Ctx{Train: true}, b)
		}
		if err := autograd.GradCheck(f, in, autograd.CheckOptions{Atol: 1e-6, Rtol: 1e-4}); err != nil {
			t.Fatal(err)
		}
	})
	for _, arch := range []string{ArchTodyformer, ArchMPNN} {
		t.Run(arch, func(t *testing.T) {
			s := randomStream(t, 11, 12, 60, 1)
			c := tiny(arch)
			c.Dim, c.TimeDim, c.FFN, c.Window, c.EdgeFeat, c.LearnTime, c.Dropout = 4, 3, 6, 24, 1, true, 0
			if arch == ArchTodyformer {
				c.Patches = 3
			}
			m := mustNew(t, c)
			for _, p := range m.Params() {
				p.Value = p.Value.To(tensor.Float64)
			}
			// small times keep the float32 phase of the learnt encoding exact enough
			h := FullHistory(s)
			l0 := m.Blocks[0].Local[0]
			ps := []**autograd.Var{&m.Time.W, &m.Time.B, &l0.Q.Weight, &l0.KZ.Weight, &l0.Skip.Bias, &m.Absent, &m.Head1.Weight}
			if arch == ArchTodyformer {
				g := m.Blocks[0].Global[0]
				ps = append(ps, &m.Blocks[0].PE.Weight, &g.QKV.Weight, &g.FF1.Weight, &m.Blocks[1].Global[0].LN2.Weight)
			} else {
				ps = append(ps, &m.Blocks[1].Local[0].VH.Weight)
			}
			var in []*tensor.Tensor
			for _, p := range ps {
				in = append(in, (*p).Value)
			}
			b := &Batch{Cutoff: s.Time[50], Src: []int{s.Src[50], s.Src[51]}, Dst: []int{s.Dst[50], s.Dst[51]},
				NegSrc: []int{s.Src[50], 11}, NegDst: []int{3, 5}}
			f := func(xs []*autograd.Var) *autograd.Var {
				for i, p := range ps {
					*p = xs[i]
				}
				return Trainer{M: m, H: h}.Loss(&nn.Ctx{Train: true}, b)
			}
			if err := autograd.GradCheck(f, in, autograd.CheckOptions{Atol: 1e-6, Rtol: 1e-4}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestEmbedAbsentAndEmpty: a node outside the window gets Absent, and an
// empty window (the first batch) gives Absent to every node.
func TestEmbedAbsentAndEmpty(t *testing.T) {
	s := randomStream(t, 13, 20, 100, 0)
	for _, arch := range []string{ArchTodyformer, ArchMPNN} {
		m := mustNew(t, tiny(arch))
		for i := range m.Absent.Value.F32() {
			m.Absent.Value.F32()[i] = float32(i + 1)
		}
		p := m.Patches(FullHistory(s), s.Time[0])
		if len(p.Events) != 0 {
			t.Fatalf("%d events before the first", len(p.Events))
		}
		e := m.Embed(nil, p, []int{0, 5, 19})
		if e.Dim(0) != 3 || e.Dim(1) != m.cfg.Dim {
			t.Fatalf("%s: shape %v", arch, e.Shape())
		}
		for q := range 3 {
			for j := range m.cfg.Dim {
				if e.Value.At(q, j) != float64(j+1) {
					t.Fatalf("%s: empty window: row %d is %v, want Absent", arch, q, e.Value)
				}
			}
		}
	}
}

// TestSaveLoad: a loaded checkpoint has the configuration and scores the
// same pairs identically; a config with an unknown field is refused,
// naming the file.
func TestSaveLoad(t *testing.T) {
	s := randomStream(t, 17, 20, 150, 2)
	for _, arch := range Archs {
		c := tiny(arch)
		c.EdgeFeat, c.LearnTime = 2, true
		m := mustBuild(t, c)
		m.Params()[0].Value.F32()[0] = 0.5 // the time encoding's first frequency, not its initial value
		dir := t.TempDir() + "/ckpt"
		if err := Save(m, dir); err != nil {
			t.Fatal(err)
		}
		l, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		if l.Config() != c {
			t.Errorf("%s: config %+v, want %+v", arch, l.Config(), c)
		}
		h := FullHistory(s)
		src, dst := []int{1, 2, 3, 19}, []int{4, 5, 6, 0}
		if a, b := m.Score(h, s.Time[120], src, dst), l.Score(h, s.Time[120], src, dst); !slices.Equal(a, b) {
			t.Errorf("%s: scores %v after loading, %v before", arch, b, a)
		}
	}
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/"+ConfigFile, []byte(`{"arch": "todyformer", "depth": 3}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), ConfigFile) {
		t.Errorf("unknown field: error %v", err)
	}
}
