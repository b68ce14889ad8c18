package structured

import (
	"fmt"
	"slices"
)

// Kinds of structure.
const (
	KindHead   = "head"
	KindNeuron = "neuron"
	KindHidden = "hidden"
	KindLayer  = "layer"
)

// Kinds lists every kind of structure.
var Kinds = []string{KindHead, KindNeuron, KindHidden, KindLayer}

// Candidate is one structure a budgeted selection may remove.
type Candidate struct {
	Kind  string
	Layer int // -1 for hidden dims
	Index int // head, neuron or hidden dim (0 for layers)
	Score float64
}

// Candidates lists m's present structures of the given kinds with their
// scores from sc. Scores of different kinds are on different scales; with
// normalize each kind's scores are divided by their mean (so they compete
// by relative importance).
func Candidates(m Model, sc *Scores, kinds []string, normalize bool) ([]Candidate, error) {
	sh, err := ShapeOf(m)
	if err != nil {
		return nil, err
	}
	full := sh.full()
	var out []Candidate
	for _, kind := range kinds {
		var cs []Candidate
		switch kind {
		case KindHead:
			for l, hs := range full.Heads {
				for h, ok := range hs {
					if ok {
						cs = append(cs, Candidate{kind, l, h, sc.Heads[l][h]})
					}
				}
			}
		case KindNeuron:
			for l, ns := range full.Neurons {
				for j, ok := range ns {
					if ok {
						cs = append(cs, Candidate{kind, l, j, sc.Neurons[l][j]})
					}
				}
			}
		case KindHidden:
			if sh.Encoder {
				return nil, fmt.Errorf("structured: kind %q: %s", kind, errEncoderHidden)
			}
			for j := range full.Hidden {
				cs = append(cs, Candidate{kind, -1, j, sc.Hidden[j]})
			}
		case KindLayer:
			for l, ok := range full.Layers {
				if ok {
					cs = append(cs, Candidate{kind, l, 0, sc.Layers[l]})
				}
			}
		default:
			return nil, fmt.Errorf("structured: unknown structure kind %q (want %v)", kind, Kinds)
		}
		if normalize && len(cs) > 0 {
			mean := 0.0
			for _, c := range cs {
				mean += c.Score
			}
			mean /= float64(len(cs))
			if mean > 0 {
				for i := range cs {
					cs[i].Score /= mean
				}
			}
		}
		out = append(out, cs...)
	}
	return out, nil
}

// Params counts the parameters m keeps under k (what Remove's model
// has).
func Params(m Model, k *Mask) (int, error) {
	t, err := targetOf(m)
	if err != nil {
		return 0, err
	}
	s := t.s
	if err := k.check(s); err != nil {
		return 0, err
	}
	n := 0
	for _, p := range m.Params() {
		lay, err := t.layout(p.Name, p.Shape())
		if err != nil {
			return 0, err
		}
		if !k.present(lay) {
			continue
		}
		c := 1
		for d, keep := range k.keepOf(lay, s.HeadDim) {
			if keep == nil {
				c *= p.Shape()[d]
			} else {
				c *= len(keep)
			}
		}
		n += c
	}
	return n, nil
}

func (k *Mask) drop(c Candidate) {
	switch c.Kind {
	case KindHead:
		k.Heads[c.Layer][c.Index] = false
	case KindNeuron:
		k.Neurons[c.Layer][c.Index] = false
	case KindHidden:
		k.Hidden[c.Index] = false
	case KindLayer:
		k.Layers[c.Layer] = false
	}
}

// Select removes the lowest-scored candidates, in order, until at least
// ratio of m's parameters are gone (ratio in (0, 1)), never the last
// hidden dim. It returns the mask and the fraction actually removed.
func Select(m Model, cands []Candidate, ratio float64) (*Mask, float64, error) {
	if !(ratio > 0 && ratio < 1) {
		return nil, 0, fmt.Errorf("structured: ratio %v, want a fraction in (0, 1)", ratio)
	}
	k, err := Full(m)
	if err != nil {
		return nil, 0, err
	}
	total, err := Params(m, k)
	if err != nil {
		return nil, 0, err
	}
	cs := slices.Clone(cands)
	slices.SortStableFunc(cs, func(a, b Candidate) int {
		switch {
		case a.Score < b.Score:
			return -1
		case a.Score > b.Score:
			return 1
		}
		return 0
	})
	left := total
	for _, c := range cs {
		if float64(total-left) >= ratio*float64(total) {
			break
		}
		if c.Kind == KindHidden && count(k.Hidden) == 1 {
			continue
		}
		k.drop(c)
		if left, err = Params(m, k); err != nil {
			return nil, 0, err
		}
	}
	if float64(total-left) < ratio*float64(total) {
		return nil, 0, fmt.Errorf("structured: the candidates remove only %.1f %% of the parameters, short of the ratio %v", 100*float64(total-left)/float64(total), ratio)
	}
	return k, float64(total-left) / float64(total), nil
}
