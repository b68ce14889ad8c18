package repro

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/chart"
	"github.com/loomml/loom/data/digits"
	"github.com/loomml/loom/distill"
	"github.com/loomml/loom/models/dit"
	"github.com/loomml/loom/moefy"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/train"
)

// Dense2MoE (arXiv 2510.09094) in its own setting: a class-conditional
// diffusion transformer (models/dit, on the embedded 8×8 digits) whose MLPs
// become a shared expert plus routed experts (moefy.ConvertDiT), distilled
// in the paper's two stages, against Taylor pruning to the same active
// width; then Mixture of Blocks (dit.WithMoB) with the group feature loss.

func init() {
	Register(Entry{
		Name:    "dense2moe",
		Paper:   "Restructuring Diffusion Transformer to MoE for Efficient Text-to-Image Generation (Dense2MoE, arXiv 2510.09094)",
		Summary: "a class-conditional DiT on 8×8 digits: its MLPs as 1 shared + 12 routed experts, 2 active (62.5 % fewer active MLP parameters), distilled in the paper's two stages, against Taylor pruning to the same width; then Mixture of Blocks (1 block of each pair per image); 3 seeds",
		Run:     runDense2MoEDiT,
	})
}

// dense2moeDiTRule is the verdict rule, fixed before the first full run.
const dense2moeDiTRule = "Three claims, judged on the held-out noise-prediction MSE (fixed draws). (1) At 62.5 % fewer active MLP parameters, with the same distillation budget, the Dense2MoE student's MSE is below the Taylor-pruned dense student's by more than twice the larger seed std of the two. (2) With the balance loss, every routed expert of every block receives at least a quarter of its uniform share (1/(4E)) of the routed slots on the held-out draws, on every seed. (3) Mixture of Blocks adds sparsity at a small cost: it skips at least 40 % of the block runs on the held-out draws, and its mean MSE is at most 10 % above that of the same Dense2MoE student distilled for the same extra steps without block routing (the control). **Reproduced** if all three hold; **partial** if (1) holds and (2) or (3) fails; **not reproduced** if (1) fails. The class agreement of guided samples (a 1-nearest-neighbour classifier on the training images) is reported beside and does not enter the verdict."

// d2mDiT is the protocol's size: the teacher, the students' distillation
// budget (split in half between the two stages), the Mixture of Blocks
// stage (and its control), the held-out draws per image.
type d2mDiT struct {
	teacherSteps, budget, mobSteps, repeats int
}

