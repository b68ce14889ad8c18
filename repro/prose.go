package repro

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/loomml/loom/chart"
	"github.com/loomml/loom/models/prose"
	"github.com/loomml/loom/sciml/ode"
)

// "PROSE: Predicting Operators and Symbolic Expressions using Multimodal
// Transformers" (Liu et al., arXiv 2309.16816; code
// felix-lyx/prose): a transformer shown both the first third of an ODE
// trajectory and a skeleton of its equations predicts the rest of the
// trajectory better than one shown the data alone, still does with noisy
// skeletons, and writes valid equations with their constants.

func init() {
	Register(Entry{
		Name:    "prose",
		Paper:   "PROSE: Predicting Operators and Symbolic Expressions using Multimodal Transformers (Liu et al., arXiv 2309.16816)",
		Summary: "5 ODE systems (Lorenz, Rössler, Thomas, Sprott–Linz F, Duffing; parameters ±10 %, t ∈ [0, 6], 64 input and 128 output points): data + symbol PROSE against a data-only model, clean and noisy skeletons, validity and R² of the decoded equations",
		Run:     runProse,
	})
}

// proseRule is the verdict rule, fixed before the first full run.
const proseRule = "Per seed, on the held-out trajectories, mean relative L2 error of the predicted 128 future states: (a) PROSE with clean skeletons below the data-only model, (b) PROSE with noisy skeletons (15 % term deletion, 15 % term addition) below the data-only model; (c) with clean skeletons, at least 90 % of the decoded expressions valid (one finite expression per state component) and their median R² of the right-hand side on the held-out states at least 0.9. **Reproduced** if (a) and (b) hold in every seed and (c) holds on the mean over seeds; **partial** if (a) holds in every seed but (b) or (c) fails, or (c) holds but (a) fails in some seed; **not reproduced** otherwise."

type proseArm struct {
	name string
	rel  [][]float64 // [seed][sample]
}

