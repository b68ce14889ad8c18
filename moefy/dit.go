package moefy

import (
	"fmt"

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
	imp := map[int][]float64{}
	if needsImp {
		if len(calib) == 0 {
			return nil, nil, fmt.Errorf("--method %s needs calibration data (its Taylor importance)", o.Method)
		}
		params := m.Params()
		rng := tensor.NewRNG(o.Seed)
		for _, b := range calib {
			autograd.MulScalar(m.Loss(nil, b.X, b.Y, rng), 1/float64(len(calib))).Backward()
		}
		for l, b := range m.Blocks {
			if imp[l], err = UnitImportance(b.MLP); err != nil {
				return nil, nil, fmt.Errorf("block %d: %w", l, err)
			}
		}
		for _, p := range params {
			p.Grad = nil
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
		if router == nn.RouterKeys {
			moe.UpdateKeyGate()
		} else {
			moe.Router.Weight.Value = tensor.Normal(rng, 0, 0.02, o.Experts, m.Cfg.Hidden)
		}
		for _, p := range moe.Params() {
			src[p.Name] = p
		}
		rep.Layers = append(rep.Layers, LayerInfo{Layer: l, ExpertSize: width, Cost: cost})
		rep.DenseFFNParams += autograd.NumParams(b.MLP.Params())
		rep.ActiveFFNParams += autograd.NumParams(moe.Experts[0].Params())*o.TopK + autograd.NumParams(moe.Router.Params())
		if moe.Shared != nil { // with its gate (SplitFFN makes one with every shared expert)
			rep.ActiveFFNParams += autograd.NumParams(moe.Shared.Params()) + autograd.NumParams(moe.SharedGate.Params())
		}
	}
	for _, p := range out.Params() {
		s, ok := src[p.Name]
		if !ok || !tensor.EqualShape(s.Shape(), p.Shape()) {
			return nil, nil, fmt.Errorf("moefy: no parameter %s %v to fill the mixture's with", p.Name, p.Shape())
		}
		p.Value = s.Value.Clone()
	}
	return out, rep, nil
}
