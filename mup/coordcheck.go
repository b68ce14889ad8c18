// Package mup holds μP's workflows (the parametrisation itself is
// models/decoder/mup.go): the coordinate check of microsoft/mup
// (mup/coord_check.py), which trains a model at several widths for a few
// steps and records the mean absolute value of each layer's output. Under
// μP the curves against width are flat; under the standard
// parametrisation they grow with width.
package mup

import (
	"fmt"
	"math"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/chart"
	"github.com/loomml/loom/data"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/train"
)

// Options say what to check.
type Options struct {
	// Base is the model at the base width (its hidden_size); the others
	// scale hidden_size and intermediate_size by each of Mults.
	Base  *decoder.Config
	Mults []int
	Steps int     // optimizer steps (the activations of each step's forward are recorded)
	LR    float64 // Adam's learning rate at the base width
	Batch func(step int) data.Batch
	Seed  uint64
}

// Result holds mean |activation| by parametrisation, step, layer and width.
type Result struct {
	Widths []int
	Layers []string // "embedding", "layer 0" … , "logits"
	// Mean[param][step][layer][width]: param "sp" or "mup".
	Mean map[string][][][]float64
}

// CoordCheck runs the check for the standard parametrisation and μP.
func CoordCheck(o Options) (*Result, error) {
	if o.Base == nil || len(o.Mults) == 0 || o.Steps < 1 || !(o.LR > 0) || o.Batch == nil {
		return nil, fmt.Errorf("mup: coord check needs a base config, widths, steps ≥ 1, a learning rate and batches")
	}
	r := &Result{Mean: map[string][][][]float64{}}
	L := o.Base.NumHiddenLayers
	r.Layers = append(r.Layers, "embedding")
	for i := range L {
		r.Layers = append(r.Layers, fmt.Sprintf("layer %d", i))
	}
	r.Layers = append(r.Layers, "logits")
	for _, k := range o.Mults {
		r.Widths = append(r.Widths, k*o.Base.HiddenSize)
	}
	for _, param := range []string{decoder.ParamSP, decoder.ParamMuP} {
		mean := make([][][]float64, o.Steps)
		for s := range mean {
			mean[s] = make([][]float64, len(r.Layers))
			for l := range mean[s] {
				mean[s][l] = make([]float64, len(o.Mults))
			}
		}
		for wi, k := range o.Mults {
			c := *o.Base
			c.HiddenSize, c.IntermediateSize = k*o.Base.HiddenSize, k*o.Base.IntermediateSize
			c.Loom.Param, c.Loom.BaseWidth = "", 0
			if param == decoder.ParamMuP {
				c.Loom.Param, c.Loom.BaseWidth = decoder.ParamMuP, o.Base.HiddenSize
			}
			m, err := decoder.New(&c, o.Seed)
			if err != nil {
				return nil, fmt.Errorf("mup: width %d: %w", c.HiddenSize, err)
			}
			opt := train.NewAdamW(m.Params(), train.Hyper{LR: o.LR, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8})
			for s := range o.Steps {
				b := o.Batch(s)
				x := m.Embeddings(nil, b.IDs, b.B, b.T)
				acts := []*autograd.Var{x}
				for _, l := range m.Layers {
					x = l.Forward(nil, x)
					acts = append(acts, x)
				}
				logits := m.Logits(m.Norm.Forward(x))
				acts = append(acts, logits)
				for l, a := range acts {
					v := a.Value.Contiguous().F32()
					sum := 0.0
					for _, f := range v {
						sum += math.Abs(float64(f))
					}
					mean[s][l][wi] = sum / float64(len(v))
				}
				loss := autograd.CrossEntropy(autograd.Reshape(logits, b.B*b.T, c.VocabSize), b.Targets, autograd.IgnoreIndex, 0)
				opt.ZeroGrad()
				loss.Backward()
				opt.Step()
			}
		}
		r.Mean[param] = mean
	}
	return r, nil
}

// Growth returns, for a parametrisation and step, the largest ratio over
// layers of mean |activation| at the widest width to that at the
// narrowest.
func (r *Result) Growth(param string, step int) float64 {
	g := 0.0
	for _, row := range r.Mean[param][step] {
		g = math.Max(g, row[len(row)-1]/row[0])
	}
	return g
}

// Chart plots mean |activation| against width after step, one line per
// layer, for a parametrisation.
func (r *Result) Chart(param string, step int, title string) *chart.Chart {
	last := r.Mean[param][step]
	c := &chart.Chart{Title: title, XLabel: "width", YLabel: "mean |activation|", LogX: true, LogY: true}
	for l, name := range r.Layers {
		var xs, ys []float64
		for wi, w := range r.Widths {
			xs, ys = append(xs, float64(w)), append(ys, last[l][wi])
		}
		c.Series = append(c.Series, chart.Series{Name: name, X: xs, Y: ys, Style: chart.LinePoints})
	}
	return c
}
