package nn

import (
	"fmt"
	"math"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/tensor"
)

// MoE is a mixture-of-experts feed-forward layer, the one every mixture
// paper in loom builds on (WideNet, arXiv 2107.11817; EMoE, arXiv
// 2310.10908; Dense2MoE, arXiv 2510.09094), with the conventions of
// GShard/Switch (arXiv 2006.16668, 2101.03961), Mixtral and Qwen2-MoE:
//
//	logits = x·W_rᵀ (+ N(0, (1/E)²) noise in training, WideNet's)
//	p = softmax(logits);  (w, e) = top-k(p)  (w renormalised to sum 1 when Renormalize: Mixtral; not: Qwen2-MoE's norm_topk_prob false)
//	y = Σ_j w_j·Expert_{e_j}(x)  (+ Shared(x), times σ(x·w_s) with a shared gate: Qwen2-MoE)
//
// With a capacity factor cf > 0 each expert takes at most
// int(tokens·cf·k/E) tokens, first come (token order, then slot order);
// the slots of tokens over capacity are dropped (they contribute 0 and the
// block's residual carries the token). cf = 0 is dropless. Capacity limits
// training passes; evaluation uses EvalCapacity (0, the default: dropless,
// as Mixtral and Qwen2-MoE compute, so that exports compute what loom does).
//
// Tokens are grouped by expert and each expert runs once over its tokens
// (one GEMM per projection), not once per token. In training (ForwardCtx
// with an auxiliary-loss sink) it records Switch's balance loss
// E·Σ_e f_e·P_e (f_e the fraction of routed slots sent to expert e, P_e
// its mean probability) weighted by BalanceCoef, and the router z-loss
// mean(logsumexp(logits)²) weighted by ZLossCoef; Stats holds the last
// pass's load per expert and fraction of slots dropped.
type MoE struct {
	Router  *Linear // [E, D], no bias, autograd.RoleRouter
	Experts []FFN
	// Shared is an expert every token goes through (nil: none); SharedGate,
	// when set, scales it by σ(x·w) per token ([1, D]).
	Shared     FFN
	SharedGate *Linear
	Cfg        MoEConfig
	Stats      MoEStats

	// keysOf are the experts' key tensors the key gate was last computed
	// from, and keysStale whether a training pass (after which the
	// optimizer changes them in place) came since.
	keysOf    []*tensor.Tensor
	keysStale bool
}

// MoEConfig says how a mixture routes.
type MoEConfig struct {
	Experts, TopK int
	// Capacity is the capacity factor cf of training passes (0:
	// dropless); EvalCapacity that of evaluation (0: dropless).
	Capacity     float64
	EvalCapacity float64
	Renormalize  bool    // renormalise the selected probabilities to sum 1
	RouterNoise  bool    // add N(0, (1/E)²) to the logits in training (WideNet)
	BalanceCoef  float64 // α of the balance loss (0: not recorded)
	ZLossCoef    float64 // β of the router z-loss (0: not recorded)
	// Router is how experts are scored and weighted: "" (RouterSoftmax,
	// the learned router above), RouterKeys (EMoE) or RouterFixed.
	Router string
}

// The routers of MoEConfig.Router.
const (
	RouterSoftmax = "softmax"
	// RouterKeys is EMoE's gate (arXiv 2310.10908): expert e's gate
	// vector g_e is the mean of its keys (the rows of its first projection,
	// the gate projection of a gated FFN), recomputed from the experts
	// before every pass and never trained; tokens go to the k experts of
	// largest x·g_e, each with weight 1.
	RouterKeys = "keys"
	// RouterFixed scores by the router's weight as it is, never trained,
	// each selected expert with weight 1 (EMoE's ablation with a random
	// gate).
	RouterFixed = "fixed"
)

// MoEStats are the last forward pass's routing statistics.
type MoEStats struct {
	Load    []int   // slots routed to each expert (after capacity)
	Dropped float64 // fraction of the tokens' k slots dropped by capacity
}

