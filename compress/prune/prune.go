// Package prune runs the sublayer-pruning methods behind `loom prune`:
// FinerCut's greedy search (arXiv 2405.18218) and its one-shot variant,
// and the baselines FinerCut is compared with — ShortGPT's block influence
// (arXiv 2403.03853), the last N blocks, and random sublayers. Every method
// removes the same number of sublayers from a model in place (blocks
// count as two) and reports the order.
package prune

import (
	"fmt"

	"github.com/loomml/loom/compress/finercut"
	"github.com/loomml/loom/compress/shortgpt"
	"github.com/loomml/loom/internal/registry"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/tensor"
)

// Request is what a method gets.
type Request struct {
	Model *decoder.Model
	Calib [][]int // calibration windows of equal length
	Count int     // sublayers to remove
	Seed  uint64  // for random
	// FinerCut's options (Distance, Protect, Progress).
	FinerCut finercut.Options
}

// Method removes r.Count sublayers from r.Model and returns them in order,
// each with the method's own score (FinerCut's distance, ShortGPT's
// influence; 0 for lastn and random).
type Method func(r Request) ([]finercut.Step, error)

var methods = registry.New[Method]("method")

// Register makes a pruning method available to Run and `loom prune`.
func Register(name string, m Method) { methods.Register(name, m) }

func init() {
	Register("finercut", func(r Request) ([]finercut.Step, error) { return viaFinerCut(r, false) })
	Register("oneshot", func(r Request) ([]finercut.Step, error) { return viaFinerCut(r, true) })
	Register("shortgpt", shortGPT)
	Register("lastn", lastN)
	Register("random", random)
}

// Names lists the methods.
func Names() []string { return methods.Names() }

// Run applies the named method.
func Run(name string, r Request) ([]finercut.Step, error) {
	f, err := methods.Get(name)
	if err != nil {
		return nil, fmt.Errorf("prune: %w", err)
	}
	for l, b := range r.Model.Layers {
		if _, ok := b.(decoder.Pruner); !ok {
			return nil, fmt.Errorf("prune: layer %d (%s layout) has no removable sublayers", l, r.Model.Config.LayoutName())
		}
	}
	total := 2 * len(r.Model.Layers)
	if r.Count < 1 || r.Count >= total {
		return nil, fmt.Errorf("prune: removing %d of %d sublayers: want 1 to %d", r.Count, total, total-1)
	}
	return f(r)
}

func viaFinerCut(r Request, oneShot bool) ([]finercut.Step, error) {
	o := r.FinerCut
	o.Count, o.Ratio, o.OneShot = r.Count, 0, oneShot
	res, err := finercut.Prune(r.Model, r.Calib, o)
	if err != nil {
		return nil, err
	}
	return res.Order, nil
}

func apply(m *decoder.Model, rs []finercut.Step) ([]finercut.Step, error) {
	var done []finercut.Step
	for _, x := range rs {
		if !m.HasSublayer(x.Layer, x.Kind) {
			continue // a block baseline on an already pruned block
		}
		if err := m.RemoveSublayer(x.Layer, x.Kind); err != nil {
			return nil, err
		}
		done = append(done, x)
	}
	return done, nil
}

func shortGPT(r Request) ([]finercut.Step, error) {
	in, err := shortgpt.Measure(r.Model, r.Calib)
	if err != nil {
		return nil, err
	}
	var rs []finercut.Step
	plan := in.Plan(r.Count)
	for i, s := range plan {
		score := in.Block[s.Layer]
		if r.Count%2 == 1 && i == len(plan)-1 { // the odd single sublayer
			score = in.Sublayers[s.Kind][s.Layer]
		}
		rs = append(rs, finercut.Step{Sublayer: s, Score: score})
	}
	return apply(r.Model, rs)
}

// lastN removes sublayers from the end: the last block's FFN, then its
// attention, then the block before, … (an odd count ends on an FFN).
func lastN(r Request) ([]finercut.Step, error) {
	var rs []finercut.Step
	for l := len(r.Model.Layers) - 1; l >= 0 && len(rs) < r.Count; l-- {
		for _, k := range []string{decoder.SublayerFFN, decoder.SublayerAttention} {
			if len(rs) < r.Count && r.Model.HasSublayer(l, k) {
				rs = append(rs, finercut.Step{Sublayer: decoder.Sublayer{Layer: l, Kind: k}})
			}
		}
	}
	return apply(r.Model, rs)
}

// random removes Count sublayers drawn uniformly without replacement.
func random(r Request) ([]finercut.Step, error) {
	var cands []finercut.Step
	for l := range r.Model.Layers {
		for _, k := range decoder.SublayerKinds {
			if r.Model.HasSublayer(l, k) {
				cands = append(cands, finercut.Step{Sublayer: decoder.Sublayer{Layer: l, Kind: k}})
			}
		}
	}
	rng := tensor.NewRNG(r.Seed)
	for i := len(cands) - 1; i > 0; i-- { // Fisher–Yates
		j := int(rng.Uint64() % uint64(i+1))
		cands[i], cands[j] = cands[j], cands[i]
	}
	return apply(r.Model, cands[:min(r.Count, len(cands))])
}
