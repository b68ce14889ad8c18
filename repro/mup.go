package repro

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"encoding/json"
	"io"

	"github.com/loomml/loom/chart"
	"github.com/loomml/loom/data"
	"github.com/loomml/loom/data/digits"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/dit"
	"github.com/loomml/loom/mup"
	"github.com/loomml/loom/sweep"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/tokenizer"
	"github.com/loomml/loom/train"
)

// μP's hyperparameter transfer (Tensor Programs V, arXiv 2203.03466; for
// diffusion transformers "Scaling Diffusion Transformers Efficiently via
// μP", arXiv 2505.15270): learning-rate sweeps at four widths under the
// standard parametrisation and under μP, for a byte-level decoder and for
// the DiT, and the decoder's coordinate check.

func init() {
	Register(Entry{
		Name:    "mup",
		Paper:   "Tensor Programs V / Scaling Diffusion Transformers Efficiently via μP (arXiv 2203.03466, 2505.15270)",
		Summary: "learning-rate sweeps at widths ×1, ×2, ×4, ×8 under SP and μP for a byte-level decoder and for the DiT on digits: does the best learning rate stay put under μP?, 3 seeds",
		Run:     runMuPRepro,
	})
}

// mupRule is the verdict rule, fixed before the first full run.
const mupRule = "For each family (decoder, DiT), on the mean held-out loss over seeds: (1) under μP the best learning rate of the four widths spans at most one grid step (a factor 2); (2) under SP it drifts: its span is at least two grid steps; (3) the widest μP model trained at the learning rate best at the narrowest width reaches a held-out loss at most 1 % above the widest SP model's at its own best learning rate. A family **reproduces** the claim if (1), (2) and (3) hold. **Reproduced** if both families do; **partial** if one does, or if (1) and (3) hold in both but SP does not drift by two steps; **not reproduced** otherwise."

// mupFamily is one model family's sweep: sweep trains models at width
// multiplier k under parametrisation param (one of params: decoder.ParamSP,
// ParamMuP, or mupZero) at every learning rate of lrs and every seed and
// returns their held-out losses [lr][seed] (+Inf for a run that diverged).
type mupFamily struct {
	name, unit string
	lrs        []float64
	params     []string
	sweep      func(k int, param string) ([][]float64, error)
}

// mupZero is μP with microsoft/mup's zero-initialised query and readout
// (loom.mup_zero_query, loom.mup_zero_readout), a reported ablation that the
// verdict does not judge.
const mupZero = "mup-zero"

// mupNames are the parametrisations' names on the page.
var mupNames = map[string]string{decoder.ParamSP: "SP", decoder.ParamMuP: "μP", mupZero: "μP, zero query and readout"}