// Validate checks the routing settings; errors name the setting.
func (c MoEConfig) Validate() error {
	switch {
	case c.Experts < 1:
		return fmt.Errorf("moe: %d experts, want at least 1", c.Experts)
	case c.TopK < 1 || c.TopK > c.Experts:
		return fmt.Errorf("moe: top-k %d with %d experts, want 1 … %d", c.TopK, c.Experts, c.Experts)
	case c.Capacity < 0 || math.IsNaN(c.Capacity):
		return fmt.Errorf("moe: capacity factor %v, want > 0 (or 0: dropless)", c.Capacity)
	case c.Router != "" && c.Router != RouterSoftmax && c.Router != RouterKeys && c.Router != RouterFixed:
		return fmt.Errorf("moe: router %q, want %q, %q or %q", c.Router, RouterSoftmax, RouterKeys, RouterFixed)
	case c.EvalCapacity < 0 || math.IsNaN(c.EvalCapacity):
		return fmt.Errorf("moe: evaluation capacity factor %v, want > 0 (or 0: dropless)", c.EvalCapacity)
	case math.IsNaN(c.BalanceCoef) || c.BalanceCoef < 0 || math.IsNaN(c.ZLossCoef) || c.ZLossCoef < 0:
		return fmt.Errorf("moe: balance coefficient %v and z-loss coefficient %v, want ≥ 0", c.BalanceCoef, c.ZLossCoef)
	}
	return nil
}

// NewMoE builds a mixture of c.Experts experts of kind expert (a
// registered FFN, e.g. "gated") named <prefix>.experts.<i>, a router
// <prefix>.gate, and, when shared > 0, a shared expert of that width
// (<prefix>.shared_expert, gated by <prefix>.shared_expert_gate when
// sharedGate): Qwen2-MoE's names. Expert matrices take
// autograd.RoleExpert.
func NewMoE(prefix string, fc FFNConfig, expert string, c MoEConfig, shared int, sharedGate bool) (*MoE, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", prefix, err)
	}
	m := &MoE{Cfg: c}
	m.Router = NewLinear(Join(prefix, "gate"), fc.Dim, c.Experts, false, fc.Init)
	m.Router.Weight.Role = autograd.RoleRouter
	for i := range c.Experts {
		ec := fc
		ec.Prefix = Join(prefix, "experts", fmt.Sprint(i))
		e, err := NewFFN(expert, ec)
		if err != nil {
			return nil, err
		}
		for _, p := range e.Params() {
			if p.Role == autograd.RoleMatrix {
				p.Role = autograd.RoleExpert
			}
		}
		if c.Router == RouterKeys {
			if _, err := FFNKeys(e); err != nil { // the gate is read from them at every pass
				return nil, fmt.Errorf("%s: router %q: %w", prefix, RouterKeys, err)
			}
		}
		m.Experts = append(m.Experts, e)
	}
	if shared > 0 {
		sc := fc
		sc.Prefix, sc.Hidden = Join(prefix, "shared_expert"), shared
		s, err := NewFFN(expert, sc)
		if err != nil {
			return nil, err
		}
		m.Shared = s
		if sharedGate {
			m.SharedGate = NewLinear(Join(prefix, "shared_expert_gate"), fc.Dim, 1, false, fc.Init)
		}
	}
	return m, nil
}

// Params returns the router's, the experts', then the shared expert's
// parameters.
func (m *MoE) Params() []*autograd.Var {
	ps := m.Router.Params()
	for _, e := range m.Experts {
		ps = append(ps, e.Params()...)
	}
	if m.Shared != nil {
		ps = append(ps, m.Shared.Params()...)
	}
	if m.SharedGate != nil {
		ps = append(ps, m.SharedGate.Params()...)
	}
	return ps
}

// Forward is ForwardCtx in evaluation (no noise, no auxiliary losses).
func (m *MoE) Forward(x *autograd.Var) *autograd.Var { return m.ForwardCtx(nil, x) }

