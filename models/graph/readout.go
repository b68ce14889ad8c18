package graph

import (
	"fmt"
	"strconv"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// Readout kinds of Config.Readout.
const (
	ReadoutSum  = "sum"
	ReadoutMean = "mean"
)

// Readout pools node rows h [N, D] into one row per graph of b [G, D]: their
// sum, or their mean (a graph without nodes reads out 0).
func Readout(h *autograd.Var, b *Batch, kind string) *autograd.Var {
	s := autograd.IndexAdd(h, 0, b.GraphOf, b.Graphs)
	switch kind {
	case ReadoutSum:
		return s
	case ReadoutMean:
		inv := make([]float64, b.Graphs)
		for g := range inv {
			inv[g] = 1 / float64(max(1, b.Offsets[g+1]-b.Offsets[g]))
		}
		return autograd.Mul(s, autograd.Const(tensor.FromFloat64(inv, b.Graphs, 1).To(h.Value.DType())))
	}
	panic(fmt.Sprintf("graph: readout %q (want sum or mean)", kind))
}

// MLPHead is the reference's MLPReadout with L = 2: D → D/2 → D/4 →
// outputs, ReLU between the layers.
type MLPHead struct {
	FC []*nn.Linear
}

func newMLPHead(prefix string, dim, out int, rng *tensor.RNG) *MLPHead {
	h := &MLPHead{}
	for l, w := range []int{dim, dim / 2, dim / 4} {
		o := w / 2
		if l == 2 {
			o = out
		}
		h.FC = append(h.FC, nn.NewTorchLinear(nn.Join(prefix, "FC_layers", strconv.Itoa(l)), w, o, true, rng))
	}
	return h
}

// Forward maps graph rows [G, D] to outputs [G, out].
func (h *MLPHead) Forward(x *autograd.Var) *autograd.Var {
	for l, fc := range h.FC {
		x = fc.Forward(x)
		if l < len(h.FC)-1 {
			x = autograd.Relu(x)
		}
	}
	return x
}

// Params returns the layers' weights and biases.
func (h *MLPHead) Params() []*autograd.Var {
	var out []*autograd.Var
	for _, fc := range h.FC {
		out = append(out, fc.Params()...)
	}
	return out
}
