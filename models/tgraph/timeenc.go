package tgraph

import (
	"math"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// TimeEncoder is the functional time encoding of TGAT (Xu et al.,
// "Inductive Representation Learning on Temporal Graphs", arXiv
// 2002.07962) in DyGLib's form (models/modules.py, TimeEncoder):
//
//	φ(Δt) = cos(Δt·ω + b),  ω_i = 10^(−9·i/(d−1)), b = 0 at initialisation,
//
// d frequencies spanning 1 to 10⁻⁹ per time unit (seconds, for SNAP's
// streams). GraphMixer (Cong et al., "Do We Really Need Complicated Model
// Architectures For Temporal Networks?", arXiv 2302.11636) keeps ω and b
// fixed, which is the default here; Learn trains them, as TGAT does.
type TimeEncoder struct {
	W, B  *autograd.Var // [d] each
	Learn bool
}

func newTimeEncoder(prefix string, d int, learn bool) *TimeEncoder {
	w := make([]float32, d)
	for i := range w {
		if d == 1 {
			w[i] = 1
		} else {
			w[i] = float32(math.Pow(10, -9*float64(i)/float64(d-1)))
		}
	}
	e := &TimeEncoder{
		W:     autograd.NewParam(nn.Join(prefix, "w"), autograd.RoleScalar, tensor.FromFloat32(w, d)),
		B:     autograd.NewParam(nn.Join(prefix, "b"), autograd.RoleBias, tensor.Zeros(d)),
		Learn: learn,
	}
	if !learn {
		e.W.Freeze()
		e.B.Freeze()
	}
	return e
}

// Dim is the number of frequencies d.
func (e *TimeEncoder) Dim() int { return e.W.Dim(0) }

// Forward encodes the time spans dt: [len(dt), d].
func (e *TimeEncoder) Forward(dt []float64) *autograd.Var {
	n, d := len(dt), e.Dim()
	if !e.Learn { // a constant: no tape
		w, b := e.W.Value.Float64s(), e.B.Value.Float64s()
		out := make([]float32, n*d)
		for r, t := range dt {
			row := out[r*d : (r+1)*d]
			for i := range row {
				row[i] = float32(math.Cos(t*w[i] + b[i]))
			}
		}
		return autograd.Const(tensor.FromFloat32(out, n, d).To(e.W.Value.DType()))
	}
	x := make([]float32, n)
	for i, t := range dt {
		x[i] = float32(t)
	}
	// Δt is float32 here as in DyGLib; ω·Δt keeps ~7 digits of the phase
	arg := autograd.Mul(autograd.Const(tensor.FromFloat32(x, n, 1).To(e.W.Value.DType())), autograd.Reshape(e.W, 1, d))
	return autograd.Cos(autograd.Add(arg, autograd.Reshape(e.B, 1, d)))
}

// Params returns ω and b (frozen unless Learn).
func (e *TimeEncoder) Params() []*autograd.Var { return []*autograd.Var{e.W, e.B} }
