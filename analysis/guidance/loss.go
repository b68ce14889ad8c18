package guidance

import (
	"fmt"
	"math"

	"github.com/loomml/loom/autograd"
)

// Pair is one term of the guidance loss: the target's layer Target is
// aligned with the guide's layer Guide.
type Pair struct{ Target, Guide int }

// LayerMap returns the pairs of rep_sim's layer_supervision for a target
// of nTarget layers and a guide of nGuide: guide layer l is aligned with
// target layer m(l) = min(round(l·(nTarget − 1)/(nGuide − 1)), nTarget − 1),
// round being Python's (halves to even). With nGuide = 1 the step is 1 and
// the single guide layer maps to target layer 0, as rep_sim does. When
// nGuide > nTarget several guide layers map to one target layer; rep_sim
// keeps its scores in a dict keyed by the target layer, so the last guide
// layer mapped there wins — and so it is here: each target layer appears at
// most once, with the highest guide layer that maps to it. Both counts must
// be at least 1.
func LayerMap(nTarget, nGuide int) ([]Pair, error) {
	if nTarget < 1 || nGuide < 1 {
		return nil, fmt.Errorf("guidance: layer map for %d target and %d guide layers; both need at least 1", nTarget, nGuide)
	}
	step := 1.0
	if nGuide > 1 {
		step = float64(nTarget-1) / float64(nGuide-1)
	}
	at := map[int]int{} // target layer → index in pairs
	var pairs []Pair
	for l := range nGuide {
		t := min(int(math.RoundToEven(float64(l)*step)), nTarget-1)
		if i, ok := at[t]; ok {
			pairs[i].Guide = l
			continue
		}
		at[t] = len(pairs)
		pairs = append(pairs, Pair{Target: t, Guide: l})
	}
	return pairs, nil
}

// Alignment returns Σ over LayerMap's pairs of (1 − CKA(target_m(l),
// guide_l)) — rep_sim's rep_similarity_loss. The guide's activations
// should be constants (computed under autograd.NoGrad): the guide is frozen.
func Alignment(target, guide []*autograd.Var, est Estimator) (*autograd.Var, error) {
	pairs, err := LayerMap(len(target), len(guide))
	if err != nil {
		return nil, err
	}
	var sum *autograd.Var
	for _, p := range pairs {
		c, err := CKAVar(target[p.Target], guide[p.Guide], est)
		if err != nil {
			return nil, fmt.Errorf("target layer %d, guide layer %d: %w", p.Target, p.Guide, err)
		}
		d := autograd.AddScalar(autograd.Neg(c), 1)
		if sum == nil {
			sum = d
		} else {
			sum = autograd.Add(sum, d)
		}
	}
	return sum, nil
}

// Loss returns the guidance objective L = ce + α·Alignment(target, guide)
// and the alignment term alone.
func Loss(ce *autograd.Var, target, guide []*autograd.Var, alpha float64, est Estimator) (total, align *autograd.Var, err error) {
	if alpha < 0 || math.IsNaN(alpha) || math.IsInf(alpha, 0) {
		return nil, nil, fmt.Errorf("guidance: α = %g, want a finite value ≥ 0", alpha)
	}
	align, err = Alignment(target, guide, est)
	if err != nil {
		return nil, nil, err
	}
	return autograd.Add(ce, autograd.MulScalar(align, alpha)), align, nil
}
