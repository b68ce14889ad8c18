package repro

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/encoder"
)

func TestParetoFrontier(t *testing.T) {
	pt := func(name, kind string, x, y float64) ladderPoint {
		return ladderPoint{Name: name, Kind: kind, X: x, Y: y}
	}
	for _, tc := range []struct {
		name        string
		ps          []ladderPoint
		frontier    []int
		onFrontier  []string
		undominated []string
	}{
		{
			name:     "one point",
			ps:       []ladderPoint{pt("base", ladderBase, 2, 1)},
			frontier: []int{0},
		},
		{
			name: "combinations dominate",
			ps: []ladderPoint{
				pt("base", ladderBase, 10, 1.0),
				pt("int8", ladderSingle, 6, 1.01),
				pt("distilled", ladderSingle, 5, 1.3),
				pt("distilled+int8", ladderCombo, 3, 1.29),
				pt("2:4+int8", ladderCombo, 5, 1.005),
			},
			frontier: []int{3, 4, 0},
		},
		{
			name: "a single method on the frontier and undominated",
			ps: []ladderPoint{
				pt("base", ladderBase, 10, 1.0),
				pt("q4", ladderSingle, 4, 1.02),
				pt("distilled+q4", ladderCombo, 2, 1.4),
				pt("magnitude+q4", ladderCombo, 4, 1.3),
			},
			frontier:    []int{2, 1, 0},
			onFrontier:  []string{"q4"},
			undominated: []string{"q4"},
		},
		{
			name: "dominated only by the base or another single counts as undominated",
			ps: []ladderPoint{
				pt("base", ladderBase, 1, 1.0),
				pt("magnitude", ladderSingle, 2, 2.0),
				pt("2:4", ladderSingle, 3, 3.0),
				pt("2:4+int8", ladderCombo, 2.5, 2.5),
			},
			frontier:    []int{0},
			undominated: []string{"magnitude"},
		},
		{
			name: "ties: equal points are both on the frontier, equal is not dominating",
			ps: []ladderPoint{
				pt("int8", ladderSingle, 3, 1.0),
				pt("2:4+int8", ladderCombo, 3, 1.0),
				pt("slow", ladderCombo, 4, 1.0),
			},
			frontier:    []int{0, 1},
			onFrontier:  []string{"int8"},
			undominated: []string{"int8"},
		},
		{
			name: "latencies within 5 % are equal: the lower loss dominates, noise does not",
			ps: []ladderPoint{
				pt("int8", ladderSingle, 3.0, 1.0),
				pt("2:4+int8", ladderCombo, 2.9, 1.2),
				pt("distilled+int8", ladderCombo, 3.1, 0.9),
			},
			frontier: []int{2}, // int8 dominates 2:4+int8 (equal speed, lower loss), distilled+int8 dominates int8

		},
		{
			name: "more than 5 % faster at equal loss dominates",
			ps: []ladderPoint{
				pt("int8", ladderSingle, 3.0, 1.0),
				pt("2:4+int8", ladderCombo, 2.8, 1.0),
			},
			frontier: []int{1},
		},
		{
			name: "within 5 % at equal loss: neither dominates",
			ps: []ladderPoint{
				pt("int8", ladderSingle, 3.0, 1.0),
				pt("2:4+int8", ladderCombo, 2.9, 1.0),
			},
			frontier:    []int{1, 0},
			onFrontier:  []string{"int8"},
			undominated: []string{"int8"},
		},
		{
			name: "same latency, lower loss dominates",
			ps: []ladderPoint{
				pt("int8", ladderSingle, 3, 1.1),
				pt("2:4+int8", ladderCombo, 3, 1.0),
			},
			frontier: []int{1},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := checkLadder(tc.ps)
			if !slices.Equal(c.Frontier, tc.frontier) {
				t.Errorf("frontier %v, want %v", c.Frontier, tc.frontier)
			}
			if !slices.Equal(c.OnFrontier, tc.onFrontier) {
				t.Errorf("singles on the frontier %v, want %v", c.OnFrontier, tc.onFrontier)
			}
			if !slices.Equal(c.Undominated, tc.undominated) {
				t.Errorf("undominated singles %v, want %v", c.Undominated, tc.undominated)
			}
			if got, want := c.holds(), len(tc.onFrontier) == 0 && len(tc.undominated) == 0; got != want {
				t.Errorf("holds %v, want %v", got, want)
			}
		})
	}
}

