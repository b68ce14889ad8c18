package nn

// Nested feed-forward networks, from "MatFormer: Nested Transformer for
// Elastic Inference" (arXiv 2310.07707; official code
// RAIVNLab/MatFormer-OLMo, olmo/model.py): the hidden units of an FFN are
// ordered so that the first w of them form a smaller FFN of width w; the
// model trains every granularity at once and any width can be used later.
// A Nested FFN computes with the first Width hidden units (rows of the
// gate/up projections, columns of the down projection) of the FFN it
// wraps; its parameters are the wrapped FFN's, with the same names, so a
// MatFormer checkpoint is an ordinary dense checkpoint.

import (
	"fmt"

	"github.com/loomml/loom/autograd"
)

// Nested wraps an MLP or GatedMLP whose projections are Linear layers.
type Nested struct {
	Inner FFN
	Full  int // hidden width of Inner
	Width int // active width: 1 … Full (Full: the whole FFN)
}

// NewNested wraps ffn, which must be an *MLP or *GatedMLP of Linear layers.
func NewNested(ffn FFN) (*Nested, error) {
	var down Layer
	switch f := ffn.(type) {
	case *MLP:
		down = f.Down
	case *GatedMLP:
		down = f.Down
	default:
		return nil, fmt.Errorf("matformer: cannot nest a %T (want an mlp or gated FFN)", ffn)
	}
	d, ok := down.(*Linear)
	if !ok {
		return nil, fmt.Errorf("matformer: cannot nest an FFN whose projections are %T (want Linear)", down)
	}
	full := d.InFeatures()
	return &Nested{Inner: ffn, Full: full, Width: full}, nil
}

// SetWidth selects the first w hidden units.
func (n *Nested) SetWidth(w int) error {
	if w < 1 || w > n.Full {
		return fmt.Errorf("matformer: FFN width %d, want 1 … %d", w, n.Full)
	}
	n.Width = w
	return nil
}

// prefixRows returns the Linear of l's first w outputs.
func prefixRows(l Layer, w int) *Linear {
	lin := l.(*Linear)
	out := &Linear{Weight: autograd.Slice(lin.Weight, 0, 0, w)} // [w, in]
	if lin.Bias != nil {
		out.Bias = autograd.Slice(lin.Bias, 0, 0, w)
	}
	return out
}

// prefixCols returns the Linear reading only l's first w inputs.
func prefixCols(l Layer, w int) *Linear {
	lin := l.(*Linear)
	// [out, w] view of [out, in]; contiguous for the matmul.
	return &Linear{Weight: autograd.Contiguous(autograd.Slice(lin.Weight, 1, 0, w)), Bias: lin.Bias}
}

// Forward maps [..., D] to [..., D] through the first Width hidden units.
func (n *Nested) Forward(x *autograd.Var) *autograd.Var {
	if n.Width == n.Full {
		return n.Inner.Forward(x)
	}
	switch f := n.Inner.(type) {
	case *MLP:
		return (&MLP{Up: prefixRows(f.Up, n.Width), Down: prefixCols(f.Down, n.Width), Act: f.Act}).Forward(x)
	case *GatedMLP:
		return (&GatedMLP{Gate: prefixRows(f.Gate, n.Width), Up: prefixRows(f.Up, n.Width),
			Down: prefixCols(f.Down, n.Width), Act: f.Act}).Forward(x)
	}
	panic("unreachable: NewNested checked the type")
}

// Params returns the wrapped FFN's parameters.
func (n *Nested) Params() []*autograd.Var { return n.Inner.Params() }
