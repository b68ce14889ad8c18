package nn

import (
	"fmt"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/tensor"
)

// Splitting a trained dense FFN into a mixture of experts (EMoE, arXiv
// 2310.10908; Dense2MoE, arXiv 2510.09094): each expert takes a group of
// the dense network's hidden units — their rows of the first projections
// (gate and up of a gated FFN, with their biases) and their columns of the
// down projection. Because the dense output is the sum over hidden units
// (plus the down bias), a token routed to every expert with weight 1, the
// down bias split as b/k over the k experts it goes to, gets the dense
// output exactly (up to the order of the sums).

// FFNKeys returns the "keys" of an FFN's hidden units: the weight [H, D]
// of its first projection, whose rows decide each unit's activation (the
// gate projection of a gated FFN, the up projection of a two-layer one).
func FFNKeys(f FFN) (*autograd.Var, error) {
	var l Layer
	switch m := f.(type) {
	case *GatedMLP:
		l = m.Gate
	case *MLP:
		l = m.Up
	default:
		return nil, fmt.Errorf("nn: keys of a %T: only gated and two-layer FFNs have them", f)
	}
	lin, ok := l.(*Linear)
	if !ok {
		return nil, fmt.Errorf("nn: keys of an FFN whose first projection is a %T, not a Linear", l)
	}
	return lin.Weight, nil
}

// UpdateKeyGate sets the router's weight to EMoE's gate: row e is the
// mean of expert e's keys (FFNKeys). It panics if an expert has none
// (SplitFFN and NewMoE's gated and two-layer experts have them).
func (m *MoE) UpdateKeyGate() {
	E := len(m.Experts)
	D := m.Router.Weight.Dim(1)
	g := make([]float32, E*D)
	for e, ex := range m.Experts {
		k, err := FFNKeys(ex)
		if err != nil {
			panic(err.Error())
		}
		rows := k.Value.To(tensor.Float32).Contiguous().F32()
		H := k.Dim(0)
		for h := range H {
			for d, v := range rows[h*D : (h+1)*D] {
				g[e*D+d] += v
			}
		}
		for d := range D {
			g[e*D+d] /= float32(H)
		}
	}
	m.Router.Weight.Value = tensor.FromFloat32(g, E, D)
}

// SplitFFN builds a mixture named prefix whose expert e holds the hidden
// units groups[e] of dense (a GatedMLP or MLP of Linear layers whose
// activation has no parameters), with the down bias divided by c.TopK. The
// router (prefix.gate, [E, D]) is zero; c.Router RouterKeys sets it from
// the keys at every pass, otherwise the caller trains or sets it. The
// groups must partition the hidden units.
func SplitFFN(prefix string, dense FFN, groups [][]int, c MoEConfig) (*MoE, error) {
	c.Experts = len(groups)
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", prefix, err)
	}
	var projs []Layer // first projections, then down
	var act Activation
	switch m := dense.(type) {
	case *GatedMLP:
		projs, act = []Layer{m.Gate, m.Up, m.Down}, m.Act
	case *MLP:
		projs, act = []Layer{m.Up, m.Down}, m.Act
	default:
		return nil, fmt.Errorf("%s: a %T cannot be split into experts (only gated and two-layer FFNs)", prefix, dense)
	}
	if len(act.Params()) > 0 {
		return nil, fmt.Errorf("%s: the activation has parameters, which experts cannot share", prefix)
	}
	lins := make([]*Linear, len(projs))
	for i, p := range projs {
		l, ok := p.(*Linear)
		if !ok {
			return nil, fmt.Errorf("%s: projection %d is a %T, not a Linear", prefix, i, p)
		}
		lins[i] = l
	}
	down := lins[len(lins)-1]
	H, D := down.Weight.Dim(1), down.Weight.Dim(0)
	seen := make([]bool, H)
	for e, g := range groups {
		if len(g) == 0 {
			return nil, fmt.Errorf("%s: expert %d has no hidden units", prefix, e)
		}
		for _, h := range g {
			if h < 0 || h >= H || seen[h] {
				return nil, fmt.Errorf("%s: hidden unit %d is out of range or in two experts", prefix, h)
			}
			seen[h] = true
		}
	}
	for h, s := range seen {
		if !s {
			return nil, fmt.Errorf("%s: hidden unit %d is in no expert", prefix, h)
		}
	}
	m := &MoE{Cfg: c}
	m.Router = &Linear{Weight: autograd.NewParam(Join(prefix, "gate", "weight"), autograd.RoleRouter, tensor.Zeros(len(groups), D))}
	names := map[bool][]string{true: {"gate_proj", "up_proj"}, false: {"up_proj"}}[len(lins) == 3]
	for e, g := range groups {
		ep := Join(prefix, "experts", fmt.Sprint(e))
		ls := make([]Layer, len(lins))
		for i, l := range lins[:len(lins)-1] { // rows g of the first projections
			nl := &Linear{Weight: autograd.NewParam(Join(ep, names[i], "weight"), autograd.RoleExpert, tensor.IndexSelect(l.Weight.Value.To(tensor.Float32), 0, g))}
			if l.Bias != nil {
				nl.Bias = autograd.NewParam(Join(ep, names[i], "bias"), l.Bias.Role, tensor.IndexSelect(l.Bias.Value.To(tensor.Float32), 0, g))
			}
			ls[i] = nl
		}
		nd := &Linear{Weight: autograd.NewParam(Join(ep, "down_proj", "weight"), autograd.RoleExpert, tensor.IndexSelect(down.Weight.Value.To(tensor.Float32), 1, g))}
		if down.Bias != nil {
			b := down.Bias.Value.To(tensor.Float32).Contiguous().F32()
			split := make([]float32, len(b))
			for i, v := range b {
				split[i] = v / float32(c.TopK)
			}
			nd.Bias = autograd.NewParam(Join(ep, "down_proj", "bias"), down.Bias.Role, tensor.FromFloat32(split, len(split)))
		}
		ls[len(ls)-1] = nd
		if len(ls) == 3 {
			m.Experts = append(m.Experts, &GatedMLP{Gate: ls[0], Up: ls[1], Down: ls[2], Act: act})
		} else {
			m.Experts = append(m.Experts, &MLP{Up: ls[0], Down: ls[1], Act: act})
		}
	}
	return m, nil
}