func runMuPRepro(c *Context) (*Report, error) {
	seeds := c.SeedsOrQuick(3, 1)
	mults := []int{1, 2, 4, 8}
	// Learning rates 2^-11 … 2^-6 for the decoder (its optimum is inside),
	// 2^-11 … 2^-4 for the DiT (its optimum sat at 2^-6 for most widths in
	// the first run).
	pow2 := func(lo, hi int) []float64 {
		var out []float64
		for e := lo; e <= hi; e++ {
			out = append(out, math.Pow(2, float64(e)))
		}
		return out
	}
	decLRs, ditLRs := pow2(-11, -6), pow2(-11, -4)
	decSteps, ditSteps := 200, 300
	if c.Quick {
		mults, decSteps, ditSteps = []int{1, 4}, 30, 30
		decLRs = []float64{math.Pow(2, -10), math.Pow(2, -8), math.Pow(2, -6)}
		ditLRs = decLRs
	}
	// The decoder: byte-level, 2 layers, 4 heads, SwiGLU of twice the
	// width, context 64, on the embedded corpus's first 90 %, held out: the
	// last 10 % — one `loom sweep` (package sweep) over train.lr per width
	// and parametrisation.
	corpus := data.TinyShakespeare()
	lrAxis := make([]string, len(decLRs))
	for i, lr := range decLRs {
		lrAxis[i] = fmt.Sprint(lr)
	}
	decoderSweep := func(k int, param string) ([][]float64, error) {
		w := 32 * k
		cfg := &decoder.Config{HiddenSize: w, IntermediateSize: 2 * w, NumHiddenLayers: 2, NumAttentionHeads: 4, NumKeyValueHeads: 4,
			HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 10000, VocabSize: 256, MaxPositionEmbeddings: 64, InitializerRange: 0.02,
			Loom: decoder.Options{Tokenizer: "byte"}}
		if param != decoder.ParamSP {
			cfg.Loom.Param, cfg.Loom.BaseWidth = decoder.ParamMuP, 32
			cfg.Loom.MuPZeroQuery, cfg.Loom.MuPZeroReadout = param == mupZero, param == mupZero
		}
		spec := &train.Spec{Model: cfg, Train: train.Settings{
			Hyper: train.Hyper{Steps: decSteps, BatchSize: 16, SeqLen: 64, LR: decLRs[0], Warmup: decSteps / 10, MinLRFactor: 0.1, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, Clip: 1},
			Seed:  9100, ValFraction: 0.1}}
		js, err := json.Marshal(spec)
		if err != nil {
			return nil, err
		}
		ax, err := sweep.ParseAxis("train.lr=" + strings.Join(lrAxis, ","))
		if err != nil {
			return nil, err
		}
		res, err := (&sweep.Sweep{Config: js, ConfigName: fmt.Sprintf("decoder width %d, %s", w, param), Axes: []sweep.Axis{ax}, Seeds: seeds,
			Text: corpus, DataName: "tinyshakespeare (embedded)", Out: filepath.Join(c.WorkDir, fmt.Sprintf("decoder-%d-%s", w, param)), Force: true, Progress: io.Discard}).Run()
		if err != nil {
			return nil, err
		}
		out := make([][]float64, len(decLRs))
		for i, r := range res {
			v := float64(r.ValLoss)
			if r.Status != sweep.StatusOK || math.IsNaN(v) {
				v = math.Inf(1)
			}
			li := i / seeds // the plan: grid points in order, each with its seeds
			out[li] = append(out[li], v)
			fmt.Fprintf(c.Progress, "mup: decoder width %d %s %s: %.4f\n", w, param, r.Name, v)
		}
		return out, nil
	}
	// The DiT: 8×8 digits, patches 2×2, 2 blocks, 4 heads; held out: every
	// tenth image, 4 fixed noisings each.
	trainSet, heldX, heldY, err := digitSplit()
	if err != nil {
		return nil, err
	}
	sched := dit.Schedule{Steps: 200}
	draws := dit.FixedDraws(sched, heldX, heldY, 4, 99)
	ditRun := func(k int, param string, lr float64, seed uint64) (float64, error) {
		cfg := dit.Config{ImageSize: digits.Size, Channels: 1, PatchSize: 2, Hidden: 32 * k, Depth: 2, Heads: 4, MLPRatio: 4,
			Classes: digits.Classes, ClassDropout: 0.1, Diffusion: sched}
		if param == decoder.ParamMuP {
			cfg.Param, cfg.BaseWidth = dit.ParamMuP, 32
		}
		m, err := dit.New(cfg, seed)
		if err != nil {
			return 0, err
		}
		h := train.Hyper{Steps: ditSteps, BatchSize: 32, LR: lr, Warmup: ditSteps / 10, MinLRFactor: 0.1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Clip: 1}
		if err := (&train.Loop[dit.Batch]{Model: dit.Trainer{M: m}, Data: train.NewEpochSampler[dit.Batch](trainSet, 32, seed), Hyper: h, RNG: tensor.NewRNG(seed + 1)}).Train(); err != nil {
			return math.Inf(1), nil
		}
		return m.NoiseMSE(draws, 256, nil), nil
	}
	ditSweep := func(k int, param string) ([][]float64, error) {
		out := make([][]float64, len(ditLRs))
		for li, lr := range ditLRs {
			for si := range seeds {
				v, err := ditRun(k, param, lr, uint64(9100+si))
				if err != nil {
					return nil, err
				}
				out[li] = append(out[li], v)
				fmt.Fprintf(c.Progress, "mup: DiT width %d %s lr %.3g seed %d: %.4f\n", 32*k, param, lr, 9100+si, v)
			}
		}
		return out, nil
	}
	// The DiT's readout already starts at zero (adaLN-Zero) and it has no
	// zero-query option: its ablation would be μP itself.
	families := []mupFamily{
		{name: "decoder", unit: "nats/byte", lrs: decLRs, params: []string{decoder.ParamSP, decoder.ParamMuP, mupZero}, sweep: decoderSweep},
		{name: "DiT", unit: "noise MSE", lrs: ditLRs, params: []string{decoder.ParamSP, decoder.ParamMuP}, sweep: ditSweep},
	}

	var sb strings.Builder
	fmt.Fprintf(&sb, "**Setup.** Widths 32 × %v; learning rates %s for the decoder, %s for the DiT (a factor 2 per grid step); Adam(W) with warmup a tenth of the steps, cosine to 0.1×, clip 1, no weight decay; every (width, parametrisation, learning rate) trained from the same seeds, and μP at the base width is SP bit for bit (one run serves both). "+
		"**Decoder**: byte-level Llama-style, 2 layers, 4 heads, SwiGLU of twice the width, context 64, %d steps of 16×64 bytes of the embedded tinyshakespeare's first 90 %%, one `loom sweep` (package `sweep`, grid `train.lr`, seeds 9100…) per width and parametrisation; held-out loss on the whole last 10 %%, as `loom train` evaluates it. "+
		"**DiT** (`models/dit`): 8×8 digits, patches 2×2, 2 blocks, 4 heads, MLP 4×, 200 DDPM steps, %d steps of 32 images; held-out noise-prediction MSE on every tenth image noised 4 times (fixed draws). "+
		"μP (`loom.param mup`, DiT `param mup`, base width 32): hidden matrices lr/m and init/√m, readout × 1/m, attention √d_base/d (checked against microsoft/mup itself: `go test ./train -run MuP`). For the decoder also μP with microsoft/mup's zero-initialised query and readout (`loom.mup_zero_query`, `loom.mup_zero_readout`), reported but not judged. A diverged run counts as an infinite loss.\n\n",
		mults, fmtFloats(decLRs), fmtFloats(ditLRs), decSteps, ditSteps)
	sb.WriteString("Verdict rule (fixed before running): " + mupRule + "\n\n")
	type key struct {
		param string
		k     int
		lr    int
	}
	reproduced, partial := 0, 0
	var summary []string
	for _, f := range families {
		lrs, params := f.lrs, f.params
		loss := map[key][]float64{}
		for _, k := range mults {
			for _, p := range params {
				if p == decoder.ParamMuP && k == 1 { // μP at the base width is SP bit for bit
					for li := range lrs {
						loss[key{p, k, li}] = loss[key{decoder.ParamSP, k, li}]
					}
					continue
				}
				ls, err := f.sweep(k, p)
				if err != nil {
					return nil, fmt.Errorf("%s width %d %s: %w", f.name, 32*k, p, err)
				}
				for li := range lrs {
					loss[key{p, k, li}] = ls[li]
				}
			}
		}
		mean := func(p string, k, li int) float64 {
			m, _ := meanStd(loss[key{p, k, li}])
			if math.IsNaN(m) {
				return math.Inf(1)
			}
			return m
		}
		best := map[string][]int{}
		fmt.Fprintf(&sb, "### %s\n\nMean held-out %s over seeds; the best learning rate of each width in bold.\n\n| parametrisation | width |", f.name, f.unit)
		for _, lr := range lrs {
			fmt.Fprintf(&sb, " lr %.3g |", lr)
		}
		sb.WriteString("\n| --- | --- |" + strings.Repeat(" --- |", len(lrs)) + "\n")
		var series []chart.Series
		for _, p := range params {
			for _, k := range mults {
				bi := 0
				for li := range lrs {
					if mean(p, k, li) < mean(p, k, bi) {
						bi = li
					}
				}
				best[p] = append(best[p], bi)
				fmt.Fprintf(&sb, "| %s | %d |", p, 32*k)
				var xs, ys []float64
				for li, lr := range lrs {
					v := mean(p, k, li)
					cell := fmt.Sprintf("%.4f", v)
					if li == bi {
						cell = "**" + cell + "**"
					}
					fmt.Fprintf(&sb, " %s |", cell)
					if !math.IsInf(v, 0) {
						xs, ys = append(xs, lr), append(ys, v)
					}
				}
				sb.WriteString("\n")
				series = append(series, chart.Series{Name: fmt.Sprintf("%s width %d", p, 32*k), X: xs, Y: ys, Style: chart.LinePoints})
			}
		}
		for pi, p := range params {
			png := fmt.Sprintf("mup-%s-%s.png", strings.ToLower(f.name), p)
			s := series[pi*len(mults) : (pi+1)*len(mults)]
			if err := (&chart.Chart{Title: fmt.Sprintf("%s, %s: held-out loss against learning rate", f.name, mupNames[p]), XLabel: "learning rate", YLabel: f.unit, LogX: true, Series: s}).WritePNG(filepath.Join(c.DocsDir, png)); err != nil {
				return nil, err
			}
			fmt.Fprintf(&sb, "\n![%s %s](%s)\n", f.name, p, png)
		}
		span := func(xs []int) int { return maxInt(xs) - minInt(xs) }
		widest := len(mults) - 1
		transferred := mean(decoder.ParamMuP, mults[widest], best[decoder.ParamMuP][0])
		spBest := mean(decoder.ParamSP, mults[widest], best[decoder.ParamSP][widest])
		c1, c2, c3 := span(best[decoder.ParamMuP]) <= 1, span(best[decoder.ParamSP]) >= 2, transferred <= 1.01*spBest
		yes := map[bool]string{true: "holds", false: "fails"}
		lrOf := func(is []int) string {
			s := make([]string, len(is))
			for i, v := range is {
				s[i] = fmt.Sprintf("%.3g", lrs[v])
			}
			return strings.Join(s, ", ")
		}
		fmt.Fprintf(&sb, "\n- best learning rate by width: SP %s; μP %s\n", lrOf(best[decoder.ParamSP]), lrOf(best[decoder.ParamMuP]))
		fmt.Fprintf(&sb, "- (1) μP's best spans %d grid steps (≤ 1): %s\n- (2) SP's best spans %d grid steps (≥ 2): %s\n", span(best[decoder.ParamMuP]), yes[c1], span(best[decoder.ParamSP]), yes[c2])
		fmt.Fprintf(&sb, "- (3) width %d under μP at the learning rate transferred from width 32 (%.3g): %.4f, against SP's best at width %d: %.4f (%+.2f %%, allowed ≤ +1 %%): %s\n\n",
			32*mults[widest], lrs[best[decoder.ParamMuP][0]], transferred, 32*mults[widest], spBest, 100*(transferred/spBest-1), yes[c3])
		if slices.Contains(params, mupZero) {
			zt := mean(mupZero, mults[widest], best[mupZero][0])
			fmt.Fprintf(&sb, "- not judged: %s: best learning rate by width %s (span %d grid steps); width %d at the learning rate transferred from width 32 (%.3g): %.4f (%+.2f %% against SP's best)\n\n",
				mupNames[mupZero], lrOf(best[mupZero]), span(best[mupZero]), 32*mults[widest], lrs[best[mupZero][0]], zt, 100*(zt/spBest-1))
		}
		switch {
		case c1 && c2 && c3:
			reproduced++
		case c1 && c3:
			partial++
		}
		summary = append(summary, fmt.Sprintf("%s: μP span %d, SP span %d, transfer %+.2f %%", f.name, span(best[decoder.ParamMuP]), span(best[decoder.ParamSP]), 100*(transferred/spBest-1)))
	}
	// The decoder's coordinate check (as `loom mup coord-check`).
	cc, err := coordCheckPages(c)
	if err != nil {
		return nil, err
	}
	sb.WriteString(cc)
	verdict := "not reproduced"
	switch {
	case reproduced == len(families):
		verdict = "reproduced"
	case reproduced > 0 || partial == len(families):
		verdict = "partial"
	}
	return &Report{
		Title: "μP: learning rates that transfer across widths (decoder and DiT)",
		Claim: "Under μP the optimal learning rate stays the same as the model widens, so it can be tuned on a narrow model and transferred; under the standard parametrisation it drifts.",
		Seeds: seedsFrom(9100, seeds), Body: sb.String(),
		Verdict: verdict + ": " + strings.Join(summary, "; "),
		Changes: "Wider models and longer training (the papers sweep widths to thousands and train for far longer; at widths 32–256 and a few hundred steps the optimum is shallow); a finer or wider learning-rate grid; other hyperparameters (initialisation, output multiplier) that μP also transfers.",
	}, nil
}

