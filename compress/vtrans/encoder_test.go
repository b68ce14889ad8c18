package vtrans

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/loomml/loom/compress/structured"
	"github.com/loomml/loom/models/encoder"
	"github.com/loomml/loom/tensor"
)

func bert(t *testing.T, seed uint64) *encoder.Model {
	t.Helper()
	pad := 0
	c := &encoder.Config{Architectures: []string{encoder.BertForSequenceClassification}, ModelType: encoder.TypeBERT, HiddenSize: 16,
		NumHiddenLayers: 3, NumAttentionHeads: 4, IntermediateSize: 24, HiddenAct: "gelu", InitializerRange: 0.3, LayerNormEps: 1e-12,
		VocabSize: 30, MaxPositionEmbeddings: 16, TypeVocabSize: 2, PositionEmbeddingType: "absolute", PadTokenID: &pad}
	c.SetLabels([]string{"a", "b", "c"})
	m, err := encoder.New(c, seed)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func encBatches(n int) []encoder.Batch {
	var out []encoder.Batch
	for i := range n {
		ids := make([]int, 2*6)
		for j := range ids {
			ids[j] = 1 + (i*7+j*j*3+j)%29
		}
		out = append(out, encoder.Batch{B: 2, T: 6, IDs: ids, Labels: []int{i % 3, (i + 1) % 3}})
	}
	return out
}

// TestEncoderFoldRemoveEqualsMasked: on a BERT classifier, folding the
// masks' μ into the weights and removing the unkept heads and neurons
// gives the logits of the model gated by μ·keep.
func TestEncoderFoldRemoveEqualsMasked(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		m := bert(t, seed)
		v, err := NewEncoder(m)
		if err != nil {
			t.Fatal(err)
		}
		if v.Hidden != nil {
			t.Fatal("an encoder has hidden-dim masks")
		}
		rng := tensor.NewRNG(seed + 100)
		for _, p := range v.Params() {
			fill(p, rng, 0.5, 1.5)
		}
		k, err := structured.Full(m)
		if err != nil {
			t.Fatal(err)
		}
		for l := range k.Heads {
			k.Heads[l][int(seed+uint64(l))%4] = false
			for j := range k.Neurons[l] {
				k.Neurons[l][j] = j == 0 || rng.Float64() > 0.4
			}
		}
		b := &encBatches(1)[0]
		v.Sample(nil, k)
		masked := m.Logits(nil, b).Value.Float32s()
		v.Detach()
		if err := v.Fold(); err != nil {
			t.Fatal(err)
		}
		pruned, err := structured.RemoveEncoder(m, k)
		if err != nil {
			t.Fatal(err)
		}
		if structured.NumParams(pruned) >= structured.NumParams(m) {
			t.Fatal("nothing removed")
		}
		got := pruned.Logits(nil, b).Value.Float32s()
		scale, d := 0.0, 0.0
		for i, x := range masked {
			scale = math.Max(scale, math.Abs(float64(x)))
			d = math.Max(d, math.Abs(float64(x-got[i])))
		}
		if d > 2e-5*scale {
			t.Fatalf("seed %d: pruned logits differ from masked by %g (scale %g)", seed, d, scale)
		}
	}
}

// TestRunEncoder: every variant removes at least the budget, shrinks the
// classifier and leaves the input model as it was.
func TestRunEncoder(t *testing.T) {
	m := bert(t, 5)
	b := &encBatches(1)[0]
	before := m.Logits(nil, b).Value.Float32s()
	for _, variant := range Variants {
		r, err := RunEncoder(m, encBatches(6), Options{Ratio: 0.4, Variant: variant, Epochs: 1, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		if r.Encoder == nil || r.Model != nil || r.Removed < 0.4 || r.Params[1] >= r.Params[0] || structured.NumParams(r.Encoder) != r.Params[1] {
			t.Fatalf("%s: removed %v, params %v", variant, r.Removed, r.Params)
		}
		if want := map[string]int{Full: 6, Fast: 1, Faster: 6}[variant]; r.Steps != want {
			t.Fatalf("%s: %d steps, want %d", variant, r.Steps, want)
		}
		for _, x := range r.Encoder.Logits(nil, b).Value.Float32s() {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				t.Fatalf("%s: non-finite logits", variant)
			}
		}
	}
	if !slices.Equal(before, m.Logits(nil, b).Value.Float32s()) {
		t.Fatal("RunEncoder changed its input model")
	}
}

// TestEncoderBadInput: bad options, unlabelled batches and models without
// classes are refused by name.
func TestEncoderBadInput(t *testing.T) {
	m := bert(t, 1)
	unlabelled := encBatches(2)
	unlabelled[1].Labels = nil
	reg := *m.Config
	reg.ProblemType = "regression"
	reg.SetLabels([]string{"score"})
	rm, err := encoder.New(&reg, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		m    *encoder.Model
		bs   []encoder.Batch
		o    Options
		want string
	}{
		{"ratio", m, encBatches(2), Options{Ratio: 1}, "ratio"},
		{"variant", m, encBatches(2), Options{Ratio: 0.5, Variant: "fastest"}, "variant"},
		{"no batches", m, nil, Options{Ratio: 0.5}, "no training batches"},
		{"labels", m, unlabelled, Options{Ratio: 0.5}, "labels"},
		{"regression", rm, encBatches(2), Options{Ratio: 0.5}, "regression"},
	} {
		if _, err := RunEncoder(tc.m, tc.bs, tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one naming %q", tc.name, err, tc.want)
		}
	}
}
