package moefy

import (
	"fmt"
	"slices"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/models/dit"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// ConvertDiT is Convert for a diffusion transformer (the setting of
// Dense2MoE): every block's MLP split by o.Method into o.Experts experts
// (and o.Shared units of a shared expert), o.TopK per token; the Taylor
// importance, when the method needs it, is of the noise-prediction loss on
// calib (timesteps and noise drawn from o.Seed). m is unchanged.
func ConvertDiT(m *dit.Model, o Options, calib []dit.Batch) (*dit.Model, *Report, error) {
	meth, err := methods.Get(o.Method)
	if err != nil {
		return nil, nil, fmt.Errorf("--method: %w", err)
	}
	if m.Cfg.MoE != nil {
		return nil, nil, fmt.Errorf("the DiT is already a mixture of experts")
	}
	if o.Experts < 1 || o.TopK < 1 || o.TopK > o.Experts || o.Shared < 0 {
		return nil, nil, fmt.Errorf("--experts %d, --top-k %d, --shared %d: want 1 ≤ k ≤ E and shared ≥ 0", o.Experts, o.TopK, o.Shared)
	}
	H := int(float64(m.Cfg.Hidden) * m.Cfg.MLPRatio)
	if o.Shared >= H || (H-o.Shared)%o.Experts != 0 {
		return nil, nil, fmt.Errorf("--experts %d does not divide the MLP's %d hidden units (less %d shared)", o.Experts, H, o.Shared)
	}
	router := o.Router
	if router == "" {
		router = meth.Router()
	}
	im, _ := meth.(importanceMethod)
	needsImp := im != nil && im.NeedsImportance()
	var imp map[int][]float64
	if needsImp {
		if len(calib) == 0 {
			return nil, nil, fmt.Errorf("--method %s needs calibration data (its Taylor importance)", o.Method)
		}
		if imp, err = ditImportance(m, calib, o.Seed); err != nil {
			return nil, nil, err
		}
	} else if o.Shared > 0 {
		return nil, nil, fmt.Errorf("--shared: --method %s makes no shared expert (dense2moe does)", o.Method)
	}
	width := (H - o.Shared) / o.Experts
	nc := m.Cfg
	nc.MoE = &dit.MoEConfig{Experts: o.Experts, TopK: o.TopK, ExpertSize: width, SharedSize: o.Shared, Router: router}
	if router == nn.RouterSoftmax {
		nc.MoE.BalanceCoef, nc.MoE.Router = 0.01, ""
	}
	out, err := dit.New(nc, o.Seed)
	if err != nil {
		return nil, nil, err
	}
	src, err := nn.ParamMap(m.Params())
	if err != nil {
		return nil, nil, err
	}
	rep := &Report{Method: o.Method, Router: router, Experts: o.Experts, TopK: o.TopK}
	rng := tensor.NewRNG(o.Seed)
	for l, b := range m.Blocks {
		split, cost, err := meth.Partition(Input{FFN: b.MLP, Layer: l, Experts: o.Experts, Shared: o.Shared, RNG: rng, Importance: imp[l]})
		if err != nil {
			return nil, nil, fmt.Errorf("block %d: %w", l, err)
		}
		split.SharedGate = o.Shared > 0
		moe, err := nn.SplitFFN(fmt.Sprintf("blocks.%d.mlp", l), b.MLP, split, out.Blocks[l].MLP.(*nn.MoE).Cfg)
		if err != nil {
			return nil, nil, err
		}
		setRouter(moe, router, 0.02, rng) // DiT's initialisation σ
		for _, p := range moe.Params() {
			src[p.Name] = p
		}
		rep.addLayer(l, width, b.MLP, moe, cost)
	}
	if err := fill(out.Params(), src, nil); err != nil {
		return nil, nil, err
	}
	return out, rep, nil
}

// ditImportance is the Taylor importance of every block's MLP units for
// the noise-prediction loss on calib (timesteps and noise from seed).
func ditImportance(m *dit.Model, calib []dit.Batch, seed uint64) (map[int][]float64, error) {
	ffns := map[int]nn.FFN{}
	for l, b := range m.Blocks {
		ffns[l] = b.MLP
	}
	rng := tensor.NewRNG(seed)
	return gradImportance(m.Params(), func() {
		for _, b := range calib {
			autograd.MulScalar(m.Loss(nil, b.X, b.Y, rng), 1/float64(len(calib))).Backward()
		}
	}, ffns)
}

// TaylorPruneDiT returns m with every block's MLP cut to its keep hidden
// units of largest Taylor importance on calib (the noise-prediction loss,
// draws from seed): the structured-pruning baseline of Dense2MoE in its own
// setting. The pruned MLP's width keep must be one the MLP ratio can
// express over the hidden size (the DiT's MLP width is
// int(hidden·mlp_ratio)). m is unchanged.
func TaylorPruneDiT(m *dit.Model, calib []dit.Batch, keep int, seed uint64) (*dit.Model, error) {
	c := m.Cfg
	if c.MoE != nil {
		return nil, fmt.Errorf("Taylor pruning takes a dense DiT")
	}
	H := int(float64(c.Hidden) * c.MLPRatio)
	if keep < 1 || keep > H || len(calib) == 0 {
		return nil, fmt.Errorf("keep %d of %d MLP units with %d calibration batches", keep, H, len(calib))
	}
	nc := c
	nc.MLPRatio = float64(keep) / float64(c.Hidden)
	if int(float64(nc.Hidden)*nc.MLPRatio) != keep {
		return nil, fmt.Errorf("keep %d units: not a width the MLP ratio can express over hidden %d", keep, c.Hidden)
	}
	imp, err := ditImportance(m, calib, seed)
	if err != nil {
		return nil, err
	}
	out, err := dit.New(nc, seed)
	if err != nil {
		return nil, err
	}
	src, err := nn.ParamMap(m.Params())
	if err != nil {
		return nil, err
	}
	for l, b := range m.Blocks {
		units := append([]int(nil), ByImportance(imp[l])[:keep]...)
		slices.Sort(units)
		f, err := nn.SubFFN(fmt.Sprintf("blocks.%d.mlp", l), b.MLP, units, autograd.RoleMatrix, 1, 1)
		if err != nil {
			return nil, err
		}
		sub := f.(*nn.MLP) // the DiT's names: fc1, fc2
		for name, p := range map[string]*autograd.Var{"fc1.weight": sub.Up.(*nn.Linear).Weight, "fc1.bias": sub.Up.(*nn.Linear).Bias,
			"fc2.weight": sub.Down.(*nn.Linear).Weight, "fc2.bias": sub.Down.(*nn.Linear).Bias} {
			src[fmt.Sprintf("blocks.%d.mlp.%s", l, name)] = p
		}
	}
	if err := fill(out.Params(), src, nil); err != nil {
		return nil, err
	}
	return out, nil
}
