package vtrans

import (
	"cmp"
	"fmt"
	"math"
	"time"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/compress/structured"
	"github.com/loomml/loom/data"
	"github.com/loomml/loom/distill"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/encoder"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/optim"
	"github.com/loomml/loom/tensor"
)

// Candidates scores every structure by log α = log(μ²/σ²) (lowest: pruned
// first; α is comparable across kinds, so no normalisation).
func (v *VIB) Candidates() []structured.Candidate {
	var out []structured.Candidate
	if v.Hidden != nil {
		for j, a := range v.Hidden.LogAlpha() {
			out = append(out, structured.Candidate{Kind: structured.KindHidden, Layer: -1, Index: j, Score: a})
		}
	}
	for l, a := range v.Layers.LogAlpha() {
		out = append(out, structured.Candidate{Kind: structured.KindLayer, Layer: l, Score: a})
	}
	for l := range v.Heads {
		if v.shape.HasAttn[l] {
			for h, a := range v.Heads[l].LogAlpha() {
				out = append(out, structured.Candidate{Kind: structured.KindHead, Layer: l, Index: h, Score: a})
			}
		}
		if v.shape.HasFFN[l] {
			for j, a := range v.Neurons[l].LogAlpha() {
				out = append(out, structured.Candidate{Kind: structured.KindNeuron, Layer: l, Index: j, Score: a})
			}
		}
	}
	return out
}

// Fold multiplies the deterministic masks μ into the weights of v's
// (detached) model, so the model computes what the masked one computes
// with z = μ: each head's o_proj columns by its μ, each neuron's down_proj
// column by its μ, each layer's o_proj and down_proj (and biases) by its
// μ, and each hidden dim's embedding column and o_proj / down_proj rows
// (and biases) by its μ.
func (v *VIB) Fold() error {
	if v.restore != nil {
		return fmt.Errorf("vtrans: Fold needs the masks detached")
	}
	var model structured.Model = v.Model
	if v.Encoder != nil {
		model = v.Encoder
	}
	ps, err := nn.ParamMap(model.Params())
	if err != nil {
		return err
	}
	hid := make([]float32, v.shape.Hidden)
	for i := range hid {
		hid[i] = 1
	}
	if v.Hidden != nil {
		hid = v.Hidden.Mu.Value.Float32s()
	}
	lay := v.Layers.Mu.Value.Float32s()
	scale := func(name string, row func(r int) float32, col func(c int) float32) {
		p, ok := ps[name]
		if !ok {
			return
		}
		w := p.Value.Float32s()
		shape := p.Shape()
		cols := 1
		if len(shape) == 2 {
			cols = shape[1]
		}
		for i := range w {
			f := row(i / cols)
			if col != nil {
				f *= col(i % cols)
			}
			w[i] *= f
		}
		p.Value = tensor.FromFloat32(w, shape...)
	}
	if v.Hidden != nil {
		scale("model.embed_tokens.weight", func(int) float32 { return 1 }, func(c int) float32 { return hid[c] })
	}
	hd := v.shape.HeadDim
	for l := range v.shape.Layers {
		pre, o, down := fmt.Sprintf("model.layers.%d.", l), "self_attn.o_proj.", "mlp.down_proj."
		if v.Encoder != nil {
			pre, o, down = encoderPrefix(v.Encoder)+fmt.Sprintf("encoder.layer.%d.", l), "attention.output.dense.", "output.dense."
		}
		heads := v.Heads[l].Mu.Value.Float32s()
		neurons := v.Neurons[l].Mu.Value.Float32s()
		out := func(r int) float32 { return hid[r] * lay[l] }
		scale(pre+o+"weight", out, func(c int) float32 { return heads[c/hd] })
		scale(pre+o+"bias", out, nil)
		scale(pre+down+"weight", out, func(c int) float32 { return neurons[c] })
		scale(pre+down+"bias", out, nil)
	}
	return nil
}

// Options set a VTrans run.
type Options struct {
	Ratio   float64 // fraction of the parameters removed, in (0, 1)
	Variant string  // Full, Fast or Faster ("": Full)
	Epochs  int     // passes over the (variant's) training batches (0: 1)
	Beta    float64 // weight of Σ log(1 + μ²/σ²) (0: DefaultBeta)
	// LR is the weights' learning rate (0: 1e-4), MaskLR the masks' (0:
	// 1e-2).
	LR, MaskLR float64
	// CE and KL weigh the task and distillation terms (both 0: 1 and 1);
	// Temperature is the distillation's τ (0: 1).
	CE, KL, Temperature float64
	Seed                uint64
	// Progress, when set, gets the step count and the last loss.
	Progress func(step, steps int, loss float64)
}

// DefaultBeta weighs the VIB term.
const DefaultBeta = 1e-4

// Result reports a run.
type Result struct {
	Model        *decoder.Model // the pruned model (nil for an encoder)
	Encoder      *encoder.Model // the pruned encoder (nil for a decoder)
	Mask         *structured.Mask
	Removed      float64 // fraction of the parameters removed
	Steps        int
	TrainSeconds float64
	Params       [2]int // before, after
}

// Validate checks o, naming the bad field.
func (o *Options) Validate() error {
	switch {
	case !(o.Ratio > 0 && o.Ratio < 1):
		return fmt.Errorf("vtrans: ratio %v, want a fraction in (0, 1)", o.Ratio)
	case o.Variant != "" && o.Variant != Full && o.Variant != Fast && o.Variant != Faster:
		return fmt.Errorf("vtrans: variant %q, want one of %v", o.Variant, Variants)
	case o.Epochs < 0 || o.Beta < 0 || o.LR < 0 || o.MaskLR < 0 || o.CE < 0 || o.KL < 0 || o.Temperature < 0:
		return fmt.Errorf("vtrans: epochs, beta, learning rates, weights and temperature must not be negative")
	}
	return nil
}

