package distill

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/models/encoder"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/train"
)

// TestClassTerms: the classifier objective equals a hand computation. Two
// rows, two classes, τ = 2:
//
//	row 0: teacher logits (2 ln 3, 0) → softmax(t/2) = (3/4, 1/4); student (0, 0) → (1/2, 1/2);
//	       KL = 3/4 ln(3/2) + 1/4 ln(1/2) = 0.1308120;  label 0: CE = ln 2
//	row 1: teacher (0, 0) → (1/2, 1/2); student (2 ln 3, 0) → (3/4, 1/4);
//	       KL = 1/2 ln(2/3) + 1/2 ln 2 = 1/2 ln(4/3) = 0.1438410;  label 1: softmax(s) = (9/10, 1/10), CE = ln 10
//	KL term: τ²·mean = 4·(0.1308120 + 0.1438410)/2 = 0.5493061
//	CE term: (ln 2 + ln 10)/2 = 1.4978661
//	hidden: student layer 0 (1, 2, 3, 4) against teacher layer 1 (1, 0, 3, 0): (0 + 4 + 0 + 16)/4 = 5
//	total with weights CE 0.5, KL 1, hidden 0.1: 0.7489331 + 0.5493061 + 0.5 = 1.7982392
func TestClassTerms(t *testing.T) {
	l3 := float32(2 * math.Log(3))
	sl := autograd.NewParam("s", autograd.RoleBias, tensor.FromFloat32([]float32{0, 0, l3, 0}, 2, 2))
	tl := tensor.FromFloat32([]float32{l3, 0, 0, 0}, 2, 2)
	h := func(v ...float32) *autograd.Var { return autograd.Const(tensor.FromFloat32(v, 1, 1, 4)) }
	sh := []*autograd.Var{h(1, 2, 3, 4)}
	th := []*autograd.Var{h(9, 9, 9, 9), h(1, 0, 3, 0)}
	for _, tc := range []struct {
		cfg  Config
		want float64
	}{
		{Config{CE: 0.5, KL: 1, Hidden: 0.1, Temperature: 2, Layers: []int{0}, TeacherLayers: []int{1}}, 1.7982392},
		{Config{KL: 1, Temperature: 2}, 0.5493061},
		// τ = 1: teacher row 0 (9/10, 1/10), student row 1 (9/10, 1/10).
		{Config{KL: 1, Temperature: 1}, (0.9*math.Log(0.9/0.5) + 0.1*math.Log(0.1/0.5) + 0.5*math.Log(0.5/0.9) + 0.5*math.Log(0.5/0.1)) / 2},
		{Config{CE: 1}, 1.4978661},
		{Config{Hidden: 1, Layers: []int{0}, TeacherLayers: []int{0}}, (64 + 49 + 36 + 25) / 4.0},
	} {
		got := tc.cfg.classTerms(sl, tl, []int{0, 1}, sh, th).total.Item()
		if math.Abs(got-tc.want) > 1e-6 {
			t.Errorf("%+v: loss %.7f, by hand %.7f", tc.cfg, got, tc.want)
		}
	}
	// The KL term's gradient with respect to the student logits is
	// τ²·(q − p)/(τ·rows): at row 0, 4·(1/2 − 3/4)/(2·2) = −1/4.
	sl.Grad = nil
	Config{KL: 1, Temperature: 2}.classTerms(sl, tl, nil, nil, nil).total.Backward()
	if g := sl.Grad.F32(); math.Abs(float64(g[0])+0.25) > 1e-6 || math.Abs(float64(g[1])-0.25) > 1e-6 {
		t.Errorf("gradient %v, want (−1/4, 1/4, …)", g)
	}
}

