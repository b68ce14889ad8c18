package repro

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/models/encoder"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/train"
)

// vtcTiny is a small random BERT classifier and labelled byte rows.
func vtcTiny(t *testing.T, seed uint64, n int) (*encoder.Model, *encoder.TextExamples) {
	t.Helper()
	pad := 0
	c := &encoder.Config{Architectures: []string{encoder.BertForSequenceClassification}, ModelType: encoder.TypeBERT, HiddenSize: 16,
		NumHiddenLayers: 2, NumAttentionHeads: 2, IntermediateSize: 24, HiddenAct: "gelu", InitializerRange: 0.5, LayerNormEps: 1e-12,
		VocabSize: 40, MaxPositionEmbeddings: 12, TypeVocabSize: 2, PositionEmbeddingType: "absolute", PadTokenID: &pad}
	c.SetLabels([]string{"a", "b", "c"})
	m, err := encoder.New(c, seed)
	if err != nil {
		t.Fatal(err)
	}
	rng := tensor.NewRNG(seed + 1)
	ex := &encoder.TextExamples{Pad: pad}
	for range n {
		row := make([]int, 3+rng.Intn(8))
		for j := range row {
			row[j] = 1 + rng.Intn(39)
		}
		ex.IDs = append(ex.IDs, row)
		ex.Labels = append(ex.Labels, rng.Intn(3))
	}
	return m, ex
}

// TestVTCEval: accuracy equals train.Accuracy and the cross-entropy equals
// the mean of the per-example losses computed one example at a time by
// the model's own Loss, for several batch sizes.
func TestVTCEval(t *testing.T) {
	for _, tc := range []struct {
		seed   uint64
		n, bs  int
		wantOK bool
	}{{1, 13, 4, true}, {2, 7, 64, true}, {3, 10, 1, true}} {
		m, ex := vtcTiny(t, tc.seed, tc.n)
		acc, ce := vtcEval(m, ex, tc.bs)
		if want := train.Accuracy[encoder.Batch](encClassifier{m}, ex, 5); acc != want {
			t.Errorf("seed %d: accuracy %v, want %v", tc.seed, acc, want)
		}
		sum := 0.0
		autograd.NoGrad(func() {
			for i := range tc.n {
				sum += float64(m.Loss(nil, ex.Batch([]int{i})).Value.Float32s()[0])
			}
		})
		if want := sum / float64(tc.n); math.Abs(ce-want) > 1e-5*max(1, want) {
			t.Errorf("seed %d, batch %d: cross-entropy %v, want %v", tc.seed, tc.bs, ce, want)
		}
	}
}

// TestVTCBatches: every example lands in exactly one batch, the seed
// decides the order.
func TestVTCBatches(t *testing.T) {
	_, ex := vtcTiny(t, 4, 11)
	for _, size := range []int{1, 4, 11, 32} {
		bs := vtcBatches(ex, size, 9)
		if want := (11 + size - 1) / size; len(bs) != want {
			t.Fatalf("size %d: %d batches, want %d", size, len(bs), want)
		}
		total := 0
		for _, b := range bs {
			total += b.B
		}
		if total != 11 {
			t.Errorf("size %d: %d examples in the batches, want 11", size, total)
		}
	}
	a, b := vtcBatches(ex, 4, 1), vtcBatches(ex, 4, 2)
	if slices.Equal(a[0].IDs, b[0].IDs) && slices.Equal(a[1].IDs, b[1].IDs) {
		t.Error("seeds 1 and 2 give the same batches")
	}
}

