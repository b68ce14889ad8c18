package repro

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/chart"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/tokenizer"
	"github.com/loomml/loom/train"
)

// TokenFormer (arXiv 2410.23168): a small byte-level TokenFormer trained,
// grown twice by appending parameter tokens (decoder.Grow), trained after
// each growth, against the same final size trained from scratch and a
// Transformer of equal parameters.

func init() {
	Register(Entry{
		Name:    "tokenformer",
		Paper:   "TokenFormer: Rethinking Transformer Scaling with Tokenized Model Parameters (arXiv 2410.23168)",
		Summary: "a byte-level TokenFormer grown twice (parameter tokens ×2, then ×2) and trained after each growth, against the final size trained from scratch and a Transformer of equal parameters, 3 seeds",
		Text:    true,
		Run:     runTokenFormer,
	})
}

// tokenformerRule is the verdict rule, fixed before the first full run.
const tokenformerRule = "(1) Exact preservation: on every seed, each growth leaves the model's logits on 4 held-out windows unchanged to 1e-5 (max |Δ|). (2) The grown TokenFormer's mean held-out loss is at most 2 % above the scratch TokenFormer's (grown ≤ 1.02 × scratch), with its total training compute, all three stages counted, at most 50 % of the scratch model's. **Reproduced** if (1) and (2) hold; **not reproduced** if (2) fails (or (1), which would be a defect). The Transformer of equal parameters, trained like the scratch TokenFormer, is reported beside and does not enter the verdict."

// tokenformerConfig is the byte-level TokenFormer with qkv (and output)
// and ffn parameter tokens: width 128, 4 layers, 4 heads, 25 % rotary.
func tokenformerConfig(qkv, ffn int) *decoder.Config {
	return &decoder.Config{HiddenSize: 128, IntermediateSize: ffn, NumHiddenLayers: 4, NumAttentionHeads: 4, NumKeyValueHeads: 4,
		HiddenAct: "silu", RMSNormEps: 1e-5, RopeTheta: 10000, VocabSize: 256, MaxPositionEmbeddings: 128, InitializerRange: 0.02,
		PartialRotaryFactor: 0.25, Loom: decoder.Options{Tokenizer: "byte", TokenFormer: &decoder.TokenFormerOptions{QKVSlotNum: qkv}}}
}

// trainFLOPs is the training compute per token of m on windows of T
// tokens: 3 × the forward pass's 2·(matrix parameters, the head's
// included, the embedding's not: a Pattention of n tokens costs 2·n·(in +
// out), like a Linear of its parameters) + 2·T·D per layer (causal
// attention's scores and weighted values over T/2 positions on average).
func trainFLOPs(m *decoder.Model, T int) float64 {
	var mat float64
	for _, p := range m.Params() {
		if p.Value.NDim() == 2 && !strings.Contains(p.Name, "embed_tokens") {
			mat += float64(p.Value.Numel())
		}
	}
	c := m.Config
	return 3 * (2*mat + 2*float64(T*c.HiddenSize*c.NumHiddenLayers))
}

