package vtrans

import (
	"cmp"
	"fmt"
	"math"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/compress/structured"
	"github.com/loomml/loom/distill"
	"github.com/loomml/loom/models/encoder"
	"github.com/loomml/loom/nn"
)

// Encoders: VTrans on a fine-tuned BERT classifier, as the paper prunes
// BERT on GLUE. The masks are those of a decoder but for the hidden dims
// (an encoder's hidden dims are not removable under LayerNorm, see
// compress/structured): heads on the attention output projection's input,
// FFN neurons on the output dense layer's input, and each layer on both
// branches' outputs (inside the post-norm residual: Norm(x + z·branch)).
// The loss is the paper's on class logits:
//
//	CE(student, labels) + τ²·KL(softmax(teacher/τ) ‖ softmax(student/τ)) + β Σ log(1 + μ²/σ²)
//
// the teacher being the unpruned classifier (distill.Classifier, the
// objective of loom distill). Pruning a layer removes its sublayers (with
// their residuals and norms) where the mask had only scaled its branches:
// exact for heads and neurons, the paper's approximation for layers.

// encoderPrefix is the checkpoint prefix of a BERT's layers.
func encoderPrefix(m *encoder.Model) string {
	if m.Config.Architecture() == encoder.BertModel {
		return ""
	}
	return "bert."
}

// NewEncoder makes masks for a BERT encoder's heads, neurons and layers
// and gates its layers with them (until Detach).
func NewEncoder(m *encoder.Model) (*VIB, error) {
	s, err := structured.ShapeOf(m)
	if err != nil {
		return nil, err
	}
	v := &VIB{Encoder: m, shape: s}
	v.makeGates()
	for i, b := range m.Layers {
		l := b.(*encoder.Layer) // ShapeOf checked
		out := func() *autograd.Var {
			return autograd.Contiguous(autograd.Expand(autograd.Slice(v.Layers.z, 0, i, i+1), s.Hidden))
		}
		if l.Attn != nil {
			a, ok := l.Attn.(*nn.Attention)
			if t, isTopK := l.Attn.(*nn.TopKAttention); isTopK {
				a, ok = t.Inner, true
			}
			if !ok {
				v.Detach()
				return nil, fmt.Errorf("vtrans: encoder layer %d's attention is a %T", i, l.Attn)
			}
			if a.Heads != s.Heads {
				v.Detach()
				return nil, fmt.Errorf("vtrans: encoder layer %d has %d of %d heads: prune an unpruned model", i, a.Heads, s.Heads)
			}
			v.gateAttn(a, i, out)
		}
		if l.FFN != nil {
			v.gateMLP(l.FFN.(*nn.MLP), i, out) // ShapeOf checked
		}
	}
	v.Sample(nil, nil)
	return v, nil
}

// CloneEncoder returns a copy of m with its own parameter values (its
// removed sublayers and top-k attention recorded in the copy's config).
func CloneEncoder(m *encoder.Model) (*encoder.Model, error) {
	c := *m.Config
	tmp := &encoder.Model{Config: &c, Layers: m.Layers}
	if err := tmp.RecordPruning(); err != nil {
		return nil, err
	}
	out, err := encoder.New(&c, 0)
	if err != nil {
		return nil, err
	}
	if err := copyValues(out.Params(), m.Params()); err != nil {
		return nil, err
	}
	return out, nil
}

// RunEncoder prunes a copy of the BERT classifier m with VTrans on the
// labelled batches to o.Ratio and returns the pruned encoder in
// Result.Encoder (m is unchanged).
func RunEncoder(m *encoder.Model, batches []encoder.Batch, o Options) (*Result, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	t, err := TrainEncoder(m, batches, o)
	if err != nil {
		return nil, err
	}
	return t.Prune(o.Ratio)
}

// TrainEncoder trains VIB masks (and, but for Faster, the weights) on a
// copy of the classifier m with the loss of this file's comment, then
// folds the masks' μ into the copy's weights (o.Ratio is not used).
func TrainEncoder(m *encoder.Model, batches []encoder.Batch, o Options) (*Trained, error) {
	if o.Ratio == 0 {
		o.Ratio = 0.5 // checked by Prune
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if len(batches) == 0 {
		return nil, fmt.Errorf("vtrans: no training batches")
	}
	student, err := CloneEncoder(m)
	if err != nil {
		return nil, err
	}
	ce, kl := o.CE, o.KL
	if ce == 0 && kl == 0 {
		ce, kl = 1, 1
	}
	d, err := distill.NewClassifier(student, m, distill.Config{CE: ce, KL: kl, Temperature: o.Temperature})
	if err != nil {
		return nil, fmt.Errorf("vtrans: %w", err)
	}
	for i, b := range batches {
		if len(b.Labels) != b.B {
			return nil, fmt.Errorf("vtrans: batch %d has %d rows and %d labels", i, b.B, len(b.Labels))
		}
	}
	weights := student.Params()
	v, err := NewEncoder(student)
	if err != nil {
		return nil, err
	}
	n := len(batches)
	if cmp.Or(o.Variant, Full) == Fast {
		n = max(1, int(math.Ceil(FastFraction*float64(len(batches)))))
	}
	steps, secs := o.optimize(v, weights, n, func(i int) *autograd.Var { return d.Loss(nil, batches[i]) })
	v.Detach()
	if err := v.Fold(); err != nil {
		return nil, err
	}
	return &Trained{Encoder: student, VIB: v, Steps: steps, TrainSeconds: secs}, nil
}