func bertClassifier(t *testing.T, layers, vocab int, labels []string, seed uint64) *encoder.Model {
	t.Helper()
	pad := 0
	c := &encoder.Config{Architectures: []string{encoder.BertForSequenceClassification}, ModelType: encoder.TypeBERT,
		HiddenSize: 32, NumHiddenLayers: layers, NumAttentionHeads: 4, IntermediateSize: 64, HiddenAct: "gelu",
		InitializerRange: 0.2, LayerNormEps: 1e-12, VocabSize: vocab, MaxPositionEmbeddings: 16, TypeVocabSize: 2,
		PositionEmbeddingType: "absolute", PadTokenID: &pad}
	c.SetLabels(labels)
	m, err := encoder.New(c, seed)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func encBatch() encoder.Batch {
	return encoder.Batch{B: 3, T: 6, IDs: []int{4, 8, 15, 16, 23, 2, 5, 9, 1, 0, 0, 0, 7, 7, 3, 12, 19, 0},
		Lengths: []int{6, 3, 5}, Labels: []int{0, 2, 1}}
}

// TestClassifier: an identical student has KL and hidden terms 0 and the
// teacher's own loss, its logits those of encoder.Model.Logits; a
// 1-layer student trained through the layer map 0→1 moves toward the
// teacher, which is untouched; mismatched models are refused naming both
// sizes.
func TestClassifier(t *testing.T) {
	labels := []string{"a", "b", "c"}
	teacher := bertClassifier(t, 2, 30, labels, 1)
	b := encBatch()
	d, err := NewClassifier(bertClassifier(t, 2, 30, labels, 1), teacher, Config{CE: 1, KL: 1, Hidden: 1, Temperature: 3})
	if err != nil {
		t.Fatal(err)
	}
	var loss float64
	var want, got []float32
	autograd.NoGrad(func() {
		loss = d.Loss(nil, b).Item()
		want = teacher.Logits(nil, &b).Value.F32()
		_, l := runEncoder(d.Student, nil, &b)
		got = l.Value.F32()
	})
	ce := teacher.Loss(nil, b).Item()
	if math.Abs(d.Last["kl"]) > 1e-6 || d.Last["hidden"] != 0 || math.Abs(loss-ce) > 1e-5 || !slices.Equal(got, want) {
		t.Fatalf("identical student: terms %v, loss %v (teacher's %v); logits %v, encoder's %v", d.Last, loss, ce, got, want)
	}
	student := bertClassifier(t, 1, 30, labels, 2)
	d, err = NewClassifier(student, teacher, Config{CE: 0.2, KL: 1, Hidden: 1, Temperature: 2, Layers: []int{0}, TeacherLayers: []int{1}})
	if err != nil {
		t.Fatal(err)
	}
	before := slices.Clone(teacher.Params()[0].Value.F32())
	autograd.NoGrad(func() { d.Loss(nil, b) })
	kl0, h0 := d.Last["kl"], d.Last["hidden"]
	loop := &train.Loop[encoder.Batch]{Model: d, Data: train.Repeat[encoder.Batch]{Batch: b},
		Hyper: train.Hyper{Steps: 40, LR: 3e-3, Beta1: 0.9, Beta2: 0.99, Eps: 1e-8}}
	if err := loop.Train(); err != nil {
		t.Fatal(err)
	}
	autograd.NoGrad(func() { d.Loss(&nn.Ctx{}, b) })
	if !(d.Last["kl"] < kl0/2) || !(d.Last["hidden"] < h0) {
		t.Errorf("KL %v → %v, hidden %v → %v", kl0, d.Last["kl"], h0, d.Last["hidden"])
	}
	if !slices.Equal(before, teacher.Params()[0].Value.F32()) {
		t.Error("the teacher changed")
	}
	base := bertClassifier(t, 1, 30, labels, 3)
	base.Head = nil
	for _, c := range []struct {
		student *encoder.Model
		cfg     Config
		want    string
	}{
		{bertClassifier(t, 1, 30, []string{"a", "b"}, 3), Config{KL: 1}, "label set (2 labels) differs from the teacher's (3 labels)"},
		{bertClassifier(t, 1, 30, []string{"a", "c", "b"}, 3), Config{KL: 1}, `labels ["a" "c" "b"] differ`},
		{bertClassifier(t, 1, 40, labels, 3), Config{KL: 1}, "vocabulary (40) differs from the teacher's (30)"},
		{base, Config{KL: 1}, "student (BertForSequenceClassification) has no classification head"},
		{bertClassifier(t, 1, 30, labels, 3), Config{Hidden: 1}, "same depth"},
		{bertClassifier(t, 1, 30, labels, 3), Config{Hidden: 1, Layers: []int{0}, TeacherLayers: []int{2}}, "teacher layer 2"},
		{bertClassifier(t, 1, 30, labels, 3), Config{}, "one positive"},
	} {
		if _, err := NewClassifier(c.student, teacher, c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error with %q", c.cfg, err, c.want)
		}
	}
}