func runTokenFormer(c *Context) (*Report, error) {
	seeds := c.SeedsOrQuick(3, 1)
	corpus := c.Corpus()
	const base, baseFFN = 32, 128 // parameter tokens before growing; ×4 after both growths
	scratchSteps := 1000
	stages := []int{400, 200, 200} // steps at ×1, ×2, ×4
	if c.Quick {
		scratchSteps, stages = 50, []int{20, 10, 10}
	}
	tok := tokenizer.Byte{}
	heldIDs := tok.Encode(string(corpus.Text[len(corpus.Text)-len(corpus.Text)/10:]))
	probe := heldIDs[:4*128]
	logits := func(m *decoder.Model) []float32 {
		var v []float32
		autograd.NoGrad(func() { v = m.Forward(nil, probe, 4, 128).Value.Contiguous().F32() })
		return v
	}
	arms := []string{"TokenFormer grown ×2, ×2 (3 stages)", "TokenFormer from scratch (final size)", "Transformer of equal parameters (from scratch)"}
	loss := map[string][]float64{}
	flops := map[string]float64{}
	params := map[string]int{}
	var stageLoss [][]float64 // per seed: held-out loss after each stage
	var worstDelta []float64  // per seed: the larger Δ of the two growths
	var used []uint64
	for si := range seeds {
		seed := uint64(8100 + si)
		used = append(used, seed)
		spec := func(cfg *decoder.Config, steps int) *train.Spec {
			s := smallSpec(seed, c.Quick, nil)
			s.Model = cfg
			s.Train.Steps, s.Train.Warmup = steps, max(1, steps/20)
			s.Train.EvalEvery = 0
			return s
		}
		// run trains s (from init, when set) and returns the model and its
		// loss on the whole held-out split, as the job evaluates it.
		run := func(name string, s *train.Spec, init *decoder.Model) (*decoder.Model, float64, error) {
			fmt.Fprintf(c.Progress, "tokenformer: seed %d, %s, %d steps\n", seed, name, s.Train.Steps)
			o, err := (&train.Job{Spec: s, Text: corpus.Text, Init: init, Progress: c.Progress,
				OutDir: filepath.Join(c.WorkDir, fmt.Sprintf("seed%d-%s", seed, strings.NewReplacer(" ", "-", "(", "", ")", "", ",", "", "×", "x").Replace(name)))}).Run()
			if err != nil {
				return nil, 0, err
			}
			return o.Model, o.Val.Loss, nil
		}
		// Grown: three stages, each its own warmup and cosine, the
		// optimizer fresh after each growth.
		var per []float64
		var total float64
		var worst float64
		m, l, err := run("stage 1", spec(tokenformerConfig(base, baseFFN), stages[0]), nil)
		if err != nil {
			return nil, err
		}
		for st := range stages {
			if st > 0 {
				before := logits(m)
				ps := m.Pattentions()
				if err := decoder.Grow(m, ps["qkv"][0].Slots(), ps["proj"][0].Slots(), ps["ffn"][0].Slots(), seed+uint64(st)); err != nil {
					return nil, err
				}
				after := logits(m)
				for i := range before {
					worst = math.Max(worst, math.Abs(float64(after[i]-before[i])))
				}
				if m, l, err = run(fmt.Sprintf("stage %d", st+1), spec(m.Config, stages[st]), m); err != nil {
					return nil, err
				}
			}
			total += trainFLOPs(m, 128) * float64(stages[st]*16*128)
			per = append(per, l)
		}
		stageLoss = append(stageLoss, per)
		worstDelta = append(worstDelta, worst)
		loss[arms[0]] = append(loss[arms[0]], per[len(per)-1])
		flops[arms[0]], params[arms[0]] = total, autograd.NumParams(m.Params())
		// Scratch: the final size, every step at it.
		s, l, err := run("scratch", spec(tokenformerConfig(4*base, 4*baseFFN), scratchSteps), nil)
		if err != nil {
			return nil, err
		}
		loss[arms[1]] = append(loss[arms[1]], l)
		flops[arms[1]], params[arms[1]] = trainFLOPs(s, 128)*float64(scratchSteps*16*128), autograd.NumParams(s.Params())
		// A Transformer of equal parameters: SwiGLU of 512 units (262,400
		// parameters per layer against the TokenFormer's 262,144).
		tr, l, err := run("transformer", spec(smallSpec(seed, c.Quick, func(cfg *decoder.Config) { cfg.IntermediateSize = 512 }).Model, scratchSteps), nil)
		if err != nil {
			return nil, err
		}
		loss[arms[2]] = append(loss[arms[2]], l)
		flops[arms[2]], params[arms[2]] = trainFLOPs(tr, 128)*float64(scratchSteps*16*128), autograd.NumParams(tr.Params())
		fmt.Fprintf(c.Progress, "tokenformer: seed %d: grown %.4f (stages %v, growth Δ %.2g), scratch %.4f, transformer %.4f\n", seed, per[len(per)-1], per, worst, loss[arms[1]][si], l)
	}

	var sb strings.Builder
	fmt.Fprintf(&sb, "**Setup.** Byte-level TokenFormers (`loom.tokenformer`, [nn/pattention.go](../../nn/pattention.go)): width 128, 4 layers, 4 heads, every projection a Pattention (queries, keys, values and outputs of qkv_slot_num tokens, the FFN of ffn_slot_num), non-parametric LayerNorms, rotary on 25 %% of each head, context 128, trained on the first 90 %% of %s with batches of 16×128 bytes (AdamW lr 2e-3, warmup a twentieth of each run's steps, cosine to 0.1×, weight decay 0.1, clip 1). "+
		"**Grown**: qkv 32 / ffn 128 tokens for %d steps; grown ×2 (`decoder.Grow`, `loom grow --factor 2`: zero keys, new values N(0, 0.02²), τ kept) and trained %d steps; grown ×2 again and trained %d steps; each stage with a fresh optimizer and its own schedule. "+
		"**Scratch**: the final size (qkv 128 / ffn 512) trained %d steps. **Transformer**: the Llama-style decoder of the other reproductions with a SwiGLU FFN of 512 units (parameters within 0.1 %% of the TokenFormer's), trained %d steps. "+
		"Held-out: the whole last 10 %% (nats/byte), as `loom train` evaluates it. Training compute: 3 × (2 × matrix parameters (head included, embedding not) + 2·T·D per layer for the attention scores and values) per token, summed over each run's tokens.\n\n",
		corpus, stages[0], stages[1], stages[2], scratchSteps, scratchSteps)
	sb.WriteString("Verdict rule (fixed before running): " + tokenformerRule + "\n\n")
	fmt.Fprintf(&sb, "| model | parameters | training compute (TFLOP, × scratch) | held-out loss |\n| --- | --- | --- | --- |\n")
	var bars []chart.Bar
	for _, name := range arms {
		fmt.Fprintf(&sb, "| %s | %d | %.3f (%.2f) | %s |\n", name, params[name], flops[name]/1e12, flops[name]/flops[arms[1]], seedCell(loss[name]))
		m, s := meanStd(loss[name])
		bars = append(bars, chart.Bar{Label: name, Value: m, Err: s})
	}
	fmt.Fprintf(&sb, "\nThe grown model after each stage (held-out loss, per seed): ")
	for si, per := range stageLoss {
		fmt.Fprintf(&sb, "seed %d: %s; ", used[si], fmtFloats(per))
	}
	fmt.Fprintf(&sb, "largest change of the logits at a growth, per seed: %s.\n\n", fmtFloats(worstDelta))
	png := "tokenformer.png"
	if err := (&chart.BarChart{Title: fmt.Sprintf("TokenFormer: held-out loss (mean ± std, %d seeds)", seeds), YLabel: "nats/byte", Bars: bars}).WritePNG(filepath.Join(c.DocsDir, png)); err != nil {
		return nil, err
	}
	fmt.Fprintf(&sb, "![held-out loss](%s)\n\n", png)
	gm, _ := meanStd(loss[arms[0]])
	sm, _ := meanStd(loss[arms[1]])
	ratio := flops[arms[0]] / flops[arms[1]]
	c1 := true
	for _, d := range worstDelta {
		c1 = c1 && d <= 1e-5
	}
	c2 := gm <= 1.02*sm && ratio <= 0.5
	yes := map[bool]string{true: "holds", false: "fails"}
	fmt.Fprintf(&sb, "- (1) growth keeps the logits (largest |Δ| %s, allowed 1e-5): %s\n", fmtFloats(worstDelta), yes[c1])
	fmt.Fprintf(&sb, "- (2) grown %.4f vs scratch %.4f: %+.2f %% (allowed ≤ +2 %%) at %.0f %% of the scratch compute (allowed ≤ 50 %%): %s\n", gm, sm, 100*(gm/sm-1), 100*ratio, yes[c2])
	tm, _ := meanStd(loss[arms[2]])
	fmt.Fprintf(&sb, "- Beside: the Transformer of equal parameters %.4f, %+.2f %% against the scratch TokenFormer.\n", tm, 100*(tm/sm-1))
	verdict := "not reproduced"
	if c1 && c2 {
		verdict = "reproduced"
	}
	return &Report{
		Title: "TokenFormer: growing by parameter tokens (arXiv 2410.23168)",
		Claim: "A TokenFormer grown by appending key–value parameter tokens (initialised to keep its function) and trained further reaches the loss of the same model trained from scratch at a fraction of the training compute.",
		Seeds: used, Body: sb.String(),
		Verdict: fmt.Sprintf("%s: grown %.4f vs scratch %.4f (%+.2f %%) at %.0f %% of its compute; growth preserved the logits to %s", verdict, gm, sm, 100*(gm/sm-1), 100*ratio, fmtFloats(worstDelta)),
		Changes: "The paper's scale (124M → 1.4B parameters, 30B tokens per stage of OpenWebText) instead of 1M parameters and a few hundred steps of Shakespeare; other stage lengths (the final stage here is a fifth of the scratch run's steps); the learning rate after growth (here each stage restarts its warmup and cosine).",
	}, nil
}

// fmtFloats formats xs compactly for a report.
func fmtFloats(xs []float64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprintf("%.4g", x)
	}
	return "[" + strings.Join(s, ", ") + "]"
}