func runProse(c *Context) (*Report, error) {
	systems := ode.Systems()
	perTrain, perTest, steps, batch := 200, 30, 600, 16
	cfg := prose.Config{Dim: 32, Heads: 4, Hidden: 64, DataLayers: 2, SymbolLayers: 1, FusionLayers: 1, DecoderLayers: 1, StateDim: 3, MaxSymbol: 80}
	if c.Quick {
		perTrain, perTest, steps = 40, 6, 150
		cfg.DataLayers = 1
	}
	seeds := seedsFrom(2309, c.SeedsOrQuick(3, 1))
	arms := []*proseArm{{name: "data only"}, {name: "PROSE, clean skeleton"}, {name: "PROSE, noisy skeleton"}}
	var valid, r2med, validNoisy, r2medNoisy []float64
	var sysRel = map[string][3][]float64{}
	var example struct {
		s     *prose.Sample
		preds [3][]float64
	}
	var curves [2][]float64
	var nParams [2]int
	var trainTime [2]time.Duration
	exampleTokens := []string{}
	for si, seed := range seeds {
		rng := rand.New(rand.NewPCG(seed, 0x2309))
		train, err := prose.Dataset(rng, systems, perTrain, 0.1)
		if err != nil {
			return nil, err
		}
		test, err := prose.Dataset(rng, systems, perTest, 0.1)
		if err != nil {
			return nil, err
		}
		var res [3][]prose.Result
		for k, sym := range []bool{false, true} {
			cf := cfg
			cf.Symbols = sym
			m, err := prose.New(cf, seed*10+uint64(k))
			if err != nil {
				return nil, err
			}
			nParams[k] = m.NumParams()
			start := time.Now()
			losses, err := prose.Train(m, train, prose.TrainOptions{Steps: steps, Batch: batch, LR: 2e-3, Warmup: steps / 20, SymbolWeight: 1, Seed: seed, Noisy: sym}, func(step int, d, s float64) {
				fmt.Fprintf(c.Progress, "prose seed %d %s step %d: data MSE %.4f symbol CE %.4f\n", seed, map[bool]string{false: "data-only", true: "PROSE"}[sym], step, d, s)
			})
			if err != nil {
				return nil, err
			}
			trainTime[k] += time.Since(start)
			if si == 0 {
				curves[k] = losses
			}
			evalRNG := rand.New(rand.NewPCG(seed, 7))
			if !sym {
				if res[0], err = prose.Evaluate(m, test, prose.NoSymbols, evalRNG, 50, false); err != nil {
					return nil, err
				}
				continue
			}
			if res[1], err = prose.Evaluate(m, test, prose.CleanSymbols, evalRNG, 50, true); err != nil {
				return nil, err
			}
			if res[2], err = prose.Evaluate(m, test, prose.NoisySymbols, evalRNG, 50, true); err != nil {
				return nil, err
			}
		}
		for a := range arms {
			rel := make([]float64, len(test))
			for i, r := range res[a] {
				rel[i] = r.RelL2
				e := sysRel[test[i].System]
				e[a] = append(e[a], r.RelL2)
				sysRel[test[i].System] = e
			}
			arms[a].rel = append(arms[a].rel, rel)
		}
		v, r := proseSymbolStats(res[1])
		valid, r2med = append(valid, v), append(r2med, r)
		v, r = proseSymbolStats(res[2])
		validNoisy, r2medNoisy = append(validNoisy, v), append(r2medNoisy, r)
		if si == 0 {
			example.s = test[0]
			exampleTokens = res[1][0].Tokens
		}
		fmt.Fprintf(c.Progress, "prose seed %d: rel L2 data-only %.4f, PROSE clean %.4f, noisy %.4f; valid %.1f %% median R² %.4f\n", seed, meanOf(arms[0].rel[si]), meanOf(arms[1].rel[si]), meanOf(arms[2].rel[si]), 100*valid[si], r2med[si])
	}
	// The verdict.
	aAll, bAll := true, true
	var sb strings.Builder
	sb.WriteString("## Setup\n\n")
	fmt.Fprintf(&sb, "Systems (`sciml/ode`, PROSE's equations and nominal parameters): %s. Per seed, %d training and %d test trajectories per system, each with parameters drawn uniformly within ±10 %% of nominal (rounded to 3 significant digits, as PROSE's `refine_floats`), an initial state uniform in [−2, 2]³, solved with loom's adaptive Dormand–Prince RK45 (rtol 1e-5, atol 1e-6) at 192 equispaced times on [0, 6]: the first 64 (t < 2) are the input, the remaining 128 the target. The model sees the input normalised per component (mean and standard deviation of the input window) and predicts in the same units; errors are measured in the original units.\n\n", strings.Join(systems, ", "), perTrain, perTest)
	fmt.Fprintf(&sb, "Models (`models/prose`): width %d, %d heads, FFN %d; data encoder %d layers, symbol encoder %d, fusion %d, data decoder %d (cross-attention from query times only), symbolic decoder %d (causal self- plus cross-attention). PROSE has %d parameters, the data-only model (no symbol encoder, no symbolic decoder) %d. Both: AdamW (lr 2e-3, weight decay 1e-4, %d warm-up steps, cosine decay), batch %d, %d steps, gradient clipping 1; PROSE's loss is the data MSE plus the symbolic cross-entropy, and it trains on noisy skeletons (each sample: a term deleted with probability 0.15, a random term C, C·u_i or C·u_i·u_j added with probability 0.15, PROSE's `noisy_text_input`). Training time, summed over seeds: data-only %s, PROSE %s.\n\n", cfg.Dim, cfg.Heads, cfg.Hidden, cfg.DataLayers, cfg.SymbolLayers, cfg.FusionLayers, cfg.DecoderLayers, cfg.SymbolLayers, nParams[1], nParams[0], steps/20, batch, steps, trainTime[0].Round(time.Second), trainTime[1].Round(time.Second))
	sb.WriteString("Symbol input: the skeleton of the true equations in Polish notation, constants replaced by a placeholder `C`; the symbolic decoder writes the full expression, each constant as sign, 3-digit mantissa and exponent tokens (PROSE's float encoding). Decoded expressions are parsed; an expression is *valid* when it parses into one finite expression per state component, and its R² compares its right-hand side with the true one at the 128 held-out (target-window) states, pooled over components.\n\n")
	fmt.Fprintf(&sb, "Rule (fixed before the first full run): %s\n\n", proseRule)
	sb.WriteString("## Results\n\n| seed | data only | PROSE, clean skeleton | PROSE, noisy skeleton | valid (clean) | median R² (clean) | valid (noisy) | median R² (noisy) |\n|---|---|---|---|---|---|---|---|\n")
	for si, seed := range seeds {
		d, cl, no := meanOf(arms[0].rel[si]), meanOf(arms[1].rel[si]), meanOf(arms[2].rel[si])
		aAll = aAll && cl < d
		bAll = bAll && no < d
		fmt.Fprintf(&sb, "| %d | %.4f | %.4f | %.4f | %.1f %% | %.4f | %.1f %% | %.4f |\n", seed, d, cl, no, 100*valid[si], r2med[si], 100*validNoisy[si], r2medNoisy[si])
	}
	mv, mr := meanOf(valid), meanOf(r2med)
	cOK := mv >= 0.9 && mr >= 0.9
	var means [3]float64
	var sds [3]float64
	for a := range arms {
		var per []float64
		for _, r := range arms[a].rel {
			per = append(per, meanOf(r))
		}
		means[a], sds[a] = meanStd(per)
	}
	fmt.Fprintf(&sb, "| mean ± std | %.4f ± %.4f | %.4f ± %.4f | %.4f ± %.4f | %.1f %% | %.4f | %.1f %% | %.4f |\n\n", means[0], sds[0], means[1], sds[1], means[2], sds[2], 100*mv, mr, 100*meanOf(validNoisy), meanOf(r2medNoisy))
	sb.WriteString("Mean relative L2 error of the 128 predicted future states per test trajectory (lower is better), by system, pooled over seeds (median in parentheses):\n\n| system | data only | PROSE, clean | PROSE, noisy |\n|---|---|---|---|\n")
	var bars []chart.Bar
	for _, name := range systems {
		e := sysRel[name]
		fmt.Fprintf(&sb, "| %s | %.4f (%.4f) | %.4f (%.4f) | %.4f (%.4f) |\n", name, meanOf(e[0]), proseMedian(e[0]), meanOf(e[1]), proseMedian(e[1]), meanOf(e[2]), proseMedian(e[2]))
		for a := range arms {
			bars = append(bars, chart.Bar{Label: name + ": " + []string{"data", "clean", "noisy"}[a], Value: meanOf(e[a])})
		}
	}
	sb.WriteString("\n")
	if err := (&chart.BarChart{Title: fmt.Sprintf("PROSE: mean relative L2 error by system (%d seeds)", len(seeds)), YLabel: "relative L2 error", Bars: bars}).WritePNG(filepath.Join(c.DocsDir, "prose-systems.png")); err != nil {
		return nil, err
	}
	sb.WriteString("![relative L2 by system](prose-systems.png)\n\n")
	lc := &chart.Chart{Title: fmt.Sprintf("Training loss (seed %d; PROSE: data MSE + symbol cross-entropy)", seeds[0]), XLabel: "step", YLabel: "loss", LogY: true}
	for k, name := range []string{"data only", "PROSE"} {
		xs := make([]float64, len(curves[k]))
		for i := range xs {
			xs[i] = float64(i)
		}
		lc.Series = append(lc.Series, chart.Series{Name: name, X: xs, Y: proseSmooth(curves[k], 25)})
	}
	if err := lc.WritePNG(filepath.Join(c.DocsDir, "prose-loss.png")); err != nil {
		return nil, err
	}
	sb.WriteString("![training loss](prose-loss.png)\n\n")
	if example.s != nil {
		fmt.Fprintf(&sb, "First test trajectory of seed %d (%s, parameters %v):\n\n- skeleton given: `%s`\n- decoded: `%s`\n- true: `%s`\n\n", seeds[0], example.s.System, example.s.Params, strings.Join(example.s.Expr.Skeleton(), " "), strings.Join(exampleTokens, " "), strings.Join(example.s.Expr.Tokens(), " "))
	}
	if !c.Quick {
		if err := proseLonger(c, &sb, seeds[0], systems, perTrain, perTest, steps, batch, cfg); err != nil {
			return nil, err
		}
	}
	var verdict string
	switch {
	case aAll && bAll && cOK:
		verdict = "reproduced"
	case aAll || cOK:
		verdict = "partial"
	default:
		verdict = "not reproduced"
	}
	verdict += fmt.Sprintf(": mean relative L2 over %d seeds, data-only %.4f, PROSE with clean skeletons %.4f (lower in %s), with noisy skeletons %.4f (lower in %s); clean-skeleton expressions %.1f %% valid with median R² %.4f", len(seeds), means[0], means[1], proseAll(aAll), means[2], proseAll(bAll), 100*mv, mr)
	return &Report{
		Title:   "PROSE: data + symbols against data only on ODE trajectories",
		Claim:   "the multimodal (data + symbol) model predicts future trajectories with lower relative L2 error than the data-only model, with clean and with noisy symbols, and its symbolic decoder writes valid expressions (≥ 90 %) with high R² on held-out data",
		Seeds:   seeds,
		Body:    sb.String(),
		Verdict: verdict,
		Changes: fmt.Sprintf("Scale: the official code (felix-lyx/prose, prose_ode/parsers.py) defaults to width 512, 8 heads, a 2-layer data encoder, 4-layer symbol encoder, 8-layer fusion, data decoder and symbolic decoder, batch 256 and 80 × 2,000 steps, on 15 systems with 20 initial states per parameter draw; this run trains width %d (one or two layers per part) for %d steps of batch %d on %d trajectories per system of 5 systems on a shared CPU. The symbolic decoder must copy the skeleton and fill each constant with three tokens, which takes far more steps than the data decoder needs; a longer run is what would most likely move (c) (see the supplementary section: the same model trained 3× longer on one seed). A data-only model trained longer (or on more trajectories) could close the gap the skeleton gives in (a) and (b). A seed counts as a win only when the mean error is lower; more test trajectories or more seeds could flip a close seed.", cfg.Dim, steps, batch, perTrain),
	}, nil
}