func runDense2MoEDiT(c *Context) (*Report, error) {
	seeds := c.SeedsOrQuick(3, 1)
	p := d2mDiT{teacherSteps: 6000, budget: 1200, mobSteps: 600, repeats: 8}
	if c.Quick {
		p = d2mDiT{teacherSteps: 600, budget: 60, mobSteps: 30, repeats: 2}
	}
	trainSet, heldX, heldY, err := digitSplit()
	if err != nil {
		return nil, err
	}
	cfg := dit.Config{ImageSize: digits.Size, Channels: 1, PatchSize: 2, Hidden: 96, Depth: 4, Heads: 4, MLPRatio: 4,
		Classes: digits.Classes, ClassDropout: 0.1, Diffusion: dit.Schedule{Steps: 200}}
	// The paper's split 1S12E2A of the 4·96 = 384 MLP units: a shared
	// expert of a quarter, 12 routed experts of a sixteenth, 2 per token:
	// 144 of 384 units active, 62.5 % fewer.
	const H, S, E, R, K = 384, 96, 12, 24, 2
	const G, A = 2, 1 // Mixture of Blocks: groups of 2 blocks, 1 runs
	draws := dit.FixedDraws(cfg.Diffusion, heldX, heldY, p.repeats, 99)
	nearest := newNearest(trainSet.X, trainSet.Y)
	realAcc := nearest.agreement(heldX, heldY)
	const perClass, guidance, sampleSeed = 10, 2.0, 5

	arms := []string{
		"dense teacher",
		"Taylor-pruned dense MLP (144 units)",
		"Dense2MoE (1 shared + 12 routed, k = 2, balance loss)",
		"Dense2MoE without the balance loss",
		"Dense2MoE, control: + distillation steps",
		"Dense2MoE + Mixture of Blocks (1 of 2 blocks)",
	}
	mse := map[string][]float64{}
	before := map[string][]float64{}
	acc := map[string][]float64{}
	minShare := map[string][]float64{}
	skipped := map[string][]float64{}
	macs := map[string]float64{}
	var grids []*tensor.Tensor
	var used []uint64
	for si := range seeds {
		seed := uint64(7100 + si)
		used = append(used, seed)
		fmt.Fprintf(c.Progress, "dense2moe: seed %d, dense teacher (%d steps)\n", seed, p.teacherSteps)
		teacher, err := dit.New(cfg, seed)
		if err != nil {
			return nil, err
		}
		h := train.Hyper{Steps: p.teacherSteps, BatchSize: 64, LR: 1e-3, Warmup: max(1, p.teacherSteps/20), MinLRFactor: 0.1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Clip: 1}
		if err := (&train.Loop[dit.Batch]{Model: dit.Trainer{M: teacher}, Data: train.NewEpochSampler[dit.Batch](trainSet, 64, seed), Hyper: h,
			RNG: tensor.NewRNG(seed + 1), Progress: c.Progress}).Train(); err != nil {
			return nil, err
		}
		// Calibration for the Taylor importance: 4 batches of 64 training images.
		var calib []dit.Batch
		for b := range 4 {
			idx := make([]int, 64)
			for i := range idx {
				idx[i] = (b*64 + i) * 7 % trainSet.Len()
			}
			calib = append(calib, trainSet.Batch(idx))
		}
		distil := func(st *dit.Model, trainable []*autograd.Var, dc distill.DiTConfig, steps int, stream uint64) error {
			d, err := distill.NewDiT(st, teacher, dc)
			if err != nil {
				return err
			}
			d.Trainable = trainable
			h := train.Hyper{Steps: steps, BatchSize: 64, LR: 5e-4, Warmup: max(1, steps/10), MinLRFactor: 0.1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Clip: 1}
			return (&train.Loop[dit.Batch]{Model: d, Data: train.NewEpochSampler[dit.Batch](trainSet, 64, seed+stream), Hyper: h,
				RNG: tensor.NewRNG(seed + stream + 1), Progress: c.Progress}).Train()
		}
		record := func(name string, m *dit.Model) {
			loads := make([][]int, len(m.Blocks))
			var st dit.MoBStats
			v := m.NoiseMSE(draws, 256, func() {
				for i, b := range m.Blocks {
					if moe, ok := b.MLP.(*nn.MoE); ok {
						if loads[i] == nil {
							loads[i] = make([]int, len(moe.Stats.Load))
						}
						for e, n := range moe.Stats.Load {
							loads[i][e] += n
						}
					}
				}
				st.Skipped += m.MoBStats.Skipped
				st.Total += m.MoBStats.Total
			})
			mse[name] = append(mse[name], v)
			if _, ok := m.Blocks[0].MLP.(*nn.MoE); ok {
				minShare[name] = append(minShare[name], leastShare(loads))
			}
			frac := 0.0
			if st.Total > 0 {
				frac = float64(st.Skipped) / float64(st.Total)
				skipped[name] = append(skipped[name], frac)
			}
			s := m.Sample(m.ClassLabels(perClass), guidance, tensor.NewRNG(sampleSeed))
			acc[name] = append(acc[name], nearest.agreement(s, m.ClassLabels(perClass)))
			if si == 0 {
				idx := make([]int, 0, 4*cfg.Classes)
				for k := range cfg.Classes {
					for j := range 4 {
						idx = append(idx, k*perClass+j)
					}
				}
				grids = append(grids, tensor.IndexSelect(s, 0, idx))
			}
			macs[name] = ditMACs(m, K, 1-frac)
			fmt.Fprintf(c.Progress, "dense2moe: seed %d, %s: held-out MSE %.5f, sample agreement %.2f\n", seed, name, v, acc[name][len(acc[name])-1])
		}
		record(arms[0], teacher)

		// Baseline: the dense MLP cut to the active width, the whole budget.
		pruned, err := moefy.TaylorPruneDiT(teacher, calib, S+K*R, seed)
		if err != nil {
			return nil, err
		}
		before[arms[1]] = append(before[arms[1]], pruned.NoiseMSE(draws, 256, nil))
		fmt.Fprintf(c.Progress, "dense2moe: seed %d, %s, distilling %d steps\n", seed, arms[1], p.budget)
		if err := distil(pruned, nil, distill.DiTConfig{Output: 1, Hidden: 1}, p.budget, 10); err != nil {
			return nil, err
		}
		record(arms[1], pruned)

		// Stage 1: the shared expert alone (the dense MLP pruned to its S
		// most important units), half the budget, every parameter.
		stage1, err := moefy.TaylorPruneDiT(teacher, calib, S, seed)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(c.Progress, "dense2moe: seed %d, stage 1 (shared expert alone), distilling %d steps\n", seed, p.budget/2)
		if err := distil(stage1, nil, distill.DiTConfig{Output: 1, Hidden: 1}, p.budget/2, 20); err != nil {
			return nil, err
		}
		// Stage 2: the routed experts (the other units, clustered) around
		// the trained shared expert, which stays frozen.
		var d2m *dit.Model
		for _, name := range arms[2:4] {
			m, _, err := moefy.ConvertDiT(teacher, moefy.Options{Method: "dense2moe", Experts: E, TopK: K, Shared: S, Seed: seed}, calib)
			if err != nil {
				return nil, err
			}
			frozen, err := adoptStage1DiT(m, stage1)
			if err != nil {
				return nil, err
			}
			if name == arms[3] {
				m.Cfg.MoE.BalanceCoef = 0
				for _, b := range m.Blocks {
					b.MLP.(*nn.MoE).Cfg.BalanceCoef = 0
				}
			}
			before[name] = append(before[name], m.NoiseMSE(draws, 256, nil))
			var trainable []*autograd.Var
			for _, q := range m.Params() {
				if !frozen[q] {
					trainable = append(trainable, q)
				}
			}
			fmt.Fprintf(c.Progress, "dense2moe: seed %d, stage 2 (%s), distilling %d steps\n", seed, name, p.budget-p.budget/2)
			if err := distil(m, trainable, distill.DiTConfig{Output: 1, Hidden: 1}, p.budget-p.budget/2, 30); err != nil {
				return nil, err
			}
			record(name, m)
			if name == arms[2] {
				d2m = m
			}
		}

		// Mixture of Blocks on the Dense2MoE student: fresh block routers,
		// every parameter distilled with the group feature loss (the
		// groups' last blocks), and the control: the same student, the same
		// extra steps, no block routing.
		mob, err := dit.WithMoB(d2m, dit.MoBConfig{Group: G, Active: A}, seed)
		if err != nil {
			return nil, err
		}
		before[arms[5]] = append(before[arms[5]], mob.NoiseMSE(draws, 256, nil))
		before[arms[4]] = append(before[arms[4]], mse[arms[2]][si])
		fmt.Fprintf(c.Progress, "dense2moe: seed %d, control, distilling %d more steps\n", seed, p.mobSteps)
		if err := distil(d2m, nil, distill.DiTConfig{Output: 1, Hidden: 1}, p.mobSteps, 40); err != nil {
			return nil, err
		}
		record(arms[4], d2m)
		fmt.Fprintf(c.Progress, "dense2moe: seed %d, Mixture of Blocks, distilling %d steps\n", seed, p.mobSteps)
		if err := distil(mob, nil, distill.DiTConfig{Output: 1, Hidden: 1, Layers: blockEnds(cfg.Depth, G)}, p.mobSteps, 40); err != nil {
			return nil, err
		}
		record(arms[5], mob)
	}

	var sb strings.Builder
	fmt.Fprintf(&sb, "**Setup.** The paper restructures FLUX.1; here the dense model is loom's class-conditional DiT (`models/dit`, [dit.md](dit.md)): "+
		"8×8 digits (scikit-learn's, embedded), patches 2×2 (16 tokens), width 96, 4 blocks, 4 heads, MLP 4× (384 units, tanh GELU), 200 DDPM steps, label dropout 0.1; "+
		"trained %d steps of 64 images (AdamW lr 1e-3, warmup a twentieth, cosine to 0.1×, clip 1) on 1,617 images; every tenth image (180) is held out. "+
		"Each seed's teacher gives students at **62.5 %% fewer active MLP parameters** (%d of %d units per token), each distilled for %d steps of 64 images in all "+
		"(AdamW lr 5e-4, warmup a tenth, cosine to 0.1×, clip 1; loss: MSE of the predicted noise to the teacher's plus the mean MSE of every block's output to the teacher's, on the same noised images):\n\n"+
		"- **Dense2MoE** (`moefy.ConvertDiT`, `moefy` method `dense2moe`), the paper's split 1S12E2A: in every block the %d MLP units of largest first-order Taylor importance |Σ θ·∂L/∂θ| (4 calibration batches of 64 training images) form the shared expert, the other %d are clustered by their keys into %d routed experts of %d, top-%d of a softmax router (started at the experts' mean key rows), renormalised. "+
		"Trained in the paper's two stages: (1) the shared expert alone (the dense MLP pruned to those %d units) distilled for %d steps, every parameter training; (2) the routed experts added around it, the shared expert frozen (behind Qwen2-MoE's sigmoid gate, started at exactly 1), the rest distilled for %d steps with the balance loss (α = 0.01) — and once without it.\n"+
		"- **Taylor pruning**: the dense MLP cut to its %d most important units by the same importance, distilled for all %d steps.\n"+
		"- **Mixture of Blocks** (`dit.WithMoB`): the distilled Dense2MoE student with a block router per pair of blocks (groups of %d, %d runs per image and timestep; scores from the group's pooled input and the conditioning; straight-through), distilled %d more steps with the output loss plus the **group feature loss** (the output of each group's last block, blocks %v, to the teacher's). "+
		"The **control** is the same Dense2MoE student distilled the same %d more steps without block routing (its own loss: output + every block).\n\n"+
		"**Measures.** Held-out noise-prediction MSE on fixed draws (each held-out image noised %d times, timesteps and noise from seed 99, the same for every model; labels kept). "+
		"Expert use: each routed expert's share of the routed slots over those draws, the least one of any block, times E (1: uniform). "+
		"Sample agreement: %d guided samples per class (guidance 2, sampler seed %d), clipped to −1…1, labelled by their nearest training image (Euclidean); the agreement of that classifier on the real held-out images is %.3f. "+
		"MACs: multiply-adds of one denoising step per image (patch and timestep embeddings, adaLN, attention, MLP or experts and routers, final layer), with Mixture of Blocks at the measured share of blocks run.\n\n",
		p.teacherSteps, S+K*R, H, p.budget, S, H-S, E, R, K, S, p.budget/2, p.budget-p.budget/2, S+K*R, p.budget, G, A, p.mobSteps, blockEnds(cfg.Depth, G), p.mobSteps, p.repeats, perClass, sampleSeed, realAcc)
	sb.WriteString("Verdict rule (fixed before running): " + dense2moeDiTRule + "\n\n")
	fmt.Fprintf(&sb, "| model | MACs per image-step (× teacher) | MSE before its last stage | held-out MSE | sample agreement | least expert share × E | blocks skipped |\n| --- | --- | --- | --- | --- | --- | --- |\n")
	var bars []chart.Bar
	for _, name := range arms {
		cell := func(m map[string][]float64) string {
			if xs := m[name]; xs != nil {
				return seedCellP(xs, 5)
			}
			return "—"
		}
		fmt.Fprintf(&sb, "| %s | %.0f (%.2f) | %s | %s | %s | %s | %s |\n", name, macs[name], macs[name]/macs[arms[0]], cell(before), seedCellP(mse[name], 5), seedCellP(acc[name], 3), cell(minShare), cell(skipped))
		m, s := meanStd(mse[name])
		bars = append(bars, chart.Bar{Label: name, Value: m, Err: s})
	}
	png := "dense2moe.png"
	if err := (&chart.BarChart{Title: fmt.Sprintf("Dense2MoE on a DiT: held-out noise-prediction MSE (mean ± std, %d seeds)", seeds), YLabel: "MSE", Bars: bars}).WritePNG(filepath.Join(c.DocsDir, png)); err != nil {
		return nil, err
	}
	samples := "dense2moe-samples.png"
	if err := dit.WriteGrid(filepath.Join(c.DocsDir, samples), grids, cfg.Classes, 4); err != nil {
		return nil, err
	}
	fmt.Fprintf(&sb, "\n![held-out MSE](%s)\n\nSamples of seed %d, one row per class, 4 per class and panel, the same sampler noise for every panel; panels left to right: %s.\n\n![samples](%s)\n\n", png, used[0], strings.Join(arms, "; "), samples)
	mm, ms := meanStd(mse[arms[2]])
	pm, ps := meanStd(mse[arms[1]])
	c1 := pm-mm > 2*math.Max(ms, ps)
	c2 := len(minShare[arms[2]]) > 0
	for _, v := range minShare[arms[2]] {
		c2 = c2 && v >= 0.25
	}
	sm, _ := meanStd(skipped[arms[5]])
	bm, _ := meanStd(mse[arms[5]])
	cm, _ := meanStd(mse[arms[4]])
	c3 := sm >= 0.4 && bm <= 1.1*cm
	yes := map[bool]string{true: "holds", false: "fails"}
	fmt.Fprintf(&sb, "- (1) Dense2MoE %.5f vs Taylor-pruned %.5f: lower by %.5f, needed > %.5f: %s\n", mm, pm, pm-mm, 2*math.Max(ms, ps), yes[c1])
	fmt.Fprintf(&sb, "- (2) with the balance loss, the least-used expert's share × E is at least 0.25 on every seed: %s (%s; without the balance loss: %s)\n", yes[c2], seedCellP(minShare[arms[2]], 3), seedCellP(minShare[arms[3]], 3))
	fmt.Fprintf(&sb, "- (3) Mixture of Blocks skips %.1f %% of block runs (needed ≥ 40 %%) at MSE %.5f, %+.1f %% against the control's %.5f (allowed ≤ +10 %%): %s\n", 100*sm, bm, 100*(bm/cm-1), cm, yes[c3])
	verdict := "not reproduced"
	switch {
	case c1 && c2 && c3:
		verdict = "reproduced"
	case c1:
		verdict = "partial"
	}
	return &Report{
		Title: "Dense2MoE on a diffusion transformer (arXiv 2510.09094)",
		Claim: "A dense diffusion transformer's MLPs restructured into a shared expert plus routed experts (Taylor-metric initialisation) and distilled in stages keep more quality than pruning the dense MLP to the same active size; the balance loss keeps every expert used; Mixture of Blocks adds sparsity at a small cost.",
		Seeds: used, Body: sb.String(),
		Verdict: fmt.Sprintf("%s: (1) Dense2MoE %.5f vs Taylor-pruned %.5f held-out MSE, %s; (2) balance %s; (3) Mixture of Blocks skips %.0f %% of block runs at %+.1f %% MSE against its control, %s", verdict, mm, pm, yes[c1], yes[c2], 100*sm, 100*(bm/cm-1), yes[c3]),
		Changes: "A text-to-image model at the paper's scale (FLUX.1, 12B) and its image metrics instead of 8×8 digits and noise-prediction MSE; a longer distillation, where pruning and the mixture may converge or part further; deeper models, where skipping one block of a pair costs less.",
	}, nil
}