// TestVTCShares: the layer share by hand for the tiny classifier.
func TestVTCShares(t *testing.T) {
	m, _ := vtcTiny(t, 5, 1)
	total, share, err := vtcShares(m)
	if err != nil {
		t.Fatal(err)
	}
	if want := autograd.NumParams(m.Params()); total != want {
		t.Errorf("total %d, want %d", total, want)
	}
	// Per layer: Q, K, V, O (16×16 + 16), LayerNorm ×2 (2·16 each), FFN in
	// (16×24 + 24) and out (24×16 + 16).
	layer := 4*(16*16+16) + 2*2*16 + (16*24 + 24) + (24*16 + 16)
	if want := float64(2*layer) / float64(total); math.Abs(share-want) > 1e-12 {
		t.Errorf("layer share %v, want %v", share, want)
	}
}

// TestVTCVerdict: the rule on hand-made means.
func TestVTCVerdict(t *testing.T) {
	rs := []float64{0.5, 0.7, 0.9}
	mk := func(v ...float64) map[float64]float64 { return map[float64]float64{0.5: v[0], 0.7: v[1], 0.9: v[2]} }
	same := mk(0.5, 0.5, 0.5)
	for _, tc := range []struct {
		name                       string
		mag, tay, vt, fast, faster map[float64]float64
		vtCE                       map[float64]float64
		secs                       [3]float64 // vtrans, fast, faster
		wins                       int
		speed                      bool
		verdict                    string
	}{
		{"all ahead, fast variants close", mk(.8, .7, .5), mk(.85, .6, .55), mk(.9, .8, .7), mk(.88, .76, .65), mk(.9, .8, .7), same, [3]float64{100, 10, 40}, 3, true, "reproduced"},
		{"all ahead, Faster too slow", mk(.8, .7, .5), mk(.85, .6, .55), mk(.9, .8, .7), mk(.88, .76, .65), mk(.9, .8, .7), same, [3]float64{100, 10, 60}, 3, false, "partial"},
		{"all ahead, Fast closes too little", mk(.8, .7, .5), mk(.85, .6, .55), mk(.9, .8, .7), mk(.86, .72, .56), mk(.9, .8, .7), same, [3]float64{100, 10, 40}, 3, false, "partial"},
		{"one budget", mk(.8, .7, .5), mk(.85, .6, .55), mk(.9, .6, .5), mk(.9, .6, .5), mk(.9, .6, .5), same, [3]float64{100, 10, 40}, 1, true, "partial"},
		{"none", mk(.8, .7, .5), mk(.85, .6, .55), mk(.8, .6, .5), mk(.8, .6, .5), mk(.8, .6, .5), same, [3]float64{100, 10, 40}, 0, false, "not reproduced"},
		{"ties broken by CE", mk(.8, .7, .5), mk(.8, .7, .5), mk(.8, .7, .5), mk(.8, .7, .5), mk(.8, .7, .5), mk(.4, .4, .6), [3]float64{100, 10, 40}, 2, false, "partial"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			acc := map[string]map[float64]float64{"magnitude": tc.mag, "taylor": tc.tay, "vtrans": tc.vt, "vtrans-fast": tc.fast, "vtrans-faster": tc.faster}
			ce := map[string]map[float64]float64{"magnitude": same, "taylor": same, "vtrans": tc.vtCE, "vtrans-fast": same, "vtrans-faster": same}
			secs := map[string]float64{"vtrans": tc.secs[0], "vtrans-fast": tc.secs[1], "vtrans-faster": tc.secs[2]}
			o := vtcVerdict(acc, ce, secs, rs)
			if o.Wins != tc.wins || o.SpeedOK != tc.speed || o.Verdict != tc.verdict {
				t.Errorf("wins %d, speed %v, verdict %q; want %d, %v, %q (%v; %v)", o.Wins, o.SpeedOK, o.Verdict, tc.wins, tc.speed, tc.verdict, o.Where, o.Speed)
			}
			if len(o.Where) != len(rs)-tc.wins {
				t.Errorf("%d failing budgets named, want %d: %v", len(o.Where), len(rs)-tc.wins, o.Where)
			}
			if o.Wins < len(rs) && !strings.Contains(strings.Join(o.Where, ";"), "VTrans") {
				t.Errorf("failures not described: %v", o.Where)
			}
		})
	}
}
