package repro

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/loomml/loom/chart"
	"github.com/loomml/loom/data/molecules"
	"github.com/loomml/loom/models/atoms"
	"github.com/loomml/loom/train"
)

// "Transformers Discover Molecular Structure Without Graph Priors"
// (Kreiman et al., arXiv 2510.02259; code ASK-Berkeley/graph-free-transformer):
// a plain Transformer over atoms, given elements and Cartesian coordinates
// only, against a cutoff graph network (SchNet) on energies and forces, at
// equal training compute; and whether its attention learns to fall off
// with interatomic distance.

func init() {
	Register(Entry{
		Name:    "atoms",
		Paper:   "Transformers Discover Molecular Structure Without Graph Priors (Kreiman et al., arXiv 2510.02259)",
		Summary: "MMFF94 energies and forces of 300 small molecules: graph-free Transformer (−∂E/∂x, and the paper's direct force head) against SchNet at equal training FLOPs; attention against interatomic distance; 3 seeds",
		Run:     runAtoms,
	})
}

// atomsRule is the verdict rule, fixed before the first full run.
const atomsRule = "On the test molecules (30 molecules, 300 geometries, none seen in training), mean over seeds, each run's weights from its best validation: (1) energy: the graph-free Transformer's energy MAE is at most 2× SchNet's and below the null model's (the per-element reference energies alone); (2) forces: its force MAE is at most 2× SchNet's and below the null model's (zero forces); (3) attention decays with distance: the Spearman rank correlation between interatomic distance and attention relative to uniform (0.25 Å bins with at least 100 atom pairs, test molecules, seeds pooled) is at most −0.5 in every block. The judged Transformer is the conservative one issue 26 asks for (forces −∂E/∂x, with the auxiliary direct head the package documents); both models get the same training compute, counted as forward FLOPs per molecule × molecules seen. **Reproduced** if all three hold; **partial** if one or two do; **not reproduced** otherwise. The Transformer with the paper's direct force head (its released models' choice) is reported against the same thresholds, not judged."

// atomsVariant is one model of the comparison.
type atomsVariant struct {
	name, file string
	config     atoms.Config
}

func atomsVariants() []atomsVariant {
	t := atoms.DefaultRun(atoms.ArchTransformer).Model
	d := t
	d.DirectForces, d.AuxForceWeight = true, 0
	return []atomsVariant{
		{"SchNet (cutoff 5 Å)", "schnet", atoms.DefaultRun(atoms.ArchSchNet).Model},
		{"Transformer, −∂E/∂x (judged)", "transformer", t},
		{"Transformer, direct force head (the paper's)", "transformer-direct", d},
	}
}