// adoptStage1DiT is adoptStage1 for the DiT: the shared expert's up and
// down projections are the MLP's fc1 and fc2, whose weight and bias both
// double.
func adoptStage1DiT(m, stage1 *dit.Model) (map[*autograd.Var]bool, error) {
	names := strings.NewReplacer(".mlp.shared_expert.up_proj.", ".mlp.fc1.", ".mlp.shared_expert.down_proj.", ".mlp.fc2.")
	return adoptShared(m.Params(), stage1.Params(), names.Replace,
		func(name string) bool { return strings.Contains(name, ".mlp.fc2.") },
		func(string) bool { return false })
}

// digitSplit splits the embedded digits: every tenth image (180 of 1,797;
// the classes are interleaved) held out, the rest to train on.
func digitSplit() (train dit.Set, heldX *tensor.Tensor, heldY []int, err error) {
	x, y, err := digits.Load()
	if err != nil {
		return dit.Set{}, nil, nil, err
	}
	var trIdx, heIdx []int
	for i := range y {
		if i%10 == 9 {
			heIdx = append(heIdx, i)
		} else {
			trIdx = append(trIdx, i)
		}
	}
	return dit.Set{X: tensor.IndexSelect(x, 0, trIdx), Y: pickInts(y, trIdx)}, tensor.IndexSelect(x, 0, heIdx), pickInts(y, heIdx), nil
}