func TestMedianOf(t *testing.T) {
	for _, tc := range []struct {
		xs   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{1, 100, 2, 2, 2}, 2},
	} {
		in := slices.Clone(tc.xs)
		if got := medianOf(tc.xs); got != tc.want {
			t.Errorf("medianOf(%v) = %v, want %v", tc.xs, got, tc.want)
		}
		if !slices.Equal(in, tc.xs) {
			t.Errorf("medianOf changed its input to %v", tc.xs)
		}
	}
}

func TestInitFromTeacher(t *testing.T) {
	dec := func(layers int, seed uint64) *decoder.Model {
		m, err := decoder.New(&decoder.Config{HiddenSize: 16, IntermediateSize: 32, NumHiddenLayers: layers, NumAttentionHeads: 2,
			NumKeyValueHeads: 2, HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 10000, VocabSize: 32,
			MaxPositionEmbeddings: 16, InitializerRange: 0.02, Loom: decoder.Options{Tokenizer: "byte"}}, seed)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	enc := func(layers int, seed uint64) *encoder.Model {
		pad := 0
		m, err := encoder.New(&encoder.Config{Architectures: []string{encoder.BertForMaskedLM}, ModelType: encoder.TypeBERT, HiddenSize: 16,
			NumHiddenLayers: layers, NumAttentionHeads: 2, IntermediateSize: 32, HiddenAct: "gelu", InitializerRange: 0.02,
			LayerNormEps: 1e-12, VocabSize: 32, MaxPositionEmbeddings: 16, TypeVocabSize: 2, PositionEmbeddingType: "absolute", PadTokenID: &pad}, seed)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, tc := range []struct {
		name             string
		student, teacher []*autograd.Var
		pattern          string
		layers           []int
		wantErr          bool
	}{
		{"decoder 2 of 4", dec(2, 1).Params(), dec(4, 2).Params(), "layers.%d.", []int{0, 2}, false},
		{"decoder last layer", dec(1, 1).Params(), dec(4, 2).Params(), "layers.%d.", []int{3}, false},
		{"encoder 2 of 4", enc(2, 1).Params(), enc(4, 2).Params(), "layer.%d.", []int{1, 3}, false},
		{"teacher layer missing", dec(2, 1).Params(), dec(2, 2).Params(), "layers.%d.", []int{0, 5}, true},
		{"wrong width", dec(2, 1).Params(), func() []*autograd.Var {
			m, err := decoder.New(&decoder.Config{HiddenSize: 32, IntermediateSize: 32, NumHiddenLayers: 2, NumAttentionHeads: 2,
				NumKeyValueHeads: 2, HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 10000, VocabSize: 32,
				MaxPositionEmbeddings: 16, InitializerRange: 0.02, Loom: decoder.Options{Tokenizer: "byte"}}, 2)
			if err != nil {
				t.Fatal(err)
			}
			return m.Params()
		}(), "layers.%d.", []int{0, 1}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := initFromTeacher(tc.student, tc.teacher, tc.pattern, tc.layers)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want one: %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			byName := map[string][]float32{}
			for _, p := range tc.teacher {
				byName[p.Name] = p.Value.F32()
			}
			for _, p := range tc.student {
				name := p.Name
				for i, l := range tc.layers {
					name = strings.Replace(name, fmt.Sprintf(tc.pattern, i), fmt.Sprintf("@%d.", l), 1)
				}
				name = strings.Replace(name, "@", strings.TrimSuffix(tc.pattern, "%d."), 1)
				if !slices.Equal(p.Value.F32(), byName[name]) {
					t.Errorf("%s does not equal the teacher's %s", p.Name, name)
				}
			}
		})
	}
}