func runAtoms(c *Context) (*Report, error) {
	seeds := c.SeedsOrQuick(3, 1)
	schnetSteps, batch, evalEvery, warmup := 2000, 32, 250, 100
	if c.Quick {
		schnetSteps, batch, evalEvery, warmup = 150, 16, 50, 20
	}
	trF, vaF, teF, err := molecules.MMFFSplit()
	if err != nil {
		return nil, err
	}
	trM, err := atoms.FromFrames(trF)
	if err != nil {
		return nil, err
	}
	vaM, err := atoms.FromFrames(vaF)
	if err != nil {
		return nil, err
	}
	teM, err := atoms.FromFrames(teF)
	if err != nil {
		return nil, err
	}
	type row struct {
		v                  atomsVariant
		params, steps      int
		flops              float64 // forward FLOPs per training molecule
		energy, force, sec []float64
		curveX, curveY     []float64 // first seed's validation loss
		pairs              []atoms.AttentionPair
	}
	vs := atomsVariants()
	rows := make([]*row, len(vs))
	// Equal training compute: each model's steps are SchNet's scaled by
	// the ratio of forward FLOPs per training molecule.
	for i, v := range vs {
		ref, err := atoms.FitReference(trM)
		if err != nil {
			return nil, err
		}
		m, err := atoms.New(v.config, ref)
		if err != nil {
			return nil, err
		}
		cost := m.Cost(trM)
		rows[i] = &row{v: v, params: cost.Params, flops: cost.FLOPs}
	}
	for _, r := range rows {
		r.steps = int(math.Round(float64(schnetSteps) * rows[0].flops / r.flops))
	}
	for _, r := range rows {
		for s := range seeds {
			seed := uint64(2510 + s)
			cfg := r.v.config
			cfg.Seed = seed
			rc := atoms.RunConfig{Model: cfg, EvalEvery: evalEvery,
				Train: train.Hyper{Steps: r.steps, BatchSize: batch, LR: 1e-3, MinLRFactor: 0.1, Warmup: warmup, Clip: 10}}
			start := time.Now()
			m, ms, err := atoms.Fit(rc, trM, vaM, atoms.FitOptions{OutDir: filepath.Join(c.WorkDir, fmt.Sprintf("%s-%d", r.v.file, seed))})
			if err != nil {
				return nil, fmt.Errorf("%s seed %d: %w", r.v.name, seed, err)
			}
			sec := time.Since(start).Seconds()
			res, err := atoms.Evaluate(m, teM, 64)
			if err != nil {
				return nil, err
			}
			r.energy, r.force, r.sec = append(r.energy, res.EnergyMAE), append(r.force, res.ForceMAE), append(r.sec, sec)
			if s == 0 {
				for _, x := range ms {
					if x.ValLoss > 0 {
						r.curveX, r.curveY = append(r.curveX, float64(x.Step)), append(r.curveY, x.ValLoss)
					}
				}
			}
			if cfg.Arch == atoms.ArchTransformer {
				p, err := atoms.AttentionPairs(m, teM, 32)
				if err != nil {
					return nil, err
				}
				r.pairs = append(r.pairs, p...)
			}
			fmt.Fprintf(c.Progress, "atoms: %s seed %d: test energy MAE %.2f kcal/mol, force MAE %.2f kcal/mol/Å (%d steps, %.0f s)\n", r.v.name, seed, res.EnergyMAE, res.ForceMAE, r.steps, sec)
		}
	}
	mean := func(xs []float64) float64 { m, _ := meanStd(xs); return m }
	S, T, D := rows[0], rows[1], rows[2]
	nullE, nullF, err := atomsNull(trM, teM)
	if err != nil {
		return nil, err
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "**Setup.** loom's MMFF94 set (`data/molecules`; RDKit's MMFF94 energies and forces of rattled ETKDG conformers of 300 small ESOL molecules, 2–20 heavy atoms with hydrogens, mean %.1f atoms; **force-field labels, not DFT**), split by molecule: %d training, %d validation and %d test geometries. "+
		"Both models learn energies standardised by per-element reference energies fitted on the training set; the loss is MSE(energy) + 10·MSE(forces) in standardised units. AdamW at 1e-3, %d warmup steps, cosine to 1e-4, batches of %d molecules, gradient norm clipped at 10, validation every %d steps with the best kept (`atoms.Fit`, as `loom atoms train`). "+
		"SchNet: 3 interactions, 64 features, 25 Gaussians, cosine cutoff 5 Å (`--arch schnet`). Transformer: 4 pre-norm blocks of width 64, 4 heads, FFN 256, element embedding plus an MLP embedding of the centred coordinates, no positional encoding, no graph, a per-atom energy head summed over atoms, a random rotation of every molecule at every step; forces −∂E/∂x through the second-order tape, with an auxiliary direct force head of weight 10 whose output is only a loss term (the loom defaults, `loom atoms train`); the direct-head variant predicts forces with that head instead (`--forces direct`), as the paper's released fine-tuning configs do. "+
		"**Equal compute**: each model's step count is SchNet's %d scaled by the ratio of forward FLOPs per training molecule (matrix products, attention and pair terms; `Model.Cost`), so all see the same forward FLOPs; SchNet and the judged Transformer both pay the same backward multiplier for −∂E/∂x, the direct-head model less. Parameters are not equal: the FLOP-matched Transformer has %.1f× SchNet's (the paper compares a 1B Transformer with a 6M GNN at equal FLOPs).\n\n",
		meanAtoms(trM), len(trM), len(vaM), len(teM), warmup, batch, evalEvery, schnetSteps, float64(T.params)/float64(S.params))
	sb.WriteString("Verdict rule (fixed before running): " + atomsRule + "\n\n")
	sb.WriteString("| model | parameters | forward MFLOPs / molecule | steps | training forward TFLOPs | test energy MAE (kcal/mol) | test force MAE (kcal/mol/Å) | energy ÷ SchNet | forces ÷ SchNet | seconds per run |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	var eBars, fBars []chart.Bar
	var series []chart.Series
	for _, r := range rows {
		em, es := meanStd(r.energy)
		fm, fsd := meanStd(r.force)
		fmt.Fprintf(&sb, "| %s | %d | %.2f | %d | %.2f | %.2f ± %.2f | %.2f ± %.2f | %.2f | %.2f | %.0f |\n", r.v.name, r.params, r.flops/1e6, r.steps,
			r.flops*float64(r.steps*batch)/1e12, em, es, fm, fsd, em/mean(S.energy), fm/mean(S.force), mean(r.sec))
		eBars = append(eBars, chart.Bar{Label: r.v.name, Value: em, Err: es})
		fBars = append(fBars, chart.Bar{Label: r.v.name, Value: fm, Err: fsd})
		series = append(series, chart.Series{Name: r.v.name, X: r.curveX, Y: r.curveY})
	}
	fmt.Fprintf(&sb, "| null model: reference energies, zero forces | — | — | — | — | %.2f | %.2f | %.2f | %.2f | — |\n", nullE, nullF, nullE/mean(S.energy), nullF/mean(S.force))
	sb.WriteString("\n(mean ± standard deviation over seeds; \"÷ SchNet\" is the ratio of means. The null model predicts each molecule's energy as the sum of the per-element reference energies fitted on the training set, and zero forces: a model that has learnt nothing of the geometry.)\n\n")
	for _, p := range []struct {
		file, title, unit string
		bars              []chart.Bar
		limit             float64
	}{
		{"atoms-energy.png", "test energy MAE (mean ± std over seeds)", "kcal/mol", eBars, 2 * mean(S.energy)},
		{"atoms-forces.png", "test force MAE (mean ± std over seeds)", "kcal/mol/Å", fBars, 2 * mean(S.force)},
	} {
		bc := &chart.BarChart{Title: p.title, YLabel: p.unit, Bars: p.bars, HLines: []chart.Ref{{Y: p.limit, Label: "2× SchNet"}}}
		if err := bc.WritePNG(filepath.Join(c.DocsDir, p.file)); err != nil {
			return nil, err
		}
		fmt.Fprintf(&sb, "![%s](%s)\n", p.title, p.file)
	}
	if err := (&chart.Chart{Title: "validation loss (standardised units, first seed)", XLabel: "step", YLabel: "loss", LogY: true, Series: series}).WritePNG(filepath.Join(c.DocsDir, "atoms-curves.png")); err != nil {
		return nil, err
	}
	sb.WriteString("![validation curves](atoms-curves.png)\n\n")
	const minPairs = 100
	decay := map[*row][]float64{}
	for _, r := range []*row{T, D} {
		bins := atoms.BinAttention(r.pairs, 0.25)
		decay[r] = atoms.AttentionDecay(bins, minPairs)
		png := "atoms-attention-" + r.v.file + ".png"
		if err := atoms.AttentionChart(bins, minPairs, "attention against distance, "+r.v.file+" (test set, seeds pooled)").WritePNG(filepath.Join(c.DocsDir, png)); err != nil {
			return nil, err
		}
		fmt.Fprintf(&sb, "![attention %s](%s)\n\n", r.v.name, png)
		fmt.Fprintf(&sb, "%s, attention relative to uniform (1 = 1/atoms), mean over heads, by distance:\n\n| block | < 1 Å | 1–2 Å | 2–3 Å | 3–4 Å | ≥ 4 Å | Spearman ρ |\n| --- | --- | --- | --- | --- | --- | --- |\n", r.v.name)
		for l, rho := range decay[r] {
			fmt.Fprintf(&sb, "| %d |", l+1)
			for _, rg := range [][2]float64{{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, math.Inf(1)}} {
				fmt.Fprintf(&sb, " %s |", rangeAttention(r.pairs, l, rg[0], rg[1]))
			}
			fmt.Fprintf(&sb, " %.2f |\n", rho)
		}
		sb.WriteString("\n")
	}
	holds := func(r *row) (bool, bool, bool) {
		att := len(decay[r]) > 0
		for _, x := range decay[r] {
			if !(x <= -0.5) {
				att = false
			}
		}
		e, f := mean(r.energy), mean(r.force)
		return e <= 2*mean(S.energy) && e < nullE, f <= 2*mean(S.force) && f < nullF, att
	}
	yes := map[bool]string{true: "holds", false: "fails"}
	c1, c2, c3 := holds(T)
	d1, d2, d3 := holds(D)
	fmt.Fprintf(&sb, "- (1) energy: Transformer %.2f against 2 × SchNet's %.2f = %.2f and the null model's %.2f kcal/mol: %s (direct head: %.2f, %s)\n", mean(T.energy), mean(S.energy), 2*mean(S.energy), nullE, yes[c1], mean(D.energy), yes[d1])
	fmt.Fprintf(&sb, "- (2) forces: Transformer %.2f against 2 × SchNet's %.2f = %.2f and the null model's %.2f kcal/mol/Å: %s (direct head: %.2f, %s)\n", mean(T.force), mean(S.force), 2*mean(S.force), nullF, yes[c2], mean(D.force), yes[d2])
	fmt.Fprintf(&sb, "- (3) attention decays with distance, ρ ≤ −0.5 in every block: Transformer %s (%s), direct head %s (%s)\n", fmt2(decay[T]), yes[c3], fmt2(decay[D]), yes[d3])
	held := 0
	for _, ok := range []bool{c1, c2, c3} {
		if ok {
			held++
		}
	}
	verdict := "not reproduced"
	switch {
	case held == 3:
		verdict = "reproduced"
	case held >= 1:
		verdict = "partial"
	}
	return &Report{
		Title: "Transformers on atoms without graph priors: energies and forces against SchNet (MMFF94)",
		Claim: "A plain Transformer over atoms, given only elements and Cartesian coordinates, reaches energy and force errors competitive with a graph network at equal training compute (OMol25: 1B parameters, 117.99 meV and 18.35 meV/Å against eSEN-sm-d's 129.77 and 13.01), and its attention learns to fall off with interatomic distance.",
		Seeds: seedsFrom(2510, seeds),
		Body:  sb.String(),
		Verdict: fmt.Sprintf("%s: %d of 3 hold (test MAE, mean of %d seeds: Transformer energy %.2f kcal/mol and forces %.2f kcal/mol/Å, %.2f× and %.2f× SchNet's %.2f and %.2f; attention ρ %s; the paper's direct-head variant %.2f and %.2f, ρ %s)",
			verdict, held, seeds, mean(T.energy), mean(T.force), mean(T.energy)/mean(S.energy), mean(T.force)/mean(S.force), mean(S.energy), mean(S.force), fmt2(decay[T]), mean(D.energy), mean(D.force), fmt2(decay[D])),
		Changes: "Scale, above all: the paper's models are 5M–1B parameters trained on OMol25's ~100M DFT structures, where a Transformer can afford to learn locality from data; here 2,400 geometries of 240 molecules and a few thousand steps. Pre-training (the paper pre-trains on discretised positions and forces before fine-tuning); longer training at equal compute for both; DFT labels; a learning-rate search per model.",
	}, nil
}

// atomsNull is the null model's test errors: energies from the reference
// energies fitted on train alone, zero forces.
func atomsNull(train, test []atoms.Molecule) (energyMAE, forceMAE float64, err error) {
	ref, err := atoms.FitReference(train)
	if err != nil {
		return 0, 0, err
	}
	n := 0
	for _, m := range test {
		energyMAE += math.Abs(m.Energy - ref.Baseline(m.Z))
		for _, f := range m.Forces {
			forceMAE += math.Abs(f)
		}
		n += len(m.Forces)
	}
	return energyMAE / float64(len(test)), forceMAE / float64(n), nil
}

// meanAtoms is the mean atom count of mols.
func meanAtoms(mols []atoms.Molecule) float64 {
	n := 0
	for _, m := range mols {
		n += m.Len()
	}
	return float64(n) / float64(len(mols))
}

// rangeAttention is block l's mean relative attention over pairs at
// distances in [lo, hi), or "—" when there are none.
func rangeAttention(pairs []atoms.AttentionPair, l int, lo, hi float64) string {
	sum, n := 0.0, 0
	for _, p := range pairs {
		if p.Layer == l && p.Distance >= lo && p.Distance < hi {
			sum += p.Weight * float64(p.Atoms)
			n++
		}
	}
	if n == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f", sum/float64(n))
}

// fmt2 is xs as "[a, b, …]" to two decimals.
func fmt2(xs []float64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprintf("%.2f", x)
	}
	return "[" + strings.Join(s, ", ") + "]"
}
