package distill

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/data"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/decoder/decodertest"
	"github.com/loomml/loom/models/dit"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/train"
)

func batch(vocab int) data.Batch {
	ids := decodertest.IDs(33, vocab)
	return data.Batch{IDs: ids[:32], Targets: ids[1:33], B: 2, T: 16}
}

// TestDistillTerms: a student identical to its teacher has KL and hidden
// terms 0 and the teacher's cross-entropy; the KL term of a different
// student equals Σ p log(p/q) computed in float64 from the two models'
// logits.
func TestDistillTerms(t *testing.T) {
	teacher, _ := decoder.New(decodertest.TinyConfig(nil), 1)
	same, _ := decoder.New(decodertest.TinyConfig(nil), 1)
	b := batch(teacher.Config.VocabSize)
	d, err := New(same, teacher, Config{CE: 1, KL: 1, Hidden: 1, Temperature: 2})
	if err != nil {
		t.Fatal(err)
	}
	var loss float64
	autograd.NoGrad(func() { loss = d.Loss(nil, b).Item() })
	ce := teacher.Loss(nil, b).Item()
	if math.Abs(d.Last["kl"]) > 1e-6 || d.Last["hidden"] != 0 || math.Abs(loss-ce) > 1e-5 {
		t.Fatalf("identical student: terms %v, loss %v (teacher's cross-entropy %v)", d.Last, loss, ce)
	}
	other, _ := decoder.New(decodertest.TinyConfig(nil), 2)
	d, _ = New(other, teacher, Config{KL: 1, Temperature: 2})
	autograd.NoGrad(func() { d.Loss(nil, b) })
	tl, sl := decodertest.Logits(t, teacher, b.IDs[:16]), decodertest.Logits(t, other, b.IDs[:16])
	tl2, sl2 := decodertest.Logits(t, teacher, b.IDs[16:]), decodertest.Logits(t, other, b.IDs[16:])
	tl, sl = append(tl, tl2...), append(sl, sl2...)
	V := teacher.Config.VocabSize
	want := 0.0
	for n := range len(tl) / V {
		lp, lq := logSoftmax(tl[n*V:(n+1)*V], 2), logSoftmax(sl[n*V:(n+1)*V], 2)
		for i := range V {
			want += math.Exp(lp[i]) * (lp[i] - lq[i])
		}
	}
	want /= float64(len(tl) / V)
	if math.Abs(d.Last["kl"]-want) > 1e-5*math.Max(1, want) {
		t.Errorf("KL %v, float64 reference %v", d.Last["kl"], want)
	}
}

func logSoftmax(x []float32, tau float64) []float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, float64(v)/tau)
	}
	s := 0.0
	for _, v := range x {
		s += math.Exp(float64(v)/tau - m)
	}
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)/tau - m - math.Log(s)
	}
	return out
}

// TestDistillTrains: training the student on the objective brings its
// outputs and hidden states toward the teacher's; the teacher is
// untouched.
func TestDistillTrains(t *testing.T) {
	teacher, _ := decoder.New(decodertest.TinyConfig(nil), 1)
	student, _ := decoder.New(decodertest.TinyConfig(nil), 2)
	b := batch(teacher.Config.VocabSize)
	d, err := New(student, teacher, Config{KL: 1, Hidden: 1})
	if err != nil {
		t.Fatal(err)
	}
	before := teacher.Params()[0].Value.Clone().F32()
	autograd.NoGrad(func() { d.Loss(nil, b) })
	kl0, h0 := d.Last["kl"], d.Last["hidden"]
	loop := &train.Loop[data.Batch]{Model: d, Data: train.Repeat[data.Batch]{Batch: b}, Hyper: train.Hyper{Steps: 30, LR: 3e-3, Beta1: 0.9, Beta2: 0.99, Eps: 1e-8}}
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
	wide, _ := decoder.New(decodertest.TinyConfig(func(c *decoder.Config) { c.HiddenSize = 64 }), 1)
	if _, err := New(wide, teacher, Config{Hidden: 1}); err == nil || !strings.Contains(err.Error(), "same width") {
		t.Errorf("different widths: %v", err)
	}
	small, _ := decoder.New(decodertest.TinyConfig(func(c *decoder.Config) { c.VocabSize = 40 }), 1)
	if _, err := New(small, teacher, Config{KL: 1}); err == nil || !strings.Contains(err.Error(), "vocabulary") {
		t.Errorf("different vocabularies: %v", err)
	}
}

// TestDistillDiT: a student DiT identical to its teacher has output and
// feature terms 0; a different one moves toward the teacher when trained.
func TestDistillDiT(t *testing.T) {
	cfg := dit.Config{ImageSize: 8, Channels: 1, PatchSize: 2, Hidden: 32, Depth: 2, Heads: 4, MLPRatio: 2, Classes: 2, Diffusion: dit.Schedule{Steps: 50}}
	open := func(m *dit.Model, seed uint64) {
		for i, b := range m.Blocks {
			b.Ada.Weight.Value = tensor.Normal(tensor.NewRNG(seed+uint64(i)), 0, 0.1, b.Ada.Weight.Shape()...)
		}
		m.FinalOut.Weight.Value = tensor.Normal(tensor.NewRNG(seed+9), 0, 0.1, m.FinalOut.Weight.Shape()...)
	}
	teacher, _ := dit.New(cfg, 1)
	open(teacher, 1)
	same, _ := dit.New(cfg, 1)
	open(same, 1)
	b := dit.Batch{X: tensor.RandN(tensor.NewRNG(4), 4, 1, 8, 8), Y: []int{0, 1, 0, 1}}
	d, err := NewDiT(same, teacher, DiTConfig{Output: 1, Hidden: 1})
	if err != nil {
		t.Fatal(err)
	}
	autograd.NoGrad(func() { d.Loss(&nn.Ctx{RNG: tensor.NewRNG(5)}, b) })
	if d.Last["output"] != 0 || d.Last["hidden"] != 0 {
		t.Fatalf("identical student: %v", d.Last)
	}
	student, _ := dit.New(cfg, 2)
	open(student, 20)
	d, _ = NewDiT(student, teacher, DiTConfig{Output: 1, Hidden: 1})
	autograd.NoGrad(func() { d.Loss(&nn.Ctx{RNG: tensor.NewRNG(5)}, b) })
	o0 := d.Last["output"]
	loop := &train.Loop[dit.Batch]{Model: d, Data: train.Repeat[dit.Batch]{Batch: b}, Hyper: train.Hyper{Steps: 40, LR: 3e-3, Beta1: 0.9, Beta2: 0.99, Eps: 1e-8}, RNG: tensor.NewRNG(6)}
	if err := loop.Train(); err != nil {
		t.Fatal(err)
	}
	autograd.NoGrad(func() { d.Loss(&nn.Ctx{RNG: tensor.NewRNG(5)}, b) })
	if !(d.Last["output"] < o0/2) {
		t.Errorf("output term %v → %v", o0, d.Last["output"])
	}
}