// ForwardCtx maps x [..., D] to [..., D], recording the auxiliary losses
// in ctx's sink and adding router noise from ctx.RNG in training.
func (m *MoE) ForwardCtx(ctx *Ctx, x *autograd.Var) *autograd.Var {
	shape := x.Shape()
	D := shape[len(shape)-1]
	N := x.Value.Numel() / D
	E, k := m.Cfg.Experts, m.Cfg.TopK
	x2 := autograd.Reshape(x, N, D)
	var logits, probs, w *autograd.Var
	var sel []int // expert of slot (t, j) at sel[t·k+j]
	if m.Cfg.Router == RouterKeys || m.Cfg.Router == RouterFixed {
		if m.Cfg.Router == RouterKeys {
			m.refreshKeyGate(ctx.Training())
		}
		logits = autograd.MatMul(x2, autograd.Const(m.Router.Weight.Value), false, true) // [N, E], no gradient
		_, sel = autograd.TopK(logits, k, 1, true)
		w = autograd.Const(tensor.Ones(N, k).To(x.Value.DType()))
	} else {
		logits = m.Router.Forward(x2) // [N, E]
		if m.Cfg.RouterNoise && ctx.Training() && ctx.RNG != nil {
			noise := tensor.Normal(ctx.RNG, 0, 1/float64(E), N, E).To(logits.Value.DType())
			logits = autograd.Add(logits, autograd.Const(noise))
		}
		probs = autograd.Softmax(logits, 1)
		w, sel = autograd.TopK(probs, k, 1, true) // [N, k]
		if m.Cfg.Renormalize && k > 1 {
			w = autograd.Div(w, autograd.Sum(w, true, 1))
		}
	}
	// Dispatch: slot (t, j) → its expert's row, first come; over capacity → dropped.
	limit, cf := N*k, m.Cfg.EvalCapacity
	if ctx.Training() {
		cf = m.Cfg.Capacity
	}
	if cf > 0 {
		limit = int(float64(N) * cf * float64(k) / float64(E))
	}
	rows := make([][]int, E) // tokens per expert, in order
	slotRow := make([]int, N*k)
	dropped := 0
	for t := range N {
		for j := range k {
			e := sel[t*k+j]
			if len(rows[e]) >= limit {
				slotRow[t*k+j] = -1
				dropped++
				continue
			}
			slotRow[t*k+j] = len(rows[e])
			rows[e] = append(rows[e], t)
		}
	}
	// Each expert over its tokens; outputs stacked, then a zero row for
	// dropped slots.
	var outs []*autograd.Var
	offset := make([]int, E)
	total := 0
	m.Stats = MoEStats{Load: make([]int, E), Dropped: float64(dropped) / float64(N*k)}
	for e, r := range rows {
		offset[e] = total
		m.Stats.Load[e] = len(r)
		if len(r) == 0 {
			continue
		}
		outs = append(outs, m.Experts[e].Forward(autograd.IndexSelect(x2, 0, r)))
		total += len(r)
	}
	outs = append(outs, autograd.Const(tensor.Zeros(1, D).To(x.Value.DType())))
	stacked := autograd.Concat(0, outs...)
	gather := make([]int, N*k)
	for s, r := range slotRow {
		if r < 0 {
			gather[s] = total // the zero row
		} else {
			gather[s] = offset[sel[s]] + r
		}
	}
	y := autograd.Reshape(autograd.IndexSelect(stacked, 0, gather), N, k, D)
	y = autograd.Sum(autograd.Mul(y, autograd.Unsqueeze(w, 2)), false, 1) // [N, D]
	if m.Shared != nil {
		s := m.Shared.Forward(x2)
		if m.SharedGate != nil {
			s = autograd.Mul(s, autograd.Sigmoid(m.SharedGate.Forward(x2)))
		}
		y = autograd.Add(y, s)
	}
	if ctx != nil && ctx.Aux != nil && probs != nil { // a learned router's losses
		if m.Cfg.BalanceCoef > 0 {
			ctx.AddAux("moe_balance", m.Cfg.BalanceCoef, m.balanceLoss(probs, sel, N))
		}
		if m.Cfg.ZLossCoef > 0 {
			top := autograd.Max(logits, true, 1) // [N, 1], for a stable log-sum-exp
			lse := autograd.Log(autograd.Sum(autograd.Exp(autograd.Sub(logits, top)), false, 1))
			lse = autograd.Add(lse, autograd.Reshape(top, N))
			ctx.AddAux("moe_zloss", m.Cfg.ZLossCoef, autograd.Mean(autograd.Mul(lse, lse), false))
		}
	}
	if ctx != nil && ctx.Aux != nil { // logged per step (weight 0; averaged over layers)
		ctx.AddAux("moe_dropped", 0, autograd.Const(tensor.Scalar(float32(m.Stats.Dropped))))
		total, most := 0, 0
		for _, l := range m.Stats.Load {
			total, most = total+l, max(most, l)
		}
		for e, l := range m.Stats.Load { // the load histogram: each expert's share of the routed slots
			ctx.AddAux(fmt.Sprintf("moe_load_e%d", e), 0, autograd.Const(tensor.Scalar(float32(float64(l)/float64(max(total, 1))))))
		}
		// The busiest expert's load over the mean (1: balanced).
		ctx.AddAux("moe_load_max", 0, autograd.Const(tensor.Scalar(float32(float64(most*E)/float64(max(total, 1))))))
	}
	return autograd.Reshape(y, shape...)
}