// leastShare is the smallest share of routed slots any expert of any block
// received, times the number of experts (1: uniform).
func leastShare(loads [][]int) float64 {
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
			least = math.Min(least, float64(v)*float64(len(ls))/float64(total))
		}
	}
	return least
}

// ditMACs counts the multiply-adds of one denoising step of m per image:
// embeddings, adaLN, attention, the MLP (a mixture's router, shared expert
// and k routed experts), Mixture of Blocks' routers, the final layer; the
// blocks weighted by run, the share of block runs made.
func ditMACs(m *dit.Model, k int, run float64) float64 {
	c := m.Cfg
	T, H := float64(c.Tokens()), float64(c.Hidden)
	pd := float64(c.PatchSize * c.PatchSize * c.Channels)
	embed := T*pd*H + 256*H + H*H
	final := 2*H*H + T*H*pd
	var blocks float64
	for _, b := range m.Blocks {
		blk := 6*H*H + T*4*H*H + 2*T*T*H
		switch f := b.MLP.(type) {
		case *nn.MoE:
			mlp := H * float64(len(f.Experts)) // router
			mlp += float64(k) * float64(autograd.NumParams(f.Experts[0].Params()))
			if f.Shared != nil {
				mlp += float64(autograd.NumParams(f.Shared.Params()))
			}
			if f.SharedGate != nil {
				mlp += H
			}
			blk += T * mlp
		default:
			blk += T * float64(autograd.NumParams(f.Params()))
		}
		blocks += blk
	}
	routers := 0.0
	for _, r := range m.MoB {
		routers += float64(autograd.NumParams(r.Params()))
	}
	return embed + final + run*blocks + routers
}

