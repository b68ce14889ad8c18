package structured

import (
	"fmt"
	"math"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/nn"
)

// Scores rate every structure of a model (higher: more important).
type Scores struct {
	Heads   [][]float64 // [layer][head]
	Neurons [][]float64 // [layer][neuron]
	Hidden  []float64   // [hidden dim]
	Layers  []float64   // [layer]
}

// NewScores returns zero scores shaped as m's structures.
func NewScores(m Model) (*Scores, error) {
	s, err := ShapeOf(m)
	if err != nil {
		return nil, err
	}
	sc := &Scores{Hidden: make([]float64, s.Hidden), Layers: make([]float64, s.Layers)}
	for i := range s.Layers {
		sc.Heads = append(sc.Heads, make([]float64, s.Heads))
		sc.Neurons = append(sc.Neurons, make([]float64, s.Neurons[i]))
	}
	return sc, nil
}

// accumulate adds f(w, g) of every parameter value to the structures
// it belongs to (g nil: f gets 0).
func (sc *Scores) accumulate(m Model, f func(w, g float32) float64) error {
	t, err := targetOf(m)
	if err != nil {
		return err
	}
	s := t.s
	for _, p := range m.Params() {
		lay, err := t.layout(p.Name, p.Shape())
		if err != nil {
			return err
		}
		w := p.Value.Float32s()
		var g []float32
		if p.Grad != nil {
			g = p.Grad.Float32s()
		}
		shape := p.Shape()
		st := strides(shape)
		for off, wv := range w {
			var gv float32
			if g != nil {
				gv = g[off]
			}
			c := f(wv, gv)
			if c == 0 {
				continue
			}
			if lay.layer >= 0 {
				sc.Layers[lay.layer] += c
			}
			for d, a := range lay.axes {
				i := (off / st[d]) % shape[d]
				switch a {
				case axHidden:
					sc.Hidden[i] += c
				case axHead:
					sc.Heads[lay.layer][i/s.HeadDim] += c
				case axNeuron:
					sc.Neurons[lay.layer][i] += c
				}
			}
		}
	}
	return nil
}

// AddTaylor adds the first-order Taylor importance of every structure:
// Σ |w·∂L/∂w| over its weights, from the gradients a backward pass left
// in m's parameters (call it after each batch's Backward, or once after
// gradients summed over batches).
func (sc *Scores) AddTaylor(m Model) error {
	return sc.accumulate(m, func(w, g float32) float64 { return math.Abs(float64(w) * float64(g)) })
}

// AddTaylorOf adds the Taylor importance of the gradients that backward
// leaves in m's parameters (it calls Backward on each batch's loss): the
// gradients are cleared before and after, so they are summed over exactly
// backward's batches and nothing is left behind.
func (sc *Scores) AddTaylorOf(m Model, backward func()) error {
	ps := m.Params()
	for _, p := range ps {
		p.Grad = nil
	}
	backward()
	err := sc.AddTaylor(m)
	for _, p := range ps {
		p.Grad = nil
	}
	return err
}

// AddMagnitude adds each structure's squared weight norm Σ w² (the
// "magnitude" baseline of structured pruning).
func (sc *Scores) AddMagnitude(m Model) error {
	return sc.accumulate(m, func(w, _ float32) float64 { return float64(w) * float64(w) })
}

// recorder is a Layer that passes its input on and sums |x| per input
// feature (the activations of heads or neurons entering o_proj or
// down_proj).
type recorder struct {
	nn.Layer
	sum  []float64
	rows int
}

func (r *recorder) Forward(x *autograd.Var) *autograd.Var {
	v := x.Value.Float32s()
	n := len(r.sum)
	for off, a := range v {
		r.sum[off%n] += math.Abs(float64(a))
	}
	r.rows += len(v) / n
	return r.Layer.Forward(x)
}

// hook is a recorder put in place of a layer's o_proj or down_proj.
type hook struct {
	restore func()
	r       *recorder
	layer   int
	head    bool
}

func hookAttn(hooks []hook, a *nn.Attention, i int) []hook {
	o := a.O
	r := &recorder{Layer: o, sum: make([]float64, o.InFeatures())}
	a.O = r
	return append(hooks, hook{func() { a.O = o }, r, i, true})
}

func hookMLP(hooks []hook, f *nn.MLP, i int) []hook {
	d := f.Down
	r := &recorder{Layer: d, sum: make([]float64, d.InFeatures())}
	f.Down = r
	return append(hooks, hook{func() { f.Down = d }, r, i, false})
}

// decoderHooks puts recorders on a decoder's o_proj and down_proj.
func decoderHooks(m *decoder.Model) ([]hook, error) {
	var hooks []hook
	for i, b := range m.Layers {
		pb, ok := b.(*decoder.PreNorm)
		if !ok {
			return hooks, fmt.Errorf("structured: layer %d is not a prenorm block", i)
		}
		if a, ok := pb.Attn.(*nn.Attention); ok && pb.Attn != nil {
			hooks = hookAttn(hooks, a, i)
		} else if pb.Attn != nil {
			return hooks, fmt.Errorf("structured: layer %d's attention is a %T, not an nn.Attention", i, pb.Attn)
		}
		if pb.FFN == nil {
			continue
		}
		switch f := pb.FFN.(type) {
		case *nn.GatedMLP:
			d := f.Down
			r := &recorder{Layer: d, sum: make([]float64, d.InFeatures())}
			f.Down = r
			hooks = append(hooks, hook{func() { f.Down = d }, r, i, false})
		case *nn.MLP:
			hooks = hookMLP(hooks, f, i)
		default:
			return hooks, fmt.Errorf("structured: layer %d's FFN is a %T", i, pb.FFN)
		}
	}
	return hooks, nil
}

// AddActivation adds activation importance from one forward pass of
// forward (which runs m on some data, without gradients): the mean |a| of
// each FFN neuron's activation entering down_proj, the mean L1 norm over
// head_dim of each head's output entering o_proj, the mean |x| of each
// hidden dim of the residual stream leaving the embedding (decoders), and,
// per layer, the sum of its heads' and neurons' scores.
func (sc *Scores) AddActivation(m Model, forward func()) error {
	t, err := targetOf(m)
	if err != nil {
		return err
	}
	s := t.s
	var hooks []hook
	if t.dec != nil {
		hooks, err = decoderHooks(t.dec)
	} else {
		hooks, err = encoderHooks(t.enc)
	}
	defer func() {
		for _, h := range hooks {
			h.restore()
		}
	}()
	if err != nil {
		return err
	}
	autograd.NoGrad(forward)
	for _, h := range hooks {
		if h.r.rows == 0 {
			continue
		}
		for j, v := range h.r.sum {
			v /= float64(h.r.rows)
			if h.head {
				sc.Heads[h.layer][j/s.HeadDim] += v
			} else {
				sc.Neurons[h.layer][j] += v
			}
			sc.Layers[h.layer] += v
		}
	}
	if t.dec == nil {
		return nil
	}
	// Hidden dims: the embedding rows' mean magnitude per dim (what
	// enters the residual stream).
	w := t.dec.Embed.Params()[0].Value.Float32s()
	rows := float64(len(w) / s.Hidden)
	for off, v := range w {
		sc.Hidden[off%s.Hidden] += math.Abs(float64(v)) / rows
	}
	return nil
}
