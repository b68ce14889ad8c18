package nn

import (
	"fmt"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/tensor"
)

// Ctx is what one forward pass carries besides its inputs: the mode, the
// random stream for dropout, a sink for auxiliary losses, an extra attention
// mask, the cache and the position of the first token. Every family's
// Forward takes one, so a paper that needs any of these adds no parameter to
// anybody's signature. A nil *Ctx is evaluation at position 0 without a
// cache; its methods are safe on nil.
type Ctx struct {
	// Train selects training behaviour: dropout (with RNG) and a family's
	// training objective (a MatFormer's sum over granularities, say).
	Train bool
	// RNG drives dropout; nil means no dropout, even in training.
	RNG *tensor.RNG
	// Aux collects auxiliary losses (a mixture's load balancing, say); nil
	// drops them, as evaluation does.
	Aux *AuxLosses
	// Mask restricts attention beyond each attention layer's own kind
	// (padding, arbitrary sparse or graph masks); the zero Mask adds none.
	Mask Mask
	// Cache keeps state across calls for incremental decoding (nil: none).
	Cache Cache
	// Pos is the position of the inputs' first token.
	Pos int
	// Positions, when set, makes the batch rows separate sequences, each
	// with one new token at its own position (continuous batching): row b
	// is at Positions[b], and Cache is a SeqCaches holding row b's own
	// cache. Pos is then unused. Projections, feed-forward layers and the
	// head still run over all rows at once; attention runs row by row.
	Positions []int
	// Lengths, with Positions, is how many new tokens each sequence has
	// (nil: one each). The inputs are then a single row [1, ΣLengths]:
	// sequence b's tokens follow sequence b−1's, at positions Positions[b],
	// Positions[b]+1, …: prompt chunks of several requests and decode
	// tokens of others in one forward pass.
	Lengths []int
}

// Training reports whether c is in training mode.
func (c *Ctx) Training() bool { return c != nil && c.Train }

// Position returns the position of the first token (0 for a nil Ctx).
func (c *Ctx) Position() int {
	if c == nil {
		return 0
	}
	return c.Pos
}

// RowPositions returns the per-row positions of a batch of separate
// sequences (nil for a nil Ctx or an ordinary batch).
func (c *Ctx) RowPositions() []int {
	if c == nil {
		return nil
	}
	return c.Positions
}

// RowLayout returns, for a batch of separate sequences (Positions set)
// over inputs [B, T], every input token's position (row-major) and where
// each sequence's tokens start: sequence b has tokens offs[b] … offs[b+1]−1.
// It panics when Positions and Lengths do not describe [B, T].
func (c *Ctx) RowLayout(B, T int) (pos, offs []int) {
	rows := c.RowPositions()
	if c.Lengths == nil {
		if len(rows) != B || T != 1 {
			panic(fmt.Sprintf("nn: %d row positions for a batch of %d × %d (want one per row and T = 1, or Lengths)", len(rows), B, T))
		}
		offs = make([]int, B+1)
		for b := range offs {
			offs[b] = b
		}
		return rows, offs
	}
	if len(c.Lengths) != len(rows) {
		panic(fmt.Sprintf("nn: %d lengths for %d row positions", len(c.Lengths), len(rows)))
	}
	offs = make([]int, len(rows)+1)
	for b, n := range c.Lengths {
		if n < 1 {
			panic(fmt.Sprintf("nn: sequence %d has %d new tokens; want ≥ 1", b, n))
		}
		offs[b+1] = offs[b] + n
		for i := range n {
			pos = append(pos, rows[b]+i)
		}
	}
	if B != 1 || T != offs[len(rows)] {
		panic(fmt.Sprintf("nn: lengths summing to %d for inputs of %d × %d (want one row of that many)", offs[len(rows)], B, T))
	}
	return pos, offs
}

// Dropout applies dropout with probability p to x in training mode with an
// RNG (one draw seeds the mask: autograd.DropoutSeeded); otherwise it
// returns x.
func (c *Ctx) Dropout(x *autograd.Var, p float64) *autograd.Var {
	if !c.Training() || c.RNG == nil || p == 0 {
		return x
	}
	return autograd.DropoutSeeded(x, p, c.RNG)
}

// dropoutRNG returns the RNG dropout may use (nil: no dropout).
func (c *Ctx) dropoutRNG() *tensor.RNG {
	if !c.Training() {
		return nil
	}
	return c.RNG
}

// KV returns attention layer i's key/value store, or nil without a cache.
func (c *Ctx) KV(i int) KVCache {
	if c == nil || c.Cache == nil {
		return nil
	}
	return c.Cache.KV(i)
}

// extraMask returns the call's mask (the zero Mask for a nil Ctx).
func (c *Ctx) extraMask() Mask {
	if c == nil {
		return Mask{}
	}
	return c.Mask
}

// AddAux records an auxiliary loss: the training loop adds weight·loss to
// the objective and logs loss under name in metrics.jsonl. Without a sink
// (evaluation) it does nothing.
func (c *Ctx) AddAux(name string, weight float64, loss *autograd.Var) {
	if c == nil || c.Aux == nil {
		return
	}
	if loss.Value.Numel() != 1 {
		panic(fmt.Sprintf("nn: auxiliary loss %s has shape %v, want a scalar", name, loss.Shape()))
	}
	c.Aux.List = append(c.Aux.List, AuxLoss{Name: name, Weight: weight, Loss: loss})
}

// AuxLoss is one named, weighted auxiliary loss of a forward pass.
type AuxLoss struct {
	Name   string
	Weight float64
	Loss   *autograd.Var // a scalar
}

// AuxLosses collects the auxiliary losses of forward passes.
type AuxLosses struct {
	List []AuxLoss
}

// Total returns Σ weight·loss over the collected losses, nil when there
// are none.
func (a *AuxLosses) Total() *autograd.Var {
	if a == nil {
		return nil
	}
	var total *autograd.Var
	for _, l := range a.List {
		t := l.Loss
		if l.Weight != 1 {
			t = autograd.MulScalar(t, l.Weight)
		}
		if total == nil {
			total = t
		} else {
			total = autograd.Add(total, t)
		}
	}
	return total
}

// Values returns each loss's value by name, for logs: the losses of one
// name summed (each layer's balance loss adds to the objective), the
// metrics recorded with weight 0 averaged (each mixture layer's fraction of
// dropped tokens).
func (a *AuxLosses) Values() map[string]float64 {
	if a == nil || len(a.List) == 0 {
		return nil
	}
	out := map[string]float64{}
	count := map[string]int{}
	for _, l := range a.List {
		out[l.Name] += l.Loss.Item()
		if l.Weight == 0 {
			count[l.Name]++
		}
	}
	for k, n := range count {
		out[k] /= float64(n)
	}
	return out
}

// Reset drops the collected losses.
func (a *AuxLosses) Reset() {
	if a != nil {
		a.List = a.List[:0]
	}
}
