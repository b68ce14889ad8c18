package moefy

import (
	"fmt"
	"math"
	"slices"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/data"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// Dense2MoE ("Restructuring Diffusion Transformer to MoE for Efficient
// Text-to-Image Generation", arXiv 2510.09094; no official code) turns a
// dense FFN into a shared expert plus routed experts: the hidden units of
// largest first-order Taylor importance |Σ_θ θ·∂L/∂θ| (over the unit's
// parameters: its gate and up rows and its down column) on calibration
// data form the shared expert every token uses; the others are clustered
// into the routed experts (as EMoE clusters keys); the router, a learned
// softmax one, starts at each expert's mean gate row. The model then learns
// by distillation from the dense teacher (package distill) with the
// balance loss. The output is a Qwen2-MoE (shared expert with its sigmoid
// gate, starting at exactly 1).
type dense2moe struct{}

func (dense2moe) Router() string        { return nn.RouterSoftmax }
func (dense2moe) NeedsImportance() bool { return true }

func (dense2moe) Partition(in Input) (nn.Split, float64, error) {
	x, n, d, err := unitKeys(in.FFN)
	if err != nil {
		return nn.Split{}, 0, err
	}
	if len(in.Importance) != n {
		return nn.Split{}, 0, fmt.Errorf("dense2moe: %d importances for %d hidden units", len(in.Importance), n)
	}
	order := ByImportance(in.Importance)
	shared := slices.Clone(order[:in.Shared])
	slices.Sort(shared)
	rest := order[in.Shared:]
	slices.Sort(rest)
	keys := make([]float32, 0, len(rest)*d)
	for _, h := range rest {
		keys = append(keys, x[h*d:(h+1)*d]...)
	}
	groups, cost := clusterKeys(keys, len(rest), d, in.Experts, in.RNG)
	for _, g := range groups {
		for i, j := range g {
			g[i] = rest[j]
		}
	}
	return nn.Split{Groups: groups, Shared: shared}, cost, nil
}

// ByImportance returns the hidden units from the most to the least
// important (ties by index).
func ByImportance(imp []float64) []int {
	order := make([]int, len(imp))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case imp[a] > imp[b]:
			return -1
		case imp[a] < imp[b]:
			return 1
		}
		return 0
	})
	return order
}

// TaylorImportance returns, for each of layers, each FFN hidden unit's
// first-order Taylor importance |Σ_θ θ·g_θ| (Molchanov et al., arXiv
// 1906.10771; Dense2MoE's expert initialisation), g the gradient of the
// mean next-token loss over calib, θ over the unit's parameters: its rows
// of the first projections (gate and up, with biases) and its column of
// the down projection. m's gradients are left cleared.
func TaylorImportance(m *decoder.Model, calib []data.Batch, layers []int) (map[int][]float64, error) {
	ffns := map[int]nn.FFN{}
	for _, l := range layers {
		b, ok := m.Layers[l].(*decoder.PreNorm)
		if !ok || b.FFN == nil {
			return nil, fmt.Errorf("layer %d has no feed-forward network", l)
		}
		ffns[l] = b.FFN
	}
	return gradImportance(m.Params(), func() {
		for _, b := range calib {
			autograd.MulScalar(m.Loss(nil, b), 1/float64(len(calib))).Backward()
		}
	}, ffns)
}

// UnitImportance returns each hidden unit's |Σ_θ θ·g_θ| from the gradients
// f's parameters hold (after the caller's backward passes over calibration
// data): any model's gated or two-layer FFN of Linear layers (a decoder's,
// a DiT block's).
func UnitImportance(f nn.FFN) ([]float64, error) {
	var first []*nn.Linear
	var down *nn.Linear
	switch f := f.(type) {
	case *nn.GatedMLP:
		first, down = []*nn.Linear{asLinear(f.Gate), asLinear(f.Up)}, asLinear(f.Down)
	case *nn.MLP:
		first, down = []*nn.Linear{asLinear(f.Up)}, asLinear(f.Down)
	}
	if down == nil || slices.Contains(first, nil) {
		return nil, fmt.Errorf("Taylor importance needs a gated or two-layer FFN of Linear layers, not a %T", f)
	}
	H := down.Weight.Dim(1)
	s := make([]float64, H)
	addRows := func(v *autograd.Var) {
		if v == nil || v.Grad == nil {
			return
		}
		w, g := v.Value.To(tensor.Float32).Contiguous().F32(), v.Grad.To(tensor.Float32).Contiguous().F32()
		per := len(w) / H
		for h := range H {
			for i := h * per; i < (h+1)*per; i++ {
				s[h] += float64(w[i]) * float64(g[i])
			}
		}
	}
	for _, l := range first {
		addRows(l.Weight)
		addRows(l.Bias)
	}
	if down.Weight.Grad != nil {
		w, g := down.Weight.Value.To(tensor.Float32).Contiguous().F32(), down.Weight.Grad.To(tensor.Float32).Contiguous().F32()
		for i := range w { // [D, H]: column h is every H-th value
			s[i%H] += float64(w[i]) * float64(g[i])
		}
	}
	for h := range s {
		s[h] = math.Abs(s[h])
	}
	return s, nil
}

func asLinear(l nn.Layer) *nn.Linear {
	lin, _ := l.(*nn.Linear)
	return lin
}

// TaylorPrune returns m with the FFN of every layer cut to its keep hidden
// units of largest Taylor importance on calib (physically: the smaller
// matrices, intermediate_size keep): the structured-pruning baseline
// Dense2MoE is compared with at equal active parameters. m is unchanged.
func TaylorPrune(m *decoder.Model, calib []data.Batch, keep int) (*decoder.Model, error) {
	c := m.Config
	if c.MoE() || c.LayoutName() != decoder.DefaultLayout || len(c.Loom.IntermediateSizes) > 0 || c.Loom.MatFormer != nil {
		return nil, fmt.Errorf("Taylor pruning takes a dense %s model with one FFN width", decoder.DefaultLayout)
	}
	if keep < 1 || keep > c.IntermediateSize {
		return nil, fmt.Errorf("keep %d of %d hidden units", keep, c.IntermediateSize)
	}
	layers := make([]int, c.NumHiddenLayers)
	for i := range layers {
		layers[i] = i
	}
	imp, err := TaylorImportance(m, calib, layers)
	if err != nil {
		return nil, err
	}
	nc := *c
	nc.IntermediateSize = keep
	out, err := decoder.Build(&nc, nn.Init{Empty: true})
	if err != nil {
		return nil, err
	}
	src, err := nn.ParamMap(m.Params())
	if err != nil {
		return nil, err
	}
	for _, l := range layers {
		units := slices.Clone(ByImportance(imp[l])[:keep])
		slices.Sort(units)
		f, err := nn.SubFFN(fmt.Sprintf("model.layers.%d.mlp", l), m.Layers[l].(*decoder.PreNorm).FFN, units, autograd.RoleMatrix, 1, 1)
		if err != nil {
			return nil, err
		}
		for _, p := range f.Params() {
			src[p.Name] = p
		}
	}
	if err := fill(out.Params(), src, nil); err != nil {
		return nil, err
	}
	return out, nil
}

func init() { Register("dense2moe", dense2moe{}) }
