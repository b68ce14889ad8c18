package repro

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/chart"
	"github.com/loomml/loom/data"
	"github.com/loomml/loom/distill"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/moefy"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tokenizer"
	"github.com/loomml/loom/train"
)

// Dense2MoE (arXiv 2510.09094), transferred to language models: the
// paper restructures a diffusion transformer (FLUX.1); the small diffusion
// transformer of the scaling issue has not landed, so this runs on the
// byte-level decoder, and says so.

func init() {
	Register(Entry{
		Name:    "dense2moe",
		Paper:   "Restructuring Diffusion Transformer to MoE for Efficient Text-to-Image Generation (Dense2MoE, arXiv 2510.09094), transferred to a language model",
		Summary: "a trained 4-layer byte-level decoder's FFNs as a shared + 7 routed experts (62.5 % fewer active FFN parameters), distilled, against Taylor pruning to the same width, 3 seeds",
		Text:    true,
		Run:     runDense2MoE,
	})
}

// dense2moeRule is the verdict rule, fixed before the first full run.
const dense2moeRule = "Claims at 62.5 % fewer active FFN parameters, both students distilled from the dense teacher with the same budget: (1) the distilled Dense2MoE model's held-out loss is below the distilled Taylor-pruned dense model's by more than twice the larger seed std; (2) with the balance loss, every routed expert of every layer receives at least a quarter of its uniform share (1/(4E)) of the routed slots on held-out text, on every seed; (3) Mixture of Blocks adds sparsity at a measured cost: **not built yet** (loom has no block router), so this claim is untested. **Reproduced** needs all three; **partial** if (1) and (2) hold; **not reproduced** if (1) fails."

