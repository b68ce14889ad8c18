package finercut

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/loomml/loom/models/decoder"
)

func model(t *testing.T, seed uint64) *decoder.Model {
	t.Helper()
	c := &decoder.Config{HiddenSize: 32, IntermediateSize: 64, NumHiddenLayers: 6, NumAttentionHeads: 4,
		NumKeyValueHeads: 2, HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 10000, VocabSize: 64,
		MaxPositionEmbeddings: 32, InitializerRange: 0.2}
	m, err := decoder.New(c, seed)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func calib(n, T, vocab int) [][]int {
	out := make([][]int, n)
	for i := range out {
		for j := range T {
			out[i] = append(out[i], (i*31+j*7+3)%vocab)
		}
	}
	return out
}

// TestCachedSearchEqualsNaive: the layer-boundary cache gives the same
// order and scores as recomputing every candidate, with fewer forwards.
func TestCachedSearchEqualsNaive(t *testing.T) {
	for _, dist := range Distances {
		cached, naive := model(t, 3), model(t, 3)
		o := Options{Count: 5, Distance: dist}
		rc, err := Prune(cached, calib(4, 16, 64), o)
		if err != nil {
			t.Fatal(err)
		}
		o.Naive = true
		rn, err := Prune(naive, calib(4, 16, 64), o)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(rc.Order, rn.Order) {
			t.Fatalf("%s: cached order %v, naive %v", dist, rc.Order, rn.Order)
		}
		if rc.LayerForwards >= rn.LayerForwards || rc.NaiveLayerForwards != rn.NaiveLayerForwards {
			t.Fatalf("%s: cached search did %d layer-forwards, naive %d (counted %d)", dist, rc.LayerForwards, rn.LayerForwards, rc.NaiveLayerForwards)
		}
		t.Logf("%s: order %v; %d layer-forwards vs %d naive", dist, rc.Order, rc.LayerForwards, rn.LayerForwards)
		if cached.Config.Loom.Removed.Count() != 5 {
			t.Fatalf("%s: the model records %d removals", dist, cached.Config.Loom.Removed.Count())
		}
		// Scores are each step's distance of the pruned model, so the
		// first is the smallest single-removal distance and all are > 0.
		for _, s := range rc.Order {
			if !(s.Score > 0) {
				t.Fatalf("%s: step %+v has score %v", dist, s, s.Score)
			}
		}
	}
}

// TestGreedyPicksTheHarmlessSublayer: a sublayer whose output projection is
// zero changes nothing, so it is removed first with score 0.
func TestGreedyPicksTheHarmlessSublayer(t *testing.T) {
	for _, d := range Distances {
		m := model(t, 5)
		for _, p := range m.Params() {
			if p.Name == "model.layers.2.mlp.down_proj.weight" {
				clear(p.Value.F32())
			}
		}
		r, err := Prune(m, calib(2, 12, 64), Options{Count: 1, Distance: d})
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Order[0]; got.Layer != 2 || got.Kind != decoder.SublayerFFN || got.Score > 1e-12 {
			t.Fatalf("%s: first removal %+v, want layer 2's mlp at distance 0", d, got)
		}
	}
}

func TestProtectAndErrors(t *testing.T) {
	m := model(t, 1)
	r, err := Prune(m, calib(2, 8, 64), Options{Count: 4, Protect: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range r.Order {
		if s.Layer < 3 {
			t.Fatalf("removed %+v from a protected layer", s)
		}
	}
	for _, tc := range []struct {
		o     Options
		calib [][]int
		want  string
	}{
		{Options{Ratio: 1.2}, calib(1, 8, 64), "strictly between 0 and 1"},
		{Options{Ratio: 0}, calib(1, 8, 64), "strictly between 0 and 1"},
		{Options{Count: 12}, calib(1, 8, 64), "want 1 to 11"},
		{Options{Count: 2, Distance: "l2"}, calib(1, 8, 64), `distance "l2"`},
		{Options{Count: 2}, nil, "no calibration windows"},
		{Options{Count: 2}, calib(1, 40, 64), "exceed the model's 32 positions"},
		{Options{Count: 2}, [][]int{{1, 2}, {3}}, "window 1 has 1 tokens"},
		{Options{Count: 11, Protect: 2}, calib(1, 8, 64), "fewer than the 11 to remove"},
	} {
		if _, err := Prune(model(t, 1), tc.calib, tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Prune(%+v): %v, want %q", tc.o, err, tc.want)
		}
	}
}

func TestDistances(t *testing.T) {
	p := []float64{0.5, 0.25, 0.25}
	q := []float64{0.25, 0.25, 0.5}
	if d := js(p, p); d != 0 {
		t.Errorf("js(p, p) = %v", d)
	}
	// JS is symmetric and bounded by ln 2; KL by hand.
	if math.Abs(js(p, q)-js(q, p)) > 1e-15 || js(p, q) > math.Ln2 {
		t.Errorf("js(p, q) = %v, js(q, p) = %v", js(p, q), js(q, p))
	}
	if want := 0.5*math.Log(2) + 0.25*math.Log(0.5); math.Abs(kl(p, q)-want) > 1e-15 {
		t.Errorf("kl = %v, want %v", kl(p, q), want)
	}
	if d := angular([]float64{1, 0}, []float64{0, 1}); math.Abs(d-0.5) > 1e-15 {
		t.Errorf("angular of orthogonal vectors = %v, want 0.5", d)
	}
}

// TestOneShot: one-shot removal takes the candidates of lowest single-removal
// score, whose first equals the greedy search's first.
func TestOneShot(t *testing.T) {
	g, err := Prune(model(t, 3), calib(4, 16, 64), Options{Count: 4})
	if err != nil {
		t.Fatal(err)
	}
	one, err := Prune(model(t, 3), calib(4, 16, 64), Options{Count: 4, OneShot: true})
	if err != nil {
		t.Fatal(err)
	}
	if one.Order[0] != g.Order[0] {
		t.Fatalf("one-shot first %+v, greedy first %+v", one.Order[0], g.Order[0])
	}
	for i := 1; i < len(one.Order); i++ {
		if one.Order[i].Score < one.Order[i-1].Score {
			t.Fatalf("one-shot order not by score: %v", one.Order)
		}
	}
}