// balanceLoss is E·Σ_e f_e·P_e: f_e the fraction of the N·k routed slots
// (before capacity) choosing e, a constant; P_e the mean router
// probability of e, through which the gradient flows.
func (m *MoE) balanceLoss(probs *autograd.Var, sel []int, N int) *autograd.Var {
	E := m.Cfg.Experts
	f := make([]float64, E)
	for _, e := range sel {
		f[e] += 1 / float64(len(sel))
	}
	P := autograd.Mean(probs, false, 0) // [E]
	ft := tensor.FromFloat64(f, E).To(probs.Value.DType())
	return autograd.MulScalar(autograd.Sum(autograd.Mul(P, autograd.Const(ft)), false), float64(E))
}

// MoESpec is what FFNConfig.MoE gives the "moe" network beyond the
// widths: the routing, the kind of network each expert is (a registered
// FFN: "gated", Mixtral's and Qwen2-MoE's), and the shared expert's width
// (0: none) and gate.
type MoESpec struct {
	MoEConfig
	Expert     string
	Shared     int
	SharedGate bool
}

func init() {
	RegisterFFN("moe", func(c FFNConfig) (FFN, error) {
		if c.MoE == nil {
			return nil, fmt.Errorf("ffn %s: a mixture of experts needs its experts and routing (FFNConfig.MoE)", c.Prefix)
		}
		s := *c.MoE
		if s.Expert == "moe" {
			return nil, fmt.Errorf("ffn %s: the experts of a mixture cannot be mixtures", c.Prefix)
		}
		ec := c
		ec.MoE = nil
		return NewMoE(c.Prefix, ec, s.Expert, s.MoEConfig, s.Shared, s.SharedGate)
	})
}

// CtxFFN is an FFN that takes the forward context (a mixture records its
// auxiliary losses and draws router noise there). Blocks call ApplyFFN.
type CtxFFN interface {
	FFN
	ForwardCtx(ctx *Ctx, x *autograd.Var) *autograd.Var
}

// ApplyFFN runs f on x, passing ctx when f takes it.
func ApplyFFN(ctx *Ctx, f FFN, x *autograd.Var) *autograd.Var {
	if c, ok := f.(CtxFFN); ok {
		return c.ForwardCtx(ctx, x)
	}
	return f.Forward(x)
}