func runDense2MoE(c *Context) (*Report, error) {
	seeds := c.SeedsOrQuick(3, 1)
	corpus := c.Corpus()
	const H, E, K, S = 344, 7, 2, 43 // 43 shared + 2 of 7 routed experts of 43: 129 of 344 units active
	distillSteps := 400
	if c.Quick {
		distillSteps = 20
	}
	tok := tokenizer.Byte{}
	nHeld := len(corpus.Text) / 10
	trainIDs := tok.Encode(string(corpus.Text[:len(corpus.Text)-nHeld]))
	heldIDs := tok.Encode(string(corpus.Text[len(corpus.Text)-nHeld:]))
	held := heldScorer(c)
	score := func(m *decoder.Model) (float64, error) { return held(m, heldIDs) }
	var calib []data.Batch
	for _, w := range data.EvenWindows(trainIDs, 129, 32) {
		calib = append(calib, data.Batch{IDs: w[:128], Targets: w[1:], B: 1, T: 128})
	}
	arms := []string{"Dense2MoE (shared + 7 routed, k = 2, balance loss)", "Dense2MoE without the balance loss", "Taylor-pruned dense FFN (129 units)"}
	before := map[string][]float64{}
	after := map[string][]float64{}
	minShare := map[string][]float64{} // smallest expert share × E, per seed
	var teacherLoss []float64
	var used []uint64
	steps := 0
	params := map[string]int{}
	for si := range seeds {
		seed := uint64(6300 + si)
		used = append(used, seed)
		spec := smallSpec(seed, c.Quick, nil)
		steps = spec.Train.Steps
		fmt.Fprintf(c.Progress, "dense2moe: seed %d, dense teacher\n", seed)
		o, err := (&train.Job{Spec: spec, Text: corpus.Text, OutDir: filepath.Join(c.WorkDir, fmt.Sprintf("teacher-%d", seed)), Progress: c.Progress}).Run()
		if err != nil {
			return nil, err
		}
		teacher := o.Model
		tl, err := score(teacher)
		if err != nil {
			return nil, err
		}
		teacherLoss = append(teacherLoss, tl)
		for ai, name := range arms {
			var st *decoder.Model
			if ai < 2 {
				m, _, err := moefy.Convert(teacher, moefy.Options{Method: "dense2moe", Experts: E, TopK: K, Shared: S, Layers: []int{0, 1, 2, 3}, Calib: calib, Seed: seed})
				if err != nil {
					return nil, err
				}
				if ai == 1 {
					m.Config.RouterAuxLossCoef = 0
					for _, l := range m.Layers {
						l.(*decoder.PreNorm).FFN.(*nn.MoE).Cfg.BalanceCoef = 0
					}
				}
				st = m
			} else if st, err = moefy.TaylorPrune(teacher, calib, S+K*S); err != nil {
				return nil, err
			}
			params[name] = activeFFN(st, K)
			b, err := score(st)
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(c.Progress, "dense2moe: seed %d, %s: %.4f before distillation; distilling %d steps\n", seed, name, b, distillSteps)
			d, err := distill.New(st, teacher, distill.Config{KL: 1, Hidden: 1})
			if err != nil {
				return nil, err
			}
			if err := tuneOn(d, trainIDs, distillSteps, seed); err != nil {
				return nil, err
			}
			a, err := score(st)
			if err != nil {
				return nil, err
			}
			before[name], after[name] = append(before[name], b), append(after[name], a)
			if ai < 2 {
				minShare[name] = append(minShare[name], expertMinShare(st, heldIDs, E))
			}
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "**A transfer to language models**: the paper restructures FLUX.1, a diffusion transformer; loom's small diffusion transformer (the scaling issue) has not landed, so the teacher is the byte-level decoder. Setup: %s. "+
		"Each seed's dense teacher (SwiGLU FFNs of %d hidden units) gives two students at 62.5 %% fewer active FFN parameters (%d of %d units per token): "+
		"Dense2MoE (`moefy.Convert`, `loom moefy --method dense2moe`): in every layer the %d units of largest first-order Taylor importance |Σ θ·∂L/∂θ| on 32 calibration windows of the training split form a shared expert (Qwen2-MoE's, with its sigmoid gate starting at exactly 1), the other %d are clustered by their keys into %d routed experts of %d, top-%d by a learned softmax router started at the experts' mean gate rows, renormalised; "+
		"and the dense FFN pruned to its %d most important units by the same Taylor importance. Both are distilled from the teacher for %d steps of 16×128 bytes of the training split (KL of the output distributions at τ = 1 plus the mean squared distance of every layer's hidden state; AdamW lr 1e-3, %d warmup steps, cosine to 0.1×, clip 1), the mixture with its balance loss (α = 0.01), and once without it. "+
		"Held-out: the last 10 %% in non-overlapping 128-byte windows (nats/byte)%s.\n\n",
		smallSetup(c, steps), H, S+K*S, H, S, H-S, E, S, K, S+K*S, distillSteps, max(1, distillSteps/10), map[bool]string{true: ", at most 20,000 tokens (quick)", false: ""}[c.Quick])
	sb.WriteString("Verdict rule (fixed before running): " + dense2moeRule + "\n\n")
	tm, _ := meanStd(teacherLoss)
	fmt.Fprintf(&sb, "Dense teacher: %s.\n\n| student | active FFN parameters per token | before distillation | after distillation | smallest expert share × E (per seed) |\n| --- | --- | --- | --- | --- |\n", seedCell(teacherLoss))
	var bars []chart.Bar
	bars = append(bars, chart.Bar{Label: "dense teacher", Value: tm})
	for _, name := range arms {
		share := "—"
		if xs := minShare[name]; xs != nil {
			share = seedCell(xs)
		}
		fmt.Fprintf(&sb, "| %s | %d | %s | %s | %s |\n", name, params[name], seedCell(before[name]), seedCell(after[name]), share)
		m, s := meanStd(after[name])
		bars = append(bars, chart.Bar{Label: name, Value: m, Err: s})
	}
	png := "dense2moe.png"
	if err := (&chart.BarChart{Title: fmt.Sprintf("Dense2MoE on a decoder: held-out loss after %d distillation steps (mean ± std, %d seeds)", distillSteps, seeds), YLabel: "nats/byte", Bars: bars}).WritePNG(filepath.Join(c.DocsDir, png)); err != nil {
		return nil, err
	}
	fmt.Fprintf(&sb, "\n![held-out loss](%s)\n\n", png)
	mm, ms := meanStd(after[arms[0]])
	pm, ps := meanStd(after[arms[2]])
	c1 := pm-mm > 2*math.Max(ms, ps)
	c2 := true
	for _, v := range minShare[arms[0]] {
		c2 = c2 && v >= 0.25
	}
	yes := map[bool]string{true: "holds", false: "fails"}
	fmt.Fprintf(&sb, "- (1) Dense2MoE %.4f vs Taylor-pruned %.4f: lower by %.4f, needed > %.4f: %s\n", mm, pm, pm-mm, 2*math.Max(ms, ps), yes[c1])
	fmt.Fprintf(&sb, "- (2) with the balance loss, the least-used expert's share × E is at least 0.25 on every seed: %s (without it: %s)\n", yes[c2], seedCell(minShare[arms[1]]))
	sb.WriteString("- (3) Mixture of Blocks: not built; untested.\n")
	verdict := "not reproduced"
	if c1 && c2 {
		verdict = "partial"
	}
	return &Report{
		Title: "Dense2MoE, transferred to a language model (arXiv 2510.09094)",
		Claim: "A dense transformer's FFNs restructured into a shared expert plus routed experts (Taylor-metric initialisation) and distilled keep more quality than pruning the dense FFN to the same active size; the balance loss keeps every expert used; Mixture of Blocks adds sparsity at a small cost.",
		Seeds: used, Body: sb.String(),
		Verdict: fmt.Sprintf("%s: (1) Dense2MoE %.4f vs Taylor-pruned %.4f after distillation, %s; (2) balance %s; (3) Mixture of Blocks not built", verdict, mm, pm, yes[c1], yes[c2]),
		Changes: "The paper's setting (a diffusion transformer with its image metrics) once loom has one; Mixture of Blocks, which this run lacks; a longer distillation, where pruning and the mixture may converge or part further.",
	}, nil
}

// activeFFN counts the FFN parameters one token uses in m: a mixture's
// router, shared expert and k routed experts; a dense FFN whole.
func activeFFN(m *decoder.Model, k int) int {
	n := 0
	for _, l := range m.Layers {
		switch f := l.(*decoder.PreNorm).FFN.(type) {
		case *nn.MoE:
			n += autograd.NumParams(nn.Collect(f.Router, f.Shared, f.SharedGate)) + k*autograd.NumParams(f.Experts[0].Params())
		default:
			n += autograd.NumParams(f.Params())
		}
	}
	return n
}

// expertMinShare runs m over held-out windows and returns the smallest
// share of routed slots any expert of any layer received, times E (1:
// uniform).
func expertMinShare(m *decoder.Model, ids []int, E int) float64 {
	loads := make([][]int, len(m.Layers))
	for i := range loads {
		loads[i] = make([]int, E)
	}
	n := min(16, len(ids)/128)
	autograd.NoGrad(func() {
		for w := range n {
			m.Forward(nil, ids[w*128:(w+1)*128], 1, 128)
			for i, l := range m.Layers {
				if moe, ok := l.(*decoder.PreNorm).FFN.(*nn.MoE); ok {
					for e, v := range moe.Stats.Load {
						loads[i][e] += v
					}
				}
			}
		}
	})
	least := math.Inf(1)
	for _, ls := range loads {
		total := 0
		for _, v := range ls {
			total += v
		}
		if total == 0 {
			continue
		}
		for _, v := range ls {
			least = math.Min(least, float64(v)*float64(E)/float64(total))
		}
	}
	return least
}
