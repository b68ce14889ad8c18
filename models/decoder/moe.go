package decoder

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"github.com/loomml/loom/nn"
)

// Mixture-of-experts decoders: Mixtral (MixtralForCausalLM, transformers'
// modeling_mixtral.py) and Qwen2-MoE (Qwen2MoeForCausalLM,
// modeling_qwen2_moe.py). Their feed-forward layers are nn.MoE (the one
// mixture WideNet, EMoE and Dense2MoE build on): a router over
// num_experts SwiGLU experts, the top num_experts_per_tok taken per token
// from the softmax, their weights renormalised (always in Mixtral;
// norm_topk_prob in Qwen2-MoE), and in Qwen2-MoE a shared expert scaled by
// σ(shared_expert_gate·x). loom's own names are Qwen2-MoE's
// (mlp.gate, mlp.experts.<j>.gate_proj, …, mlp.shared_expert,
// mlp.shared_expert_gate); a Mixtral checkpoint's block_sparse_moe and
// w1/w3/w2 are its layout (convert).
//
// In training the balance loss E·Σ f_e·P_e is weighted by
// router_aux_loss_coef (transformers adds it only with
// output_router_logits; loom always does in training: set the coefficient
// to 0 for none), and loom.moe adds what the Hugging Face classes do not
// have: a capacity factor, WideNet's router noise, the router z-loss.

// MoEFields are the config.json keys of the mixture-of-experts classes
// (Mixtral's num_local_experts is read as num_experts).
type MoEFields struct {
	NumExperts       int `json:"num_experts,omitempty"`
	NumExpertsPerTok int `json:"num_experts_per_tok,omitempty"`
	// MoEIntermediateSize is each expert's width (Qwen2-MoE; 0:
	// intermediate_size, Mixtral's experts).
	MoEIntermediateSize          int `json:"moe_intermediate_size,omitempty"`
	SharedExpertIntermediateSize int `json:"shared_expert_intermediate_size,omitempty"`
	// NormTopKProb renormalises the selected experts' weights to sum 1
	// (Qwen2-MoE; Mixtral always does).
	NormTopKProb *bool `json:"norm_topk_prob,omitempty"`
	// DecoderSparseStep and MLPOnlyLayers choose Qwen2-MoE's sparse
	// layers: layer i is a mixture unless i is in mlp_only_layers or
	// (i+1) is not a multiple of decoder_sparse_step.
	DecoderSparseStep int     `json:"decoder_sparse_step,omitempty"`
	MLPOnlyLayers     []int   `json:"mlp_only_layers,omitempty"`
	RouterAuxLossCoef float64 `json:"router_aux_loss_coef,omitempty"`
}

// MoEOptions are loom's training choices for a mixture (loom.moe).
type MoEOptions struct {
	// CapacityFactor limits each expert to int(tokens·cf·k/E) tokens per
	// training step, the rest dropped through the residual (0: dropless).
	CapacityFactor float64 `json:"capacity_factor,omitempty"`
	// EvalCapacityFactor does the same at inference (0, the default:
	// dropless, as the exported model computes).
	EvalCapacityFactor float64 `json:"eval_capacity_factor,omitempty"`
	// RouterNoise adds N(0, (1/E)²) to the router logits in training
	// (WideNet).
	RouterNoise bool `json:"router_noise,omitempty"`
	// ZLossCoef weights the router z-loss mean(logsumexp(logits)²) (ST-MoE).
	ZLossCoef float64 `json:"z_loss_coef,omitempty"`
	// Router is "softmax" (the default: a learned router, Mixtral's),
	// "keys" (EMoE's gate, the mean of each expert's keys, with weight 1:
	// nn.RouterKeys), as loom moefy --method emoe writes it, or "fixed"
	// (the router's weight as it is, untrained, with weight 1).
	Router string `json:"router,omitempty"`
}

// moeKeys are the MoEFields keys of each mixture class.
var moeKeys = map[string][]string{
	"mixtral": {"num_experts", "num_experts_per_tok", "router_aux_loss_coef"},
	// loom's extensions of Mixtral (moefy converting some layers only):
	// experts narrower than the dense layers' intermediate_size, and
	// dense layers. transformers' Mixtral has neither: such a model is
	// loom's own (Unexportable).
	"mixtral+":  {"moe_intermediate_size", "mlp_only_layers"},
	"qwen2_moe": {"num_experts", "num_experts_per_tok", "moe_intermediate_size", "shared_expert_intermediate_size", "norm_topk_prob", "decoder_sparse_step", "mlp_only_layers", "router_aux_loss_coef"},
}