func proseSymbolStats(rs []prose.Result) (valid, medR2 float64) {
	var r2 []float64
	for _, r := range rs {
		if r.Valid {
			r2 = append(r2, r.R2)
		}
	}
	if len(rs) == 0 {
		return 0, math.NaN()
	}
	return float64(len(r2)) / float64(len(rs)), proseMedian(r2)
}

func proseMedian(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func proseSmooth(xs []float64, w int) []float64 {
	out := make([]float64, len(xs))
	sum := 0.0
	for i, x := range xs {
		sum += x
		if i >= w {
			sum -= xs[i-w]
		}
		out[i] = sum / float64(min(i+1, w))
	}
	return out
}

func proseAll(ok bool) string {
	if ok {
		return "every seed"
	}
	return "not every seed"
}

// proseLongerFactor is how much longer the supplementary run trains. It was
// added after the first full run (whose verdict it does not enter): that run
// found the data claims held but only 76 % of the expressions valid.
const proseLongerFactor = 3

// proseLonger trains PROSE on seed's data for proseLongerFactor × steps and
// reports the same metrics, outside the verdict.
func proseLonger(c *Context, sb *strings.Builder, seed uint64, systems []string, perTrain, perTest, steps, batch int, cfg prose.Config) error {
	rng := rand.New(rand.NewPCG(seed, 0x2309))
	train, err := prose.Dataset(rng, systems, perTrain, 0.1)
	if err != nil {
		return err
	}
	test, err := prose.Dataset(rng, systems, perTest, 0.1)
	if err != nil {
		return err
	}
	cfg.Symbols = true
	m, err := prose.New(cfg, seed*10+1)
	if err != nil {
		return err
	}
	n := proseLongerFactor * steps
	if _, err := prose.Train(m, train, prose.TrainOptions{Steps: n, Batch: batch, LR: 2e-3, Warmup: n / 20, SymbolWeight: 1, Seed: seed, Noisy: true}, func(step int, d, s float64) {
		fmt.Fprintf(c.Progress, "prose longer seed %d step %d: data MSE %.4f symbol CE %.4f\n", seed, step, d, s)
	}); err != nil {
		return err
	}
	evalRNG := rand.New(rand.NewPCG(seed, 7))
	fmt.Fprintf(sb, "## Supplementary: %d× longer training (not in the verdict)\n\nAdded after the first full run, whose verdict stands as above: PROSE trained on seed %d's data for %d steps (everything else the same; the same test trajectories). The data-only model was not retrained, so only the symbolic columns compare like with like.\n\n| symbol input | mean relative L2 | valid | median R² |\n|---|---|---|---|\n", proseLongerFactor, seed, n)
	for _, mode := range []struct {
		name string
		m    prose.SymbolMode
	}{{"clean skeleton", prose.CleanSymbols}, {"noisy skeleton", prose.NoisySymbols}} {
		res, err := prose.Evaluate(m, test, mode.m, evalRNG, 50, true)
		if err != nil {
			return err
		}
		rel := make([]float64, len(res))
		for i, r := range res {
			rel[i] = r.RelL2
		}
		v, r2 := proseSymbolStats(res)
		fmt.Fprintf(sb, "| %s | %.4f | %.1f %% | %.4f |\n", mode.name, meanOf(rel), 100*v, r2)
		fmt.Fprintf(c.Progress, "prose longer seed %d %s: rel L2 %.4f valid %.1f %% median R² %.4f\n", seed, mode.name, meanOf(rel), 100*v, r2)
	}
	sb.WriteString("\n")
	return nil
}
