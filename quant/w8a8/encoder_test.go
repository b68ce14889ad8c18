package w8a8

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/models/encoder"
	"github.com/loomml/loom/tensor"
)

func bert(t *testing.T, hidden int) *encoder.Model {
	t.Helper()
	pad := 0
	c := &encoder.Config{Architectures: []string{encoder.BertForSequenceClassification}, ModelType: encoder.TypeBERT,
		HiddenSize: hidden, NumHiddenLayers: 2, NumAttentionHeads: 4, IntermediateSize: 2 * hidden, HiddenAct: "gelu",
		InitializerRange: 0.2, LayerNormEps: 1e-12, VocabSize: 50, MaxPositionEmbeddings: 32, TypeVocabSize: 2,
		PositionEmbeddingType: "absolute", PadTokenID: &pad}
	c.SetLabels([]string{"a", "b", "c"})
	m, err := encoder.New(c, 5)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// encBatch is 4 rows of 16 seeded tokens, two of them padded.
func encBatch() encoder.Batch {
	rng := tensor.NewRNG(9)
	b := encoder.Batch{B: 4, T: 16, Lengths: []int{16, 9, 16, 5}, Labels: []int{0, 2, 1, 2}}
	for i := range b.B * b.T {
		if i%16 < b.Lengths[i/16] {
			b.IDs = append(b.IDs, 1+int(rng.Uint64()%49))
		} else {
			b.IDs = append(b.IDs, 0)
		}
	}
	return b
}

// TestEncoder: on a small BERT classifier, smoothing alone leaves the
// logits (up to float rounding), every mode keeps the loss and the logits
// near the float model's, the report counts the layers (six per layer, not
// the pooler or the head), and bad options are refused by name.
func TestEncoder(t *testing.T) {
	b := encBatch()
	calib := []encoder.Batch{b}
	base := bert(t, 64)
	var ref []float32
	var refLoss float64
	autograd.NoGrad(func() {
		ref = base.Logits(nil, &b).Value.Contiguous().F32()
		refLoss = base.Loss(nil, b).Item()
	})
	lo, hi := slices.Min(ref), slices.Max(ref)
	span := float64(hi - lo)
	sm := bert(t, 64)
	if _, err := Encoder(sm, Options{SmoothQuant: true, EncoderCalib: calib, noRound: true}); err != nil {
		t.Fatal(err)
	}
	var got []float32
	autograd.NoGrad(func() { got = sm.Logits(nil, &b).Value.Contiguous().F32() })
	for i := range ref {
		if math.Abs(float64(got[i]-ref[i])) > 1e-4*(1+math.Abs(float64(ref[i]))) {
			t.Fatalf("smoothed logit %d: %v, float model %v", i, got[i], ref[i])
		}
	}
	for _, o := range []Options{{}, {SmoothQuant: true, EncoderCalib: calib}, {Activations: Block32},
		{Activations: Block32, SmoothQuant: true, Alpha: 0.8, EncoderCalib: calib}} {
		m := bert(t, 64)
		r, err := Encoder(m, o)
		if err != nil {
			t.Fatal(err)
		}
		if r.Linears != 12 || r.Params != 2*(4*64*64+2*64*128) || r.Int8Bytes >= r.Float32Byte/3 {
			t.Fatalf("%+v: report %+v, want 12 layers at about a quarter of the bytes", o, r)
		}
		if m.Pooler.Dense.Weight.Value.DType() != tensor.Float32 || m.Head.(*encoder.Classifier).Dense.Weight.Value.DType() != tensor.Float32 {
			t.Fatalf("%+v: the pooler or the head was quantised", o)
		}
		var loss float64
		var lg []float32
		autograd.NoGrad(func() {
			loss = m.Loss(nil, b).Item()
			lg = m.Logits(nil, &b).Value.Contiguous().F32()
		})
		if math.Abs(loss-refLoss) > 0.02 {
			t.Errorf("%s smooth=%v: loss %v, float %v", o.Activations, o.SmoothQuant, loss, refLoss)
		}
		for i := range ref { // within 3 % of the logits' range (about 4 here)
			if math.Abs(float64(lg[i]-ref[i])) > 0.03*span {
				t.Errorf("%s smooth=%v: logit %d %v, float %v", o.Activations, o.SmoothQuant, i, lg[i], ref[i])
			}
		}
		if o.Activations == Block32 {
			if _, err := Encoder(m, Options{}); err == nil || !strings.Contains(err.Error(), "float model") {
				t.Errorf("quantising twice: %v", err)
			}
		}
	}
	m := bert(t, 64)
	for _, c := range []struct {
		o    Options
		want string
	}{
		{Options{Activations: "int4"}, "activations"},
		{Options{Alpha: -1}, "α"},
		{Options{SmoothQuant: true}, "calibration"},
		{Options{SmoothQuant: true, EncoderCalib: []encoder.Batch{{B: 2, T: 3, IDs: []int{1}}}}, "calibration batch 0"},
	} {
		if _, err := Encoder(m, c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error with %q", c.o, err, c.want)
		}
	}
	if _, err := Encoder(bert(t, 40), Options{Activations: Block32}); err == nil || !strings.Contains(err.Error(), "multiple of 32") {
		t.Errorf("block32 on 40 inputs: %v", err)
	}
}