func init() {
	architectures["mixtral"] = arch{class: "MixtralForCausalLM", gguf: true, moe: true,
		aliases: [][2]string{{"num_local_experts", "num_experts"}},
		// router_jitter_noise scales the hidden states by U(1−ε, 1+ε) in
		// training only; output_router_logits returns the router logits.
		tolerated: []string{"output_router_logits", "router_jitter_noise"},
		defaults: func(c *Config, present map[string]bool) { // MixtralConfig
			if !present["num_local_experts"] {
				c.NumExperts = 8
			}
			if !present["num_experts_per_tok"] {
				c.NumExpertsPerTok = 2
			}
			if !present["router_aux_loss_coef"] {
				c.RouterAuxLossCoef = 0.001
			}
			if !present["rope_theta"] {
				c.RopeTheta = 1e6
			}
			if !present["rms_norm_eps"] {
				c.RMSNormEps = 1e-5
			}
		},
	}
	architectures["qwen2_moe"] = arch{class: "Qwen2MoeForCausalLM", qkvBias: true, qwenWindows: true, moe: true,
		tolerated: []string{"output_router_logits"},
		defaults: func(c *Config, present map[string]bool) { // Qwen2MoeConfig
			for _, d := range []struct {
				key string
				v   *int
				def int
			}{{"num_experts", &c.NumExperts, 60}, {"num_experts_per_tok", &c.NumExpertsPerTok, 4},
				{"moe_intermediate_size", &c.MoEIntermediateSize, 1408}, {"shared_expert_intermediate_size", &c.SharedExpertIntermediateSize, 5632},
				{"decoder_sparse_step", &c.DecoderSparseStep, 1}} {
				if !present[d.key] {
					*d.v = d.def
				}
			}
			if !present["router_aux_loss_coef"] {
				c.RouterAuxLossCoef = 0.001
			}
			if c.NormTopKProb == nil {
				f := false
				c.NormTopKProb = &f
			}
		},
	}
}

// MoE reports whether the model has mixture-of-experts layers.
func (c *Config) MoE() bool { return c.arch().moe && c.NumExperts > 0 }

// MoEAt reports whether layer i's feed-forward network is a mixture.
func (c *Config) MoEAt(i int) bool {
	if !c.MoE() || slices.Contains(c.MLPOnlyLayers, i) {
		return false
	}
	step := max(c.DecoderSparseStep, 1)
	return (i+1)%step == 0
}

// ExpertSize returns the width of each routed expert.
func (c *Config) ExpertSize() int {
	if c.MoEIntermediateSize > 0 {
		return c.MoEIntermediateSize
	}
	return c.IntermediateSize
}

// MoESpec returns the mixture of c's sparse layers.
func (c *Config) MoESpec() *nn.MoESpec {
	o := MoEOptions{}
	if c.Loom.MoE != nil {
		o = *c.Loom.MoE
	}
	renorm := c.ModelType == "mixtral" || c.NormTopKProb != nil && *c.NormTopKProb
	return &nn.MoESpec{
		MoEConfig: nn.MoEConfig{Experts: c.NumExperts, TopK: c.NumExpertsPerTok, Capacity: o.CapacityFactor, EvalCapacity: o.EvalCapacityFactor,
			Renormalize: renorm, RouterNoise: o.RouterNoise, BalanceCoef: c.RouterAuxLossCoef, ZLossCoef: o.ZLossCoef, Router: o.Router},
		Expert: c.FFNName(), Shared: c.SharedExpertIntermediateSize, SharedGate: c.SharedExpertIntermediateSize > 0,
	}
}

