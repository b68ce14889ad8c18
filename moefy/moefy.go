// Package moefy turns the dense feed-forward layers of a trained decoder
// into mixtures of experts without training anything new: EMoE
// ("Unlocking Emergent Modularity in Large Language Models", arXiv
// 2310.10908; official code qiuzh20/EMoE, Language/moe_utils.py) and the
// random partition it is compared with. Each method is a Method registered
// by name; Convert applies one to chosen layers and returns a Mixtral
// (model_type mixtral) whose converted layers are nn.MoE made by
// nn.SplitFFN.
package moefy

import (
	"fmt"
	"math"
	"slices"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/internal/registry"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// A Method partitions a dense FFN's hidden units into experts.
type Method interface {
	// Partition returns e groups of equal size partitioning the hidden
	// units of f (of layer layer), and the cost the method minimised (0
	// if none).
	Partition(f nn.FFN, layer, e int, rng *tensor.RNG) ([][]int, float64, error)
	// Router is the router the method's experts are used with by
	// default (nn.RouterKeys for EMoE).
	Router() string
}

var methods = registry.New[Method]("moefy method")

// Register makes a method selectable by name (from init).
func Register(name string, m Method) { methods.Register(name, m) }

// Methods lists the registered methods.
func Methods() []string { return methods.Names() }

// Options say what to convert and how.
type Options struct {
	Method        string
	Experts, TopK int
	// Layers are the layers to convert (nil: the method's default, the
	// layer before the last, as the official EMoE examples convert layer
	// 10 of BERT-base's 12).
	Layers []int
	// Router overrides the method's router: nn.RouterKeys (EMoE's key
	// gate), nn.RouterFixed (a fixed random gate, weight 1) or
	// nn.RouterSoftmax (a learned router, randomly initialised, to be
	// trained).
	Router string
	Seed   uint64
}

// Report says what Convert did.
type Report struct {
	Method        string      `json:"method"`
	Router        string      `json:"router"`
	Experts, TopK int         `json:"-"`
	Layers        []LayerInfo `json:"layers"`
	// FFNParams are the feed-forward parameters of the converted layers
	// before, and the active ones per token after (k of E experts).
	DenseFFNParams  int `json:"dense_ffn_params"`
	ActiveFFNParams int `json:"active_ffn_params"`
}

// LayerInfo is one converted layer.
type LayerInfo struct {
	Layer      int     `json:"layer"`
	ExpertSize int     `json:"expert_size"`
	Cost       float64 `json:"cost,omitempty"` // the partition's clustering cost
}

// Convert returns m with the FFNs of o.Layers split into o.Experts experts
// by o.Method, o.TopK routed per token, as a Mixtral (converting every
// layer gives a model transformers' MixtralForCausalLM computes, when the
// router is a softmax; loom's own otherwise). m is left unchanged.
func Convert(m *decoder.Model, o Options) (*decoder.Model, *Report, error) {
	meth, err := methods.Get(o.Method)
	if err != nil {
		return nil, nil, fmt.Errorf("--method: %w", err)
	}
	c := m.Config
	switch {
	case c.MoE():
		return nil, nil, fmt.Errorf("the model is already a mixture of experts (model_type %s)", c.ModelType)
	case c.ModelType != "" && c.ModelType != "llama" && c.ModelType != "mistral":
		return nil, nil, fmt.Errorf("model_type %s: moefy converts llama and mistral models (their mixture is Mixtral)", c.ModelType)
	case c.LayoutName() != decoder.DefaultLayout:
		return nil, nil, fmt.Errorf("loom.layout %s: moefy converts %s blocks (Mixtral's)", c.LayoutName(), decoder.DefaultLayout)
	case o.Experts < 1:
		return nil, nil, fmt.Errorf("--experts %d, want at least 1", o.Experts)
	case o.TopK < 1 || o.TopK > o.Experts:
		return nil, nil, fmt.Errorf("--top-k %d with %d experts, want 1 … %d", o.TopK, o.Experts, o.Experts)
	}
	N := c.NumHiddenLayers
	layers := slices.Clone(o.Layers)
	if layers == nil {
		layers = []int{max(N-2, 0)}
	}
	slices.Sort(layers)
	layers = slices.Compact(layers)
	router := o.Router
	if router == "" {
		router = meth.Router()
	}
	if router != nn.RouterKeys && router != nn.RouterFixed && router != nn.RouterSoftmax {
		return nil, nil, fmt.Errorf("--router %q, want %s, %s or %s", router, nn.RouterKeys, nn.RouterFixed, nn.RouterSoftmax)
	}
	H := 0
	ffns := map[int]nn.FFN{}
	for _, l := range layers {
		if l < 0 || l >= N {
			return nil, nil, fmt.Errorf("--layers: layer %d of a %d-layer model", l, N)
		}
		b, ok := m.Layers[l].(*decoder.PreNorm)
		if !ok || b.FFN == nil {
			return nil, nil, fmt.Errorf("--layers: layer %d has no feed-forward network to convert (removed)", l)
		}
		h := c.IntermediateSizeAt(l)
		if H != 0 && h != H {
			return nil, nil, fmt.Errorf("--layers: layers of different FFN widths (%d, %d)", H, h)
		}
		H = h
		if H%o.Experts != 0 {
			return nil, nil, fmt.Errorf("--experts %d does not divide layer %d's %d hidden units", o.Experts, l, H)
		}
		ffns[l] = b.FFN
	}
	nc := *c
	nc.ModelType, nc.Architectures = "mixtral", nil
	nc.NumExperts, nc.NumExpertsPerTok = o.Experts, o.TopK
	nc.RouterAuxLossCoef = 0
	if router == nn.RouterSoftmax {
		nc.RouterAuxLossCoef = 0.01
	}
	if len(layers) == N {
		nc.IntermediateSize = H / o.Experts
	} else {
		nc.MoEIntermediateSize = H / o.Experts
		for l := range N {
			if !slices.Contains(layers, l) {
				nc.MLPOnlyLayers = append(nc.MLPOnlyLayers, l)
			}
		}
	}
	if router != nn.RouterSoftmax {
		nc.Loom.MoE = &decoder.MoEOptions{Router: router}
	}
	out, err := decoder.Build(&nc, nn.Init{Empty: true})
	if err != nil {
		return nil, nil, err
	}
	src, err := nn.ParamMap(m.Params())
	if err != nil {
		return nil, nil, err
	}
	rep := &Report{Method: o.Method, Router: router, Experts: o.Experts, TopK: o.TopK}
	rng := tensor.NewRNG(o.Seed)
	spec := nc.MoESpec().MoEConfig
	for _, l := range layers {
		groups, cost, err := meth.Partition(ffns[l], l, o.Experts, rng)
		if err != nil {
			return nil, nil, fmt.Errorf("layer %d: %w", l, err)
		}
		prefix := fmt.Sprintf("model.layers.%d.mlp", l)
		moe, err := nn.SplitFFN(prefix, ffns[l], groups, spec)
		if err != nil {
			return nil, nil, err
		}
		switch router {
		case nn.RouterKeys:
			moe.UpdateKeyGate()
		default: // a random gate, fixed or to be trained
			D := c.HiddenSize
			std := c.InitializerRange
			if router == nn.RouterFixed {
				std = 1 / math.Sqrt(float64(D))
			}
			moe.Router.Weight.Value = tensor.Normal(rng, 0, std, o.Experts, D)
		}
		for _, p := range moe.Params() {
			src[p.Name] = p
		}
		rep.Layers = append(rep.Layers, LayerInfo{Layer: l, ExpertSize: H / o.Experts, Cost: cost})
		rep.DenseFFNParams += autograd.NumParams(ffns[l].Params())
		rep.ActiveFFNParams += autograd.NumParams(moe.Experts[0].Params())*o.TopK + autograd.NumParams(moe.Router.Params())
	}
	for _, p := range out.Params() {
		s, ok := src[p.Name]
		if !ok || !tensor.EqualShape(s.Shape(), p.Shape()) {
			return nil, nil, fmt.Errorf("moefy: no parameter %s %v to fill the mixture's with", p.Name, p.Shape())
		}
		p.Value = s.Value.Clone() // m stays as it was when the mixture trains
	}
	return out, rep, nil
}
