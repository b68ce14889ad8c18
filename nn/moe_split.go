package nn

import (
	"fmt"
	"slices"

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
	m.keysOf = m.keysOf[:0]
	for e, ex := range m.Experts {
		k, err := FFNKeys(ex)
		if err != nil {
			panic(err.Error())
		}
		m.keysOf = append(m.keysOf, k.Value)
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

// refreshKeyGate recomputes the key gate before a pass when the keys may
// have changed: in training (the optimizer moved them after the last
// pass), after a training pass, or when an expert holds other key tensors;
// evaluation passes in a row reuse it (decoding token by token would
// otherwise recompute it per token).
func (m *MoE) refreshKeyGate(training bool) {
	fresh := !training && !m.keysStale && len(m.keysOf) == len(m.Experts)
	for e, ex := range m.Experts {
		if !fresh {
			break
		}
		k, err := FFNKeys(ex)
		fresh = err == nil && k.Value == m.keysOf[e]
	}
	if !fresh {
		m.UpdateKeyGate()
	}
	m.keysStale = training
}

// SubFFN returns the network of the hidden units units of dense (a
// GatedMLP or MLP of Linear layers whose activation has no parameters),
// named prefix, its matrices of role role: their rows of the first
// projections (with biases) and their columns of the down projection, times
// downScale, with the down bias times biasScale (0: none). A Taylor-pruned
// FFN, an expert, a shared expert.
func SubFFN(prefix string, dense FFN, units []int, role autograd.Role, downScale, biasScale float32) (FFN, error) {
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
	names := map[bool][]string{true: {"gate_proj", "up_proj"}, false: {"up_proj"}}[len(lins) == 3]
	ls := make([]Layer, len(lins))
	for i, l := range lins[:len(lins)-1] { // rows of the first projections
		nl := &Linear{Weight: autograd.NewParam(Join(prefix, names[i], "weight"), role, tensor.IndexSelect(l.Weight.Value.To(tensor.Float32), 0, units))}
		if l.Bias != nil {
			nl.Bias = autograd.NewParam(Join(prefix, names[i], "bias"), l.Bias.Role, tensor.IndexSelect(l.Bias.Value.To(tensor.Float32), 0, units))
		}
		ls[i] = nl
	}
	down := lins[len(lins)-1]
	w := tensor.IndexSelect(down.Weight.Value.To(tensor.Float32), 1, units)
	if downScale != 1 {
		w = scaled(w, downScale)
	}
	nd := &Linear{Weight: autograd.NewParam(Join(prefix, "down_proj", "weight"), role, w)}
	if down.Bias != nil {
		nd.Bias = autograd.NewParam(Join(prefix, "down_proj", "bias"), down.Bias.Role, scaled(down.Bias.Value.To(tensor.Float32), biasScale))
	}
	ls[len(ls)-1] = nd
	if len(ls) == 3 {
		return &GatedMLP{Gate: ls[0], Up: ls[1], Down: ls[2], Act: act}, nil
	}
	return &MLP{Up: ls[0], Down: ls[1], Act: act}, nil
}

// scaled returns t times s (a new tensor).
func scaled(t *tensor.Tensor, s float32) *tensor.Tensor {
	v := t.Contiguous().F32()
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = x * s
	}
	return tensor.FromFloat32(out, t.Shape()...)
}

// Split says how SplitFFN divides a dense FFN's hidden units.
type Split struct {
	Groups [][]int // the routed experts' units
	// Shared are the units of a shared expert every token goes through
	// (nil: none); with SharedGate it is scaled by σ(w·x) as Qwen2-MoE's,
	// w starting at 0 and its down projection doubled, so that it starts
	// at exactly 1·shared(x).
	Shared     []int
	SharedGate bool
}

// SplitFFN builds a mixture named prefix of dense's hidden units: expert e
// holds sp.Groups[e], the shared expert sp.Shared. The down bias goes to
// the shared expert, or without one is divided by c.TopK over the experts
// (each token sums k of them). The router (prefix.gate, [E, D]) is zero;
// c.Router RouterKeys sets it from the keys at every pass, otherwise the
// caller trains or sets it. The groups and shared units must partition the
// hidden units.
func SplitFFN(prefix string, dense FFN, sp Split, c MoEConfig) (*MoE, error) {
	groups := sp.Groups
	c.Experts = len(groups)
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", prefix, err)
	}
	keys, err := FFNKeys(dense)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", prefix, err)
	}
	H, D := keys.Dim(0), keys.Dim(1)
	seen := make([]bool, H)
	for e, g := range append(slices.Clone(groups), sp.Shared) {
		if len(g) == 0 && e < len(groups) {
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
	bias := 1 / float32(c.TopK)
	if len(sp.Shared) > 0 {
		bias = 0
	}
	for e, g := range groups {
		ex, err := SubFFN(Join(prefix, "experts", fmt.Sprint(e)), dense, g, autograd.RoleExpert, 1, bias)
		if err != nil {
			return nil, err
		}
		m.Experts = append(m.Experts, ex)
	}
	if len(sp.Shared) > 0 {
		scale := float32(1)
		if sp.SharedGate {
			scale = 2 // σ(0) = ½
			m.SharedGate = &Linear{Weight: autograd.NewParam(Join(prefix, "shared_expert_gate", "weight"), autograd.RoleMatrix, tensor.Zeros(1, D))}
		}
		if m.Shared, err = SubFFN(Join(prefix, "shared_expert"), dense, sp.Shared, autograd.RoleMatrix, scale, scale); err != nil {
			return nil, err
		}
	}
	return m, nil
}