// validateMoE checks the mixture keys: only a mixture class has them, each
// only its own, and every value in range; errors name the key.
func (c *Config) validateMoE() error {
	set := map[string]bool{
		"num_experts": c.NumExperts != 0, "num_experts_per_tok": c.NumExpertsPerTok != 0,
		"moe_intermediate_size": c.MoEIntermediateSize != 0, "shared_expert_intermediate_size": c.SharedExpertIntermediateSize != 0,
		"norm_topk_prob": c.NormTopKProb != nil, "decoder_sparse_step": c.DecoderSparseStep != 0,
		"mlp_only_layers": c.MLPOnlyLayers != nil, "router_aux_loss_coef": c.RouterAuxLossCoef != 0, "loom.moe": c.Loom.MoE != nil,
	}
	allowed := slices.Concat(moeKeys[c.ModelType], moeKeys[c.ModelType+"+"])
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k, v := range set {
			if v && !yield(k) {
				return
			}
		}
	}) {
		if k == "loom.moe" && c.arch().moe || slices.Contains(allowed, k) {
			continue
		}
		if !c.arch().moe {
			return fmt.Errorf("%s: mixture-of-experts layers are model_type mixtral or qwen2_moe, not %s", k, c.modelTypeName())
		}
		return fmt.Errorf("%q is not a key of %s", k, c.arch().class)
	}
	if c.FFNName() == "moe" {
		return fmt.Errorf("loom.ffn is \"moe\": a mixture of experts is model_type mixtral or qwen2_moe with num_experts, and loom.ffn names the kind of each expert (%q by default)", DefaultFFN)
	}
	if !c.arch().moe {
		return nil
	}
	switch {
	case c.NumExperts < 1:
		return fmt.Errorf("num_experts is %d, want at least 1", c.NumExperts)
	case c.NumExpertsPerTok < 1 || c.NumExpertsPerTok > c.NumExperts:
		return fmt.Errorf("num_experts_per_tok is %d with %d experts, want 1 … %d", c.NumExpertsPerTok, c.NumExperts, c.NumExperts)
	case c.MoEIntermediateSize < 0 || c.SharedExpertIntermediateSize < 0:
		return fmt.Errorf("moe_intermediate_size (%d) and shared_expert_intermediate_size (%d) must not be negative", c.MoEIntermediateSize, c.SharedExpertIntermediateSize)
	case c.DecoderSparseStep < 0:
		return fmt.Errorf("decoder_sparse_step is %d, want a positive integer", c.DecoderSparseStep)
	case !(c.RouterAuxLossCoef >= 0):
		return fmt.Errorf("router_aux_loss_coef is %v, want ≥ 0", c.RouterAuxLossCoef)
	}
	for _, l := range c.MLPOnlyLayers {
		if l < 0 || l >= c.NumHiddenLayers {
			return fmt.Errorf("mlp_only_layers lists layer %d of %d", l, c.NumHiddenLayers)
		}
	}
	if o := c.Loom.MoE; o != nil {
		for _, f := range []struct {
			key string
			v   float64
		}{{"loom.moe.capacity_factor", o.CapacityFactor}, {"loom.moe.eval_capacity_factor", o.EvalCapacityFactor}, {"loom.moe.z_loss_coef", o.ZLossCoef}} {
			if f.v < 0 || math.IsNaN(f.v) || math.IsInf(f.v, 0) {
				return fmt.Errorf("%s is %v, want a positive number (or 0: %s)", f.key, f.v, map[bool]string{true: "none", false: "dropless"}[f.key == "loom.moe.z_loss_coef"])
			}
		}
	}
	if o := c.Loom.MoE; o != nil && o.Router != "" && o.Router != nn.RouterSoftmax && o.Router != nn.RouterKeys && o.Router != nn.RouterFixed {
		return fmt.Errorf("loom.moe.router is %q, want %q, %q or %q", o.Router, nn.RouterSoftmax, nn.RouterKeys, nn.RouterFixed)
	}
	if c.Loom.MatFormer != nil || len(c.Loom.IntermediateSizes) > 0 {
		return fmt.Errorf("loom.matformer/loom.intermediate_sizes: nested or per-layer FFN widths are not implemented for mixtures")
	}
	return nil
}

// moeJSON writes every mixture key of c's class into config.json b, zero
// values too: an absent key means the class's default, not loom's zero.
func (c *Config) moeJSON(b []byte) []byte {
	if !c.arch().moe {
		return b
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return b
	}
	renorm := c.MoESpec().Renormalize
	mlpOnly := c.MLPOnlyLayers
	if mlpOnly == nil {
		mlpOnly = []int{}
	}
	vals := map[string]any{"num_experts": c.NumExperts, "num_experts_per_tok": c.NumExpertsPerTok,
		"moe_intermediate_size": c.ExpertSize(), "shared_expert_intermediate_size": c.SharedExpertIntermediateSize,
		"norm_topk_prob": renorm, "decoder_sparse_step": max(c.DecoderSparseStep, 1), "mlp_only_layers": mlpOnly,
		"router_aux_loss_coef": c.RouterAuxLossCoef}
	for _, k := range moeKeys[c.ModelType] { // Mixtral's extensions keep their omitempty form
		m[k], _ = json.Marshal(vals[k])
	}
	r, _ := json.MarshalIndent(m, "", "  ")
	return r
}

// modelTypeName is model_type, "llama" when unset.
func (c *Config) modelTypeName() string {
	if c.ModelType == "" {
		return "llama"
	}
	return c.ModelType
}

func init() {
	RegisterOption(Option{Key: "loom.moe",
		Validate: (*Config).validateMoE,
		Unsupported: func(c *Config, f Format) string {
			if o := c.Loom.MoE; o != nil && o.EvalCapacityFactor > 0 {
				return fmt.Sprintf("loom.moe.eval_capacity_factor=%v (the exported model is dropless)", o.EvalCapacityFactor)
			}
			if o := c.Loom.MoE; o != nil && (o.Router == nn.RouterKeys || o.Router == nn.RouterFixed) {
				return "loom.moe.router=" + o.Router + " (experts weighted 1; Mixtral weights them by a softmax)"
			}
			if c.ModelType == "mixtral" && (c.MoEIntermediateSize > 0 || len(c.MLPOnlyLayers) > 0) {
				return "moe_intermediate_size/mlp_only_layers (Mixtral has neither)"
			}
			return ""
		}})
}