// blockEnds lists the last block of each group of g among depth blocks.
func blockEnds(depth, g int) []int {
	var out []int
	for b := g - 1; b < depth; b += g {
		out = append(out, b)
	}
	return out
}

func pickInts(xs, idx []int) []int {
	out := make([]int, len(idx))
	for i, j := range idx {
		out[i] = xs[j]
	}
	return out
}

// nearest is a 1-nearest-neighbour classifier on flattened images.
type nearest struct {
	x   []float32
	y   []int
	dim int
}

func newNearest(x *tensor.Tensor, y []int) *nearest {
	return &nearest{x: x.Contiguous().F32(), y: y, dim: x.Numel() / x.Dim(0)}
}

// agreement is the fraction of images x (clipped to −1…1) whose nearest
// reference image has label y.
func (n *nearest) agreement(x *tensor.Tensor, y []int) float64 {
	v := x.Contiguous().F32()
	hit := 0
	for i := range y {
		q := v[i*n.dim : (i+1)*n.dim]
		best, lab := math.Inf(1), -1
		for j := range n.y {
			r := n.x[j*n.dim : (j+1)*n.dim]
			var d float64
			for k, a := range q {
				a = max(-1, min(1, a))
				e := float64(a - r[k])
				d += e * e
			}
			if d < best {
				best, lab = d, n.y[j]
			}
		}
		if lab == y[i] {
			hit++
		}
	}
	return float64(hit) / float64(len(y))
}

// seedCellP is seedCell with d decimals.
func seedCellP(xs []float64, d int) string {
	mu, sd := meanStd(xs)
	per := make([]string, len(xs))
	for i, x := range xs {
		per[i] = fmt.Sprintf("%.*f", d, x)
	}
	return fmt.Sprintf("%.*f ± %.*f (%s)", d, mu, d, sd, strings.Join(per, ", "))
}
