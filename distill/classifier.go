package distill

import (
	"fmt"
	"slices"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/models/encoder"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// Classifier is a student encoder classifier (a BERT or AST sequence
// classifier) and its teacher as a train.Model[encoder.Batch]: the
// objective is Config's, on class logits,
//
//	CE·ce(s, labels) + KL·τ²·mean_rows KL(softmax(t/τ) ‖ softmax(s/τ)) + Hidden·mean_l MSE(h_s^l, h_t^(map l))
//
// (Hinton et al., arXiv 1503.02531: soft targets at temperature τ weighted
// τ² so their gradients keep their scale; TinyBERT, arXiv 1909.10351:
// hidden states through a student→teacher layer map), h^l the output of
// encoder layer l at every position, padding included. The student's
// parameters train; the teacher runs without gradients.
type Classifier struct {
	Student, Teacher *encoder.Model
	Config
	Trainable []*autograd.Var // nil: all the student's parameters
	// Last holds the terms of the last Loss (unweighted), for logs.
	Last map[string]float64
}

// NewClassifier checks that student and teacher can be compared as cfg
// asks: both single-label classifiers of the same kind (BERT or AST) with
// the same labels in the same order, BERTs with the same vocabulary, and
// for hidden-state matching the same width and the layers present.
func NewClassifier(student, teacher *encoder.Model, cfg Config) (*Classifier, error) {
	s, t := student.Config, teacher.Config
	for _, m := range []struct {
		who string
		m   *encoder.Model
	}{{"student", student}, {"teacher", teacher}} {
		if _, ok := m.m.Head.(*encoder.Classifier); !ok || m.m.Config.NumLabels() == 0 {
			return nil, fmt.Errorf("distill: the %s (%s) has no classification head", m.who, m.m.Config.Architecture())
		}
		if m.m.Config.Regression() {
			return nil, fmt.Errorf("distill: the %s has a regression head; class distillation needs classes", m.who)
		}
	}
	if s.ModelType != t.ModelType {
		return nil, fmt.Errorf("distill: the student is a %s, the teacher a %s: they read different inputs", s.ModelType, t.ModelType)
	}
	if s.NumLabels() != t.NumLabels() {
		return nil, fmt.Errorf("distill: the student's label set (%d labels) differs from the teacher's (%d labels)", s.NumLabels(), t.NumLabels())
	}
	if sl, tl := s.Labels(), t.Labels(); !slices.Equal(sl, tl) {
		return nil, fmt.Errorf("distill: the student's labels %q differ from the teacher's %q (same %d labels, same order wanted)", sl, tl, len(sl))
	}
	if s.ModelType == encoder.TypeBERT && s.VocabSize != t.VocabSize {
		return nil, fmt.Errorf("distill: the student's vocabulary (%d) differs from the teacher's (%d)", s.VocabSize, t.VocabSize)
	}
	if err := cfg.check(len(student.Layers), len(teacher.Layers), s.HiddenSize, t.HiddenSize); err != nil {
		return nil, err
	}
	return &Classifier{Student: student, Teacher: teacher, Config: cfg}, nil
}

// Params returns the student's parameters that train.
func (d *Classifier) Params() []*autograd.Var {
	if d.Trainable != nil {
		return d.Trainable
	}
	return d.Student.Params()
}

// Loss is the weighted objective on batch b (the student in training mode
// with ctx). With a CE weight, b.Labels must hold one class per row.
func (d *Classifier) Loss(ctx *nn.Ctx, b encoder.Batch) *autograd.Var {
	if d.CE > 0 && len(b.Labels) != b.B {
		panic(fmt.Sprintf("distill: a batch of %d rows with %d labels", b.B, len(b.Labels)))
	}
	var th []*autograd.Var
	var tl *autograd.Var
	autograd.NoGrad(func() { th, tl = runEncoder(d.Teacher, nil, &b) })
	sh, sl := runEncoder(d.Student, ctx, &b)
	t := d.classTerms(sl, tl.Value, b.Labels, sh, th)
	d.Last = t.last
	return t.total
}

// classTerms are the weighted terms on student logits sl [B, C] against
// teacher logits tl [B, C], labels, and the layers' hidden states.
func (cfg Config) classTerms(sl *autograd.Var, tl *tensor.Tensor, labels []int, sh, th []*autograd.Var) terms {
	t := terms{last: map[string]float64{}}
	if cfg.CE > 0 {
		t.add("ce", cfg.CE, autograd.CrossEntropy(sl, labels, encoder.IgnoreIndex, 0))
	}
	if cfg.KL > 0 {
		tau := cfg.tau()
		t.add("kl", cfg.KL*tau*tau, softKL(tl, sl, tau))
	}
	if cfg.Hidden > 0 {
		t.add("hidden", cfg.Hidden, hiddenMatch(sh, th, cfg.Layers, cfg.TeacherLayers))
	}
	return t
}

// runEncoder returns the output of each encoder layer and the class
// logits of b (as encoder.Model.Logits computes them).
func runEncoder(m *encoder.Model, ctx *nn.Ctx, b *encoder.Batch) ([]*autograd.Var, *autograd.Var) {
	x := b.Embeds
	if x == nil {
		x = m.Embed.Forward(ctx, b)
	}
	lc := ctx
	if b.Lengths != nil { // the padding as the attention's key lengths
		c := nn.Ctx{}
		if ctx != nil {
			c = *ctx
		}
		c.Mask.KeyLengths = b.Lengths
		lc = &c
	}
	hs := make([]*autograd.Var, len(m.Layers))
	for i, l := range m.Layers {
		x = l.Forward(lc, x)
		hs[i] = x
	}
	if m.Norm != nil {
		x = m.Norm.Forward(x)
	}
	return hs, m.Head.Forward(ctx, x, m.Pool(x))
}
