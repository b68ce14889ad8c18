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
	"strings"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/data"
	"github.com/loomml/loom/internal/registry"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// A Method partitions a dense FFN's hidden units into experts.
type Method interface {
	// Partition divides the hidden units of in.FFN into in.Experts groups
	// of equal size (and in.Shared units of a shared expert, for a method
	// that makes one), returning the cost the method minimised (0 if
	// none).
	Partition(in Input) (nn.Split, float64, error)
	// Router is the router the method's experts are used with by
	// default (nn.RouterKeys for EMoE).
	Router() string
}

// Input is what a Method partitions.
type Input struct {
	FFN             nn.FFN
	Layer           int
	Experts, Shared int
	RNG             *tensor.RNG
	Importance      []float64 // per hidden unit (Options.Calib's Taylor importance; nil without)
}

// importanceMethod is a Method that needs calibration data.
type importanceMethod interface{ NeedsImportance() bool }

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
	// Shared is the number of hidden units of the shared expert (methods
	// that make one: dense2moe; 0: none). The output is then a Qwen2-MoE,
	// its shared expert gated as Qwen2-MoE's (starting at exactly 1).
	Shared int
	// Calib are the batches the Taylor importance is measured on
	// (dense2moe).
	Calib []data.Batch
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
	case o.Shared < 0:
		return nil, nil, fmt.Errorf("--shared %d, want ≥ 0", o.Shared)
	}
	im, _ := meth.(importanceMethod)
	needsImp := im != nil && im.NeedsImportance()
	if needsImp && len(o.Calib) == 0 {
		return nil, nil, fmt.Errorf("--method %s needs calibration data (its Taylor importance)", o.Method)
	}
	if o.Shared > 0 && !needsImp {
		return nil, nil, fmt.Errorf("--shared: --method %s makes no shared expert (dense2moe does)", o.Method)
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
		if o.Shared >= H {
			return nil, nil, fmt.Errorf("--shared %d: layer %d has %d hidden units", o.Shared, l, H)
		}
		if (H-o.Shared)%o.Experts != 0 {
			return nil, nil, fmt.Errorf("--experts %d does not divide layer %d's %d hidden units (less %d shared)", o.Experts, l, H, o.Shared)
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
	width := (H - o.Shared) / o.Experts
	if len(layers) == N && o.Shared == 0 {
		nc.IntermediateSize = width
	} else {
		nc.MoEIntermediateSize = width
		for l := range N {
			if !slices.Contains(layers, l) {
				nc.MLPOnlyLayers = append(nc.MLPOnlyLayers, l)
			}
		}
	}
	if o.Shared > 0 {
		// Qwen2-MoE: shared experts; its q, k and v biases start at 0.
		renorm := true
		nc.ModelType, nc.SharedExpertIntermediateSize, nc.NormTopKProb, nc.DecoderSparseStep = "qwen2_moe", o.Shared, &renorm, 1
		if nc.MLPOnlyLayers == nil {
			nc.MLPOnlyLayers = []int{}
		}
		if w := c.Window(); w > 0 {
			use, from := true, 0
			nc.UseSlidingWindow, nc.MaxWindowLayers = &use, &from
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
	var imp map[int][]float64
	if needsImp {
		if imp, err = TaylorImportance(m, o.Calib, layers); err != nil {
			return nil, nil, err
		}
	}
	for _, l := range layers {
		split, cost, err := meth.Partition(Input{FFN: ffns[l], Layer: l, Experts: o.Experts, Shared: o.Shared, RNG: rng, Importance: imp[l]})
		if err != nil {
			return nil, nil, fmt.Errorf("layer %d: %w", l, err)
		}
		split.SharedGate = o.Shared > 0
		prefix := fmt.Sprintf("model.layers.%d.mlp", l)
		moe, err := nn.SplitFFN(prefix, ffns[l], split, spec)
		if err != nil {
			return nil, nil, err
		}
		setRouter(moe, router, c.InitializerRange, rng)
		for _, p := range moe.Params() {
			src[p.Name] = p
		}
		rep.addLayer(l, width, ffns[l], moe, cost)
	}
	// Qwen2-MoE's q, k and v biases, which the source has none of, start at 0.
	zero := func(name string) bool { return o.Shared > 0 && isQKVBias(name) }
	if err := fill(out.Params(), src, zero); err != nil {
		return nil, nil, err
	}
	return out, rep, nil
}

// setRouter gives a new mixture's router its starting gate: EMoE's mean
// keys, or random rows (N(0, std²) for a router to train, N(0, 1/D) for a
// fixed one, whose scores then have unit scale).
func setRouter(moe *nn.MoE, router string, std float64, rng *tensor.RNG) {
	if router == nn.RouterKeys {
		moe.UpdateKeyGate()
		return
	}
	E, D := moe.Router.Weight.Dim(0), moe.Router.Weight.Dim(1)
	if router == nn.RouterFixed {
		std = 1 / math.Sqrt(float64(D))
	}
	moe.Router.Weight.Value = tensor.Normal(rng, 0, std, E, D)
}

// addLayer reports a converted layer: dense, its FFN before, moe after.
func (r *Report) addLayer(layer, width int, dense nn.FFN, moe *nn.MoE, cost float64) {
	r.Layers = append(r.Layers, LayerInfo{Layer: layer, ExpertSize: width, Cost: cost})
	r.DenseFFNParams += autograd.NumParams(dense.Params())
	r.ActiveFFNParams += autograd.NumParams(moe.Experts[0].Params())*r.TopK + autograd.NumParams(moe.Router.Params())
	if moe.Shared != nil {
		r.ActiveFFNParams += autograd.NumParams(moe.Shared.Params())
	}
	if moe.SharedGate != nil {
		r.ActiveFFNParams += autograd.NumParams(moe.SharedGate.Params())
	}
}

// fill gives every parameter of out a copy of the value of src's
// parameter of its name and shape (so that the source model stays as it
// was when the new one trains), zeros for the names zero accepts (nil:
// none); a parameter without a source is an error naming it.
func fill(out []*autograd.Var, src map[string]*autograd.Var, zero func(name string) bool) error {
	for _, p := range out {
		s, ok := src[p.Name]
		if !ok && zero != nil && zero(p.Name) {
			p.Value = tensor.Zeros(p.Shape()...)
			continue
		}
		if !ok || !tensor.EqualShape(s.Shape(), p.Shape()) {
			return fmt.Errorf("moefy: no parameter %s %v to fill the new model's with", p.Name, p.Shape())
		}
		p.Value = s.Value.Clone()
	}
	return nil
}

// gradImportance runs backward (the caller's calibration passes) on fresh
// gradients of params and returns the Taylor importance of each of ffns'
// hidden units (UnitImportance), leaving the gradients cleared.
func gradImportance(params []*autograd.Var, backward func(), ffns map[int]nn.FFN) (map[int][]float64, error) {
	clearGrads := func() {
		for _, p := range params {
			p.Grad = nil
		}
	}
	clearGrads()
	defer clearGrads()
	backward()
	out := map[int][]float64{}
	for l, f := range ffns {
		s, err := UnitImportance(f)
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", l, err)
		}
		out[l] = s
	}
	return out, nil
}

// isQKVBias reports whether name is a q, k or v projection's bias.
func isQKVBias(name string) bool {
	for _, p := range []string{".self_attn.q_proj.bias", ".self_attn.k_proj.bias", ".self_attn.v_proj.bias"} {
		if strings.HasSuffix(name, p) {
			return true
		}
	}
	return false
}