// coordCheckPages runs the decoder's coordinate check (widths 32 × 1…16,
// 5 Adam steps at lr 1e-2) and writes its two PNGs, returning the page's
// section.
func coordCheckPages(c *Context) (string, error) {
	base := &decoder.Config{HiddenSize: 32, IntermediateSize: 64, NumHiddenLayers: 2, NumAttentionHeads: 4, NumKeyValueHeads: 4,
		HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 10000, VocabSize: 256, MaxPositionEmbeddings: 64, InitializerRange: 0.02}
	ids := tokenizer.Byte{}.Encode(string(data.TinyShakespeare()))
	sampler := data.NewMemSampler(ids, 8, 64, 1)
	const steps = 5
	batches := make([]data.Batch, steps)
	for i := range batches {
		batches[i] = sampler.Next()
	}
	mults := []int{1, 2, 4, 8, 16}
	if c.Quick {
		mults = []int{1, 4}
	}
	r, err := mup.CoordCheck(mup.Options{Base: base, Mults: mults, Steps: steps, LR: 1e-2, Batch: func(s int) data.Batch { return batches[s] }, Seed: 1})
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "### Coordinate check (decoder)\n\n`loom mup coord-check --out DIR` (widths 32 × %v, %d Adam steps at lr 0.01, 8×64-byte windows): mean |activation| of each layer after the last step. Largest growth of a layer from the narrowest to the widest: SP %.2f×, μP %.2f×.\n\n",
		mults, steps-1, r.Growth(decoder.ParamSP, steps-1), r.Growth(decoder.ParamMuP, steps-1))
	for _, p := range []string{decoder.ParamSP, decoder.ParamMuP} {
		png := "mup-coord-" + p + ".png"
		if err := r.Chart(p, steps-1, fmt.Sprintf("%s, %d Adam steps at lr 0.01", map[string]string{"sp": "standard parametrisation", "mup": "μP"}[p], steps-1)).WritePNG(filepath.Join(c.DocsDir, png)); err != nil {
			return "", err
		}
		fmt.Fprintf(&sb, "![coordinate check %s](%s)\n", p, png)
	}
	return sb.String(), nil
}

func seedsFrom(first uint64, n int) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = first + uint64(i)
	}
	return out
}

func maxInt(xs []int) int {
	m := xs[0]
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

func minInt(xs []int) int {
	m := xs[0]
	for _, x := range xs {
		m = min(m, x)
	}
	return m
}
