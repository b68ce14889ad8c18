// Package distill trains a student to match a teacher: knowledge
// distillation (Hinton et al., arXiv 1503.02531) of the output
// distribution, softened by a temperature τ and weighted τ² as there, plus
// matching of hidden states at chosen layers (TinyBERT's hidden-state
// loss, arXiv 1909.10351; Dense2MoE's group feature loss when the layers
// are the ends of groups of blocks), plus the data's own loss. Decoder
// distils a decoder (next-token logits); Classifier an encoder classifier
// (class logits and labels, classifier.go); DiT a diffusion transformer
// (dit.go: the teacher's noise prediction and block features on shared
// draws). It is the one distillation loom has: `loom distill`, `loom
// moefy`'s Dense2MoE and the reproductions use it, and a compression
// method can.
package distill

import (
	"fmt"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/data"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// Config weighs the terms of the objective
//
//	CE·ce(student, targets) + KL·τ²·KL(softmax(t/τ) ‖ softmax(s/τ)) + Hidden·mean_l MSE(h_s^l, h_t^l)
//
// with h^l the residual stream after layer l, for l in Layers (nil: every
// layer), averaged over those layers.
type Config struct {
	CE, KL, Hidden float64
	Temperature    float64 // τ (0: 1)
	Layers         []int
	// TeacherLayers, when set, maps student layer Layers[i] to teacher
	// layer TeacherLayers[i] (a layer map for a shallower student, as
	// TinyBERT's uniform mapping); nil: the same index in both.
	TeacherLayers []int
}

// check checks cfg's weights and, for hidden-state matching, the widths
// and the layer map against a student of sLayers layers of width sWidth
// and a teacher of tLayers of width tWidth.
func (cfg Config) check(sLayers, tLayers, sWidth, tWidth int) error {
	if cfg.Hidden > 0 {
		if sWidth != tWidth {
			return fmt.Errorf("distill: hidden-state matching needs the same width (student %d, teacher %d)", sWidth, tWidth)
		}
		for _, l := range cfg.Layers {
			if l < 0 || l >= sLayers || cfg.TeacherLayers == nil && l >= tLayers {
				return fmt.Errorf("distill: layer %d is not in both models (%d and %d layers)", l, sLayers, tLayers)
			}
		}
		if cfg.TeacherLayers != nil {
			if len(cfg.TeacherLayers) != len(cfg.Layers) {
				return fmt.Errorf("distill: a layer map of %d student layers to %d teacher layers, want one teacher layer per student layer", len(cfg.Layers), len(cfg.TeacherLayers))
			}
			for _, l := range cfg.TeacherLayers {
				if l < 0 || l >= tLayers {
					return fmt.Errorf("distill: teacher layer %d is not in the teacher (%d layers)", l, tLayers)
				}
			}
		}
		if cfg.Layers == nil && sLayers != tLayers {
			return fmt.Errorf("distill: matching every layer needs the same depth (student %d, teacher %d); name the layers", sLayers, tLayers)
		}
	}
	if cfg.CE < 0 || cfg.KL < 0 || cfg.Hidden < 0 || cfg.CE+cfg.KL+cfg.Hidden == 0 || cfg.Temperature < 0 {
		return fmt.Errorf("distill: weights CE %v, KL %v, hidden %v and temperature %v: want non-negative weights, one positive", cfg.CE, cfg.KL, cfg.Hidden, cfg.Temperature)
	}
	return nil
}

// Decoder is a student decoder and its teacher as a train.Model: its
// parameters are the student's; the teacher is run without gradients.
type Decoder struct {
	Student, Teacher *decoder.Model
	Config
	// Trainable, when set, are the only student parameters trained (the
	// rest frozen: Dense2MoE's second stage trains the routed experts
	// and the router around a frozen shared expert); nil: all.
	Trainable []*autograd.Var
	// Last holds the terms of the last Loss (unweighted), for logs.
	Last map[string]float64
}

// New checks that student and teacher can be compared as cfg asks (the
// same vocabulary; for hidden-state matching, the same width and the
// layers present in both).
func New(student, teacher *decoder.Model, cfg Config) (*Decoder, error) {
	s, t := student.Config, teacher.Config
	if s.VocabSize != t.VocabSize {
		return nil, fmt.Errorf("distill: the student's vocabulary (%d) differs from the teacher's (%d)", s.VocabSize, t.VocabSize)
	}
	if err := cfg.check(len(student.Layers), len(teacher.Layers), s.HiddenSize, t.HiddenSize); err != nil {
		return nil, err
	}
	return &Decoder{Student: student, Teacher: teacher, Config: cfg}, nil
}

// Params returns the student's parameters that train (Trainable, or all).
func (d *Decoder) Params() []*autograd.Var {
	if d.Trainable != nil {
		return d.Trainable
	}
	return d.Student.Params()
}

// run returns the residual stream after each layer and the logits.
func run(m *decoder.Model, ctx *nn.Ctx, b data.Batch) ([]*autograd.Var, *autograd.Var) {
	x := m.Embeddings(ctx, b.IDs, b.B, b.T)
	hs := make([]*autograd.Var, len(m.Layers))
	for i, l := range m.Layers {
		x = l.Forward(ctx, x)
		hs[i] = x
	}
	return hs, m.Logits(m.Norm.Forward(x))
}

// Loss is the weighted objective on batch b (the student in training mode
// with ctx, its auxiliary losses recorded there).
func (d *Decoder) Loss(ctx *nn.Ctx, b data.Batch) *autograd.Var {
	var th []*autograd.Var
	var tl *autograd.Var
	autograd.NoGrad(func() { th, tl = run(d.Teacher, nil, b) })
	sh, sl := run(d.Student, ctx, b)
	V := d.Student.Config.VocabSize
	N := b.B * b.T
	sl2 := autograd.Reshape(sl, N, V)
	t := terms{last: map[string]float64{}}
	if d.CE > 0 {
		t.add("ce", d.CE, autograd.CrossEntropy(sl2, b.Targets, autograd.IgnoreIndex, 0))
	}
	if d.KL > 0 {
		tau := d.tau()
		t.add("kl", d.KL*tau*tau, softKL(tl.Value.Reshape(N, V), sl2, tau))
	}
	if d.Hidden > 0 {
		t.add("hidden", d.Hidden, hiddenMatch(sh, th, d.Layers, d.TeacherLayers))
	}
	d.Last = t.last
	return t.total
}

// tau returns the temperature (0: 1).
func (cfg Config) tau() float64 {
	if cfg.Temperature == 0 {
		return 1
	}
	return cfg.Temperature
}

// softKL is KL(softmax(t/τ) ‖ softmax(s/τ)) = Σ p (log p − log q) for
// teacher logits t and student logits s, both [N, V], averaged over the N
// rows (Hinton et al.'s soft-target term before its τ² weight).
func softKL(t *tensor.Tensor, s *autograd.Var, tau float64) *autograd.Var {
	lp := autograd.LogSoftmax(autograd.MulScalar(autograd.Const(t), 1/tau), 1)
	lq := autograd.LogSoftmax(autograd.MulScalar(s, 1/tau), 1)
	p := autograd.Exp(lp)
	return autograd.MulScalar(autograd.Sum(autograd.Mul(p, autograd.Sub(lp, lq)), false), 1/float64(t.Dim(0)))
}

// terms sums weighted loss terms, keeping each one's unweighted value for
// logs.
type terms struct {
	total *autograd.Var
	last  map[string]float64
}

// add adds w·v to the total (nothing for w = 0) and records v as name.
func (t *terms) add(name string, w float64, v *autograd.Var) {
	if w == 0 {
		return
	}
	t.last[name] = v.Item()
	v = autograd.MulScalar(v, w)
	if t.total == nil {
		t.total = v
	} else {
		t.total = autograd.Add(t.total, v)
	}
}

// hiddenMatch is the mean over layers (nil: all of them) of the squared
// distance between the student's and the teacher's hidden states there
// (the teacher's at tlayers[i] for the student's layers[i] when tlayers is
// set).
func hiddenMatch(student, teacher []*autograd.Var, layers, tlayers []int) *autograd.Var {
	if layers == nil {
		for i := range student {
			layers = append(layers, i)
		}
	}
	var h *autograd.Var
	for i, l := range layers {
		tl := l
		if tlayers != nil {
			tl = tlayers[i]
		}
		v := autograd.MSELoss(student[l], autograd.Const(teacher[tl].Value))
		if h == nil {
			h = v
		} else {
			h = autograd.Add(h, v)
		}
	}
	return autograd.MulScalar(h, 1/float64(len(layers)))
}
