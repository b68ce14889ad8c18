package prune

import (
	"slices"
	"strings"
	"testing"

	"github.com/loomml/loom/compress/finercut"
	"github.com/loomml/loom/models/decoder"
)

func model(t *testing.T) *decoder.Model {
	t.Helper()
	c := &decoder.Config{HiddenSize: 32, IntermediateSize: 64, NumHiddenLayers: 4, NumAttentionHeads: 4,
		HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 10000, VocabSize: 40, MaxPositionEmbeddings: 16, InitializerRange: 0.2}
	m, err := decoder.New(c, 1)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

var calib = [][]int{{1, 2, 3, 4, 5, 6, 7, 8}, {8, 7, 6, 5, 4, 3, 2, 1}}

func TestEveryMethodRemovesCount(t *testing.T) {
	for _, name := range Names() {
		for _, n := range []int{1, 3, 4} {
			m := model(t)
			rs, err := Run(name, Request{Model: m, Calib: calib, Count: n, Seed: 7})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if len(rs) != n || m.Config.Loom.Removed.Count() != n {
				t.Fatalf("%s removed %d (map %d), want %d", name, len(rs), m.Config.Loom.Removed.Count(), n)
			}
		}
	}
}

func TestBaselineOrders(t *testing.T) {
	m := model(t)
	rs, _ := Run("lastn", Request{Model: m, Calib: calib, Count: 3})
	want := []finercut.Step{{Sublayer: decoder.Sublayer{Layer: 3, Kind: decoder.SublayerFFN}}, {Sublayer: decoder.Sublayer{Layer: 3, Kind: decoder.SublayerAttention}},
		{Sublayer: decoder.Sublayer{Layer: 2, Kind: decoder.SublayerFFN}}}
	if !slices.Equal(rs, want) {
		t.Fatalf("lastn removed %v, want %v", rs, want)
	}
	a, _ := Run("random", Request{Model: model(t), Calib: calib, Count: 3, Seed: 1})
	b, _ := Run("random", Request{Model: model(t), Calib: calib, Count: 3, Seed: 1})
	c, _ := Run("random", Request{Model: model(t), Calib: calib, Count: 3, Seed: 2})
	if !slices.Equal(a, b) || slices.Equal(a, c) {
		t.Fatalf("random: seed 1 gives %v and %v, seed 2 %v", a, b, c)
	}
	s, _ := Run("shortgpt", Request{Model: model(t), Calib: calib, Count: 2})
	if s[0].Layer != s[1].Layer || s[0].Kind == s[1].Kind {
		t.Fatalf("shortgpt with an even count removes one block, got %v", s)
	}
}

func TestRunErrors(t *testing.T) {
	if _, err := Run("magnitude", Request{Model: model(t), Count: 1}); err == nil || !strings.Contains(err.Error(), `unknown method "magnitude"`) {
		t.Fatal(err)
	}
	if _, err := Run("lastn", Request{Model: model(t), Count: 8}); err == nil || !strings.Contains(err.Error(), "want 1 to 7") {
		t.Fatal(err)
	}
}
