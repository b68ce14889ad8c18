package structured

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/models/encoder"
	"github.com/loomml/loom/nn"
)

// tinyBERT is a BERT classifier of 3 layers, 4 heads of 4, FFN 24.
func tinyBERT(t *testing.T, seed uint64) *encoder.Model {
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

func encBatch() *encoder.Batch {
	return &encoder.Batch{B: 3, T: 7, IDs: []int{1, 5, 9, 13, 17, 21, 2, 1, 7, 7, 8, 3, 0, 0, 1, 29, 28, 2, 0, 0, 0}, Lengths: []int{7, 5, 4}, Labels: []int{0, 2, 1}}
}

// encoderParams counts a BERT's parameters by hand: per layer, q/k/v and
// the output projection over h heads of hd with biases and a LayerNorm,
// and an FFN of F neurons with biases and a LayerNorm.
func encoderParams(outside, D, hd int, heads, widths []int) int {
	n := outside
	for i := range heads {
		if heads[i] > 0 {
			n += 3*(heads[i]*hd*D+heads[i]*hd) + D*heads[i]*hd + D + 2*D
		}
		if widths[i] > 0 {
			n += 2*widths[i]*D + widths[i] + D + 2*D
		}
	}
	return n
}

// TestEncoderRemoveEqualsMasking: on a BERT classifier, the pruned model
// has the parameters counted by hand and by Params, gives the logits of
// the masked one (heads and neurons zeroed, sublayers skipped), and saves
// and loads bit-exactly.
func TestEncoderRemoveEqualsMasking(t *testing.T) {
	for _, tc := range []struct {
		name  string
		kinds string
		p     float64
	}{
		{"heads", "head", 0.4},
		{"neurons", "neuron", 0.5},
		{"layers", "layer", 0.4},
		{"all", "head neuron layer", 0.3},
		{"every head of a layer", "head", 0.9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for seed := uint64(1); seed <= 3; seed++ {
				m := tinyBERT(t, seed)
				full := NumParams(m)
				outside := full - 3*encoderParams(0, 16, 4, []int{4}, []int{24})
				k := randomMask(t, m, tc.kinds, tc.p, seed+20)
				k.Hidden = ones(16)
				pruned, err := RemoveEncoder(m, k)
				if err != nil {
					t.Fatal(err)
				}
				heads, widths := make([]int, 3), make([]int, 3)
				for i := range 3 {
					if k.attn(i) {
						heads[i] = count(k.Heads[i])
					}
					if k.ffn(i) {
						widths[i] = count(k.Neurons[i])
					}
				}
				want, err := Params(m, k)
				if err != nil {
					t.Fatal(err)
				}
				byHand := encoderParams(outside, 16, 4, heads, widths)
				if n := NumParams(pruned); n != want || n != byHand || n >= full {
					t.Fatalf("pruned model has %d parameters, Params says %d, by hand %d, the model %d", n, want, byHand, full)
				}
				if err := Apply(m, k); err != nil {
					t.Fatal(err)
				}
				b := encBatch()
				masked, got := m.Logits(nil, b).Value.Float32s(), pruned.Logits(nil, b).Value.Float32s()
				if d := relDiff(masked, got); d > 2e-5 {
					t.Fatalf("seed %d: pruned logits differ from masked by %g (relative)", seed, d)
				}
				dir := filepath.Join(t.TempDir(), "pruned")
				if err := encoder.Save(pruned, dir); err != nil {
					t.Fatal(err)
				}
				back, err := encoder.Load(dir)
				if err != nil {
					t.Fatal(err)
				}
				if NumParams(back) != NumParams(pruned) || !slices.Equal(back.Logits(nil, b).Value.Float32s(), got) {
					t.Fatalf("seed %d: the loaded model differs from the saved one", seed)
				}
			}
		})
	}
}

// TestEncoderTopKKept: a layer's top-k attention survives head pruning.
func TestEncoderTopKKept(t *testing.T) {
	m := tinyBERT(t, 4)
	l := m.Layers[1].(*encoder.Layer)
	tk, err := nn.NewTopK(l.Attn.(*nn.Attention), 2)
	if err != nil {
		t.Fatal(err)
	}
	l.Attn = tk
	k := randomMask(t, m, "head", 0.3, 3)
	k.Heads[1][3] = false
	pruned, err := RemoveEncoder(m, k)
	if err != nil {
		t.Fatal(err)
	}
	if got := pruned.Config.Loom.AttentionTopK; !slices.Equal(got, []int{0, 2, 0}) {
		t.Fatalf("pruned attention_top_k %v, want [0 2 0]", got)
	}
	if err := Apply(m, k); err != nil {
		t.Fatal(err)
	}
	if d := relDiff(m.Logits(nil, encBatch()).Value.Float32s(), pruned.Logits(nil, encBatch()).Value.Float32s()); d > 2e-5 {
		t.Fatalf("pruned logits differ from masked by %g", d)
	}
}