func or(v, d float64) float64 {
	if v == 0 {
		return d
	}
	return v
}

// Clone returns a copy of m with its own parameter values.
func Clone(m *decoder.Model) (*decoder.Model, error) {
	c := *m.Config
	out, err := decoder.Build(&c, nn.Init{Empty: true})
	if err != nil {
		return nil, err
	}
	if err := copyValues(out.Params(), m.Params()); err != nil {
		return nil, err
	}
	return out, nil
}

// copyValues gives each of dst a copy of the value of the parameter of
// src with its name.
func copyValues(dst, src []*autograd.Var) error {
	have, err := nn.ParamMap(src)
	if err != nil {
		return err
	}
	for _, p := range dst {
		q, ok := have[p.Name]
		if !ok {
			return fmt.Errorf("vtrans: clone: %s missing", p.Name)
		}
		p.Value = q.Value.Clone()
	}
	return nil
}

// Trained is a student whose masks have trained and been folded into its
// weights: Prune cuts it to any budget.
type Trained struct {
	Student      *decoder.Model // nil for an encoder
	Encoder      *encoder.Model // the encoder student (nil for a decoder)
	VIB          *VIB
	Steps        int
	TrainSeconds float64
}

// Run prunes a copy of m with VTrans on the training batches to o.Ratio
// and returns the pruned model (m is unchanged).
func Run(m *decoder.Model, batches []data.Batch, o Options) (*Result, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	t, err := Train(m, batches, o)
	if err != nil {
		return nil, err
	}
	return t.Prune(o.Ratio)
}

// Prune removes the structures of lowest α from a copy of the trained
// student until ratio of its parameters are gone.
func (t *Trained) Prune(ratio float64) (*Result, error) {
	var student structured.Model = t.Student
	if t.Encoder != nil {
		student = t.Encoder
	}
	before := structured.NumParams(student)
	mask, removed, err := structured.Select(student, t.VIB.Candidates(), ratio)
	if err != nil {
		return nil, err
	}
	r := &Result{Mask: mask, Removed: removed, Steps: t.Steps, TrainSeconds: t.TrainSeconds}
	if t.Encoder != nil {
		if r.Encoder, err = structured.RemoveEncoder(t.Encoder, mask); err != nil {
			return nil, err
		}
		r.Params = [2]int{before, structured.NumParams(r.Encoder)}
		return r, nil
	}
	if r.Model, err = structured.Remove(t.Student, mask); err != nil {
		return nil, err
	}
	r.Params = [2]int{before, structured.NumParams(r.Model)}
	return r, nil
}

// Train trains VIB masks (and, but for Faster, the weights) on a copy of
// m with the loss of the package doc, then folds the masks' μ into the
// copy's weights (o.Ratio is not used).
func Train(m *decoder.Model, batches []data.Batch, o Options) (*Trained, error) {
	if o.Ratio == 0 {
		o.Ratio = 0.5 // checked by Prune
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if len(batches) == 0 {
		return nil, fmt.Errorf("vtrans: no training batches")
	}
	teacher := m
	student, err := Clone(m)
	if err != nil {
		return nil, err
	}
	weights := student.Params()
	v, err := New(student)
	if err != nil {
		return nil, err
	}
	variant := cmp.Or(o.Variant, Full)
	n := len(batches)
	if variant == Fast {
		n = max(1, int(math.Ceil(FastFraction*float64(len(batches)))))
	}
	ce, kl := o.CE, o.KL
	if ce == 0 && kl == 0 {
		ce, kl = 1, 1
	}
	d, err := distill.New(student, teacher, distill.Config{CE: ce, KL: kl, Temperature: o.Temperature})
	if err != nil {
		v.Detach()
		return nil, err
	}
	steps, secs := o.optimize(v, weights, n, func(i int) *autograd.Var { return d.Loss(nil, batches[i]) })
	v.Detach()
	if err := v.Fold(); err != nil {
		return nil, err
	}
	return &Trained{Student: student, VIB: v, Steps: steps, TrainSeconds: secs}, nil
}

// optimize trains v's masks (and the weights, but for Faster) for o's
// epochs over n batches, loss(i) being batch i's task and distillation
// terms, to which it adds β Σ log(1 + μ²/σ²); it returns the steps and
// the seconds taken.
func (o Options) optimize(v *VIB, weights []*autograd.Var, n int, loss func(i int) *autograd.Var) (int, float64) {
	groups := []*optim.Group{{Params: v.Params(), LR: or(o.MaskLR, 1e-2)}}
	if cmp.Or(o.Variant, Full) == Faster {
		for _, p := range weights {
			p.Freeze()
		}
		defer func() {
			for _, p := range weights {
				p.SetRequiresGrad(true)
			}
		}()
	} else {
		groups = append(groups, &optim.Group{Params: weights, LR: or(o.LR, 1e-4)})
	}
	opt := optim.NewAdamW(groups)
	beta := or(o.Beta, DefaultBeta)
	rng := tensor.NewRNG(o.Seed)
	epochs := max(o.Epochs, 1)
	steps := epochs * n
	start := time.Now()
	step := 0
	for range epochs {
		for i := range n {
			v.Sample(rng, nil)
			l := autograd.Add(loss(i), autograd.MulScalar(v.KL(), beta))
			l.Backward()
			opt.Step()
			opt.ZeroGrad()
			step++
			if o.Progress != nil {
				o.Progress(step, steps, l.Item())
			}
		}
	}
	return steps, time.Since(start).Seconds()
}
