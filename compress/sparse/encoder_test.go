package sparse

import (
	"math"
	"strings"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/models/encoder"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// bert returns a small BERT classifier (3 labels) with random weights.
func bert(t *testing.T, seed uint64) *encoder.Model {
	t.Helper()
	pad := 0
	c := &encoder.Config{Architectures: []string{encoder.BertForSequenceClassification}, ModelType: encoder.TypeBERT,
		HiddenSize: 32, NumHiddenLayers: 2, NumAttentionHeads: 4, IntermediateSize: 64, HiddenAct: "gelu",
		InitializerRange: 0.2, LayerNormEps: 1e-12, VocabSize: 40, MaxPositionEmbeddings: 16, TypeVocabSize: 2,
		PositionEmbeddingType: "absolute", PadTokenID: &pad}
	c.SetLabels([]string{"a", "b", "c"})
	m, err := encoder.New(c, seed)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func encoderLogits(m *encoder.Model, b *encoder.Batch) []float32 {
	var out []float32
	autograd.NoGrad(func() { out = m.Logits(nil, b).Value.Contiguous().F32() })
	return out
}

// TestEncoderTargets: the targets are the layers' six linears each (not
// the embeddings, pooler or classifier), magnitude pruning reaches its
// ratio, and the 2:4 kernel gives the encoder's dense logits with the same
// zeros, padding included.
func TestEncoderTargets(t *testing.T) {
	b := &encoder.Batch{B: 2, T: 7, IDs: []int{5, 1, 9, 33, 2, 7, 11, 3, 4, 8, 20, 0, 0, 0}, Lengths: []int{7, 4}}
	for _, tc := range []struct {
		method string
		drop   bool // layer 1 without its FFN (AxFormer's removal)
	}{{"magnitude", false}, {"2:4", false}, {"2:4", true}} {
		m := bert(t, 11)
		want := 12
		if tc.drop {
			m.Layers[1].(*encoder.Layer).FFN = nil
			want = 10
		}
		ts, err := EncoderTargets(m)
		if err != nil {
			t.Fatal(err)
		}
		if len(ts) != want {
			t.Fatalf("%+v: %d targets, want %d", tc, len(ts), want)
		}
		for _, tg := range ts {
			if !strings.Contains(tg.Name, "encoder.layer.") {
				t.Fatalf("%+v: target %s is outside the layers", tc, tg.Name)
			}
		}
		if got := len(m.BlockLinears()); got != want {
			t.Fatalf("%+v: BlockLinears has %d, want %d", tc, got, want)
		}
		var s Stats
		if tc.method == "magnitude" {
			s, err = Magnitude(ts, 0.5, ScopeGlobal)
		} else {
			s, err = TwoFour(ts)
		}
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(s.Sparsity-0.5) > 1e-3 {
			t.Fatalf("%+v: sparsity %v", tc, s.Sparsity)
		}
		dense := encoderLogits(m, b)
		if tc.method == "magnitude" {
			if _, err := m.Pack24Weights(); err == nil || !strings.Contains(err.Error(), "more than 2 non-zeros") {
				t.Fatalf("packing unstructured zeros as 2:4: %v", err)
			}
			for _, v := range dense {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatal("non-finite logits")
				}
			}
			continue
		}
		n, err := m.Pack24Weights()
		if err != nil {
			t.Fatal(err)
		}
		if n <= 0 || n >= s.DenseBytes {
			t.Fatalf("%+v: packed %d bytes of %d dense", tc, n, s.DenseBytes)
		}
		packed := encoderLogits(m, b)
		m.Unpack24Weights()
		for i := range dense {
			if math.Abs(float64(dense[i]-packed[i])) > 1e-4*(1+math.Abs(float64(dense[i]))) {
				t.Fatalf("%+v: logit %d: dense %v, 2:4 kernel %v", tc, i, dense[i], packed[i])
			}
		}
	}
}

func TestEncoderTargetsRejects(t *testing.T) {
	m := bert(t, 2)
	up := m.Layers[0].(*encoder.Layer).FFN.(*nn.MLP).Up.(*nn.Linear)
	up.Weight.Value = tensor.Pack(up.Weight.Value, tensor.Q8_0)
	if _, err := EncoderTargets(m); err == nil || !strings.Contains(err.Error(), "float32") {
		t.Fatalf("a quantised encoder: %v", err)
	}
	m = bert(t, 2)
	for _, l := range m.Layers {
		l.(*encoder.Layer).Attn, l.(*encoder.Layer).FFN = nil, nil
	}
	if _, err := EncoderTargets(m); err == nil || !strings.Contains(err.Error(), "no linear layers") {
		t.Fatalf("an encoder without sublayers: %v", err)
	}
}