// TestEncoderScoresAndSelect: Taylor, magnitude and activation scores
// cover an encoder's heads and neurons; Select meets the budget; hidden
// dims are refused by name.
func TestEncoderScoresAndSelect(t *testing.T) {
	m := tinyBERT(t, 5)
	sc, err := NewScores(m)
	if err != nil {
		t.Fatal(err)
	}
	m.Loss(nil, *encBatch()).Backward()
	if err := sc.AddTaylor(m); err != nil {
		t.Fatal(err)
	}
	// Head 2 of layer 0 by hand: its q, k, v rows (with biases) and its
	// output columns.
	ps, _ := nn.ParamMap(m.Params())
	want := 0.0
	for _, n := range []string{"query", "key", "value"} {
		for _, s := range []string{".weight", ".bias"} {
			p := ps["bert.encoder.layer.0.attention.self."+n+s]
			w, g := p.Value.Float32s(), p.Grad.Float32s()
			per := len(w) / 16
			for i := 2 * 4 * per; i < 3*4*per; i++ {
				want += abs(float64(w[i]) * float64(g[i]))
			}
		}
	}
	o := ps["bert.encoder.layer.0.attention.output.dense.weight"]
	w, g := o.Value.Float32s(), o.Grad.Float32s()
	for r := range 16 {
		for c := 8; c < 12; c++ {
			want += abs(float64(w[r*16+c]) * float64(g[r*16+c]))
		}
	}
	if got := sc.Heads[0][2]; abs(got-want) > 1e-9*max(1, want) {
		t.Fatalf("Taylor score of head 0.2 is %g, by hand %g", got, want)
	}
	autograd.ZeroGrads(m.Params())
	act, _ := NewScores(m)
	if err := act.AddActivation(m, func() { m.Logits(nil, encBatch()) }); err != nil {
		t.Fatal(err)
	}
	if err := act.AddMagnitude(m); err != nil {
		t.Fatal(err)
	}
	for l := range 3 {
		for h, v := range act.Heads[l] {
			if !(v > 0) {
				t.Fatalf("activation+magnitude score of head %d.%d is %g", l, h, v)
			}
		}
	}
	if _, err := Candidates(m, sc, Kinds, true); err == nil || !strings.Contains(err.Error(), "hidden") {
		t.Fatalf("hidden candidates on an encoder: error %v, want one naming hidden dims", err)
	}
	cands, err := Candidates(m, sc, []string{KindHead, KindNeuron, KindLayer}, true)
	if err != nil {
		t.Fatal(err)
	}
	k, got, err := Select(m, cands, 0.3)
	if err != nil || got < 0.3 {
		t.Fatalf("Select: removed %g, error %v", got, err)
	}
	k.Hidden[0] = false
	if _, err := RemoveEncoder(m, k); err == nil || !strings.Contains(err.Error(), "hidden") {
		t.Fatalf("removing an encoder's hidden dim: error %v", err)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// TestEncoderIncompatible: an AST (pre-norm, other names) and a BERT
// whose layers are wrapped (deep prompts) are refused by name.
func TestEncoderIncompatible(t *testing.T) {
	c := &encoder.Config{Architectures: []string{encoder.ASTModel}, ModelType: encoder.TypeAST, HiddenSize: 16,
		NumHiddenLayers: 2, NumAttentionHeads: 2, IntermediateSize: 32, HiddenAct: "gelu", InitializerRange: 0.02,
		LayerNormEps: 1e-12, PatchSize: 16, FrequencyStride: 10, TimeStride: 10, MaxLength: 100, NumMelBins: 128}
	ast, err := encoder.New(c, 1)
	if err != nil {
		t.Fatal(err)
	}
	wrapped := tinyBERT(t, 1)
	wrapped.Layers[1] = wrapper{wrapped.Layers[1]}
	for _, tc := range []struct {
		name string
		m    Model
		want string
	}{
		{"ast", ast, "model_type \"audio-spectrogram-transformer\""},
		{"wrapped", wrapped, "encoder layer 1 is a structured.wrapper"},
	} {
		if _, err := Full(tc.m); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one naming %q", tc.name, err, tc.want)
		}
	}
}

type wrapper struct{ encoder.Block }
