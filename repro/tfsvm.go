package repro

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"

	"github.com/loomml/loom/analysis/tfsvm"
	"github.com/loomml/loom/chart"
)

// "Transformers as Support Vector Machines" (Tarzanagh, Li, Thrampoulidis
// and Oymak, arXiv 2308.16898; code umich-sota/TF-as-SVM): normalised
// gradient descent on a single attention layer's W converges in direction
// to the attention SVM's solution.

func init() {
	Register(Entry{
		Name:    "tf-svm",
		Paper:   "Transformers as Support Vector Machines (Tarzanagh, Li, Thrampoulidis, Oymak, arXiv 2308.16898)",
		Summary: "single attention layer, n = 6, T = 8, d = 10, normalised GD (η = 0.1, 2,000 steps) on 100 random instances: correlation of W/‖W‖ with the attention SVM's solution",
		Run:     runTFSVM,
	})
}

// tfsvmRule is the verdict rule, fixed before the first full run.
const tfsvmRule = "Over the random instances, after the last step: **reproduced** if the mean correlation between W/‖W‖ and W_svm/‖W_svm‖ is at least 0.95 and at least 90 % of instances are above 0.95; **partial** if the mean is at least 0.9 or at least half are above 0.95; **not reproduced** otherwise. W_svm is the Frobenius-norm attention SVM for each input's optimal token (highest Y·vᵀx_t), solved by Hildreth's method to 1e-9."

// tfsvmJointRule is the joint regime's rule, fixed before its first run
// (it does not enter the verdict above, whose rule was fixed first).
const tfsvmJointRule = "W and v trained jointly (normalised GD on both, v starting from the instance's random head): the claim holds if in at least 90 % of instances the tokens the model selects (highest attention) are the optimal tokens of its own learned head (highest Y·vᵀx_t under the final v), and the mean correlation of W with the attention SVM of those tokens is at least 0.95."

func runTFSVM(c *Context) (*Report, error) {
	instances, iters := 100, 2000
	if c.Quick {
		instances = 20
	}
	if c.Seeds > 0 {
		instances = c.Seeds
	}
	const n, T, d, eta = 6, 8, 10, 0.1
	checkpoints := []int{1, 10, 50, 100, 200, 500, 1000, 2000}
	curves := make([][]float64, len(checkpoints)) // [checkpoint][instance]
	var final, selCorr []float64
	skipped, global := 0, 0
	for k := range instances {
		in := tfsvm.Random(n, T, d, rand.New(rand.NewPCG(2308, uint64(k))))
		opt := in.Optimal()
		svm, _, err := in.SVM(opt, 1e-9, 1000000)
		if err != nil {
			skipped++
			fmt.Fprintf(c.Progress, "tf-svm: instance %d: %v\n", k, err)
			continue
		}
		w := in.TrainNormalised(eta, iters, func(s int, w tfsvm.Matrix) {
			if j := slices.Index(checkpoints, s); j >= 0 {
				curves[j] = append(curves[j], tfsvm.Correlation(w, svm))
			}
		})
		final = append(final, tfsvm.Correlation(w, svm))
		// The tokens the trained model attends to most, and the SVM for them
		// (the paper's locally optimal directions).
		sel := in.Selected(w)
		if slices.Equal(sel, opt) {
			global++
			selCorr = append(selCorr, final[len(final)-1])
		} else if s2, _, err := in.SVM(sel, 1e-9, 1000000); err == nil {
			selCorr = append(selCorr, tfsvm.Correlation(w, s2))
		}
	}
	if len(final) == 0 {
		return nil, fmt.Errorf("tf-svm: no instance had a solvable SVM")
	}
	// The joint regime.
	var jointW, jointV []float64
	consistent, jointN := 0, 0
	for k := range instances {
		in := tfsvm.Random(n, T, d, rand.New(rand.NewPCG(2308, uint64(k))))
		w := in.TrainJoint(eta, iters)
		sel := in.Selected(w)
		jointN++
		if slices.Equal(sel, in.Optimal()) {
			consistent++
		}
		if svm, _, err := in.SVM(sel, 1e-9, 1000000); err == nil {
			jointW = append(jointW, tfsvm.Correlation(w, svm))
		}
		if vm, err := in.HeadSVM(sel, 1e-9, 1000000); err == nil {
			jointV = append(jointV, tfsvm.CosineVec(in.V, vm))
		}
	}
	jointHolds := float64(consistent) >= 0.9*float64(jointN) && len(jointW) > 0 && meanOf(jointW) >= 0.95
	mean, frac := meanOf, fracAbove(final, 0.95)
	var sb strings.Builder
	fmt.Fprintf(&sb, "**Setup.** As the paper's experiment and its code (`analysis/tfsvm`): %d random instances, each n = %d inputs of T = %d tokens in d = %d dimensions (Gaussian, variance 1/d), labels ±1 and a fixed head v; the model f(X) = vᵀXᵀ softmax(XWz) with the query z the input's last token (base.py's attn_idx = −1); logistic loss; normalised gradient descent W ← W − η∇L/‖∇L‖ with η = %g from W = 0 for %d steps (the gradient is analytic, checked against finite differences). Each input's optimal token is its highest score Y·vᵀx_t; W_svm solves min ‖W‖_F subject to (x_opt − x_t)ᵀWz ≥ 1 for every other token (Hildreth's dual coordinate ascent; checked on problems with known solutions and against perturbations). %d instance(s) without a solvable SVM were skipped.\n\n", instances, n, T, d, eta, iters, skipped)
	sb.WriteString("Verdict rule (fixed before running): " + tfsvmRule + "\n\n")
	sb.WriteString("| step | mean correlation | 10th percentile | median | fraction above 0.95 |\n| --- | --- | --- | --- | --- |\n")
	var xs, ys, lo []float64
	for j, s := range checkpoints {
		v := slices.Clone(curves[j])
		slices.Sort(v)
		fmt.Fprintf(&sb, "| %d | %.4f | %.4f | %.4f | %.2f |\n", s, mean(v), v[len(v)/10], v[len(v)/2], fracAbove(v, 0.95))
		xs, ys, lo = append(xs, float64(s)), append(ys, mean(v)), append(lo, v[len(v)/10])
	}
	if err := (&chart.Chart{Title: "corr(W/‖W‖, W_svm/‖W_svm‖) against step", XLabel: "step", YLabel: "correlation", LogX: true,
		Series: []chart.Series{{Name: "mean over instances", X: xs, Y: ys, Style: chart.LinePoints}, {Name: "10th percentile", X: xs, Y: lo, Style: chart.LinePoints}},
		HLines: []chart.Ref{{Y: 0.95, Label: "0.95"}}}).WritePNG(filepath.Join(c.DocsDir, "tf-svm.png")); err != nil {
		return nil, err
	}
	sorted := slices.Clone(final)
	slices.Sort(sorted)
	bars := make([]chart.Bar, 0, len(sorted))
	for i, x := range sorted {
		bars = append(bars, chart.Bar{Label: fmt.Sprint(i + 1), Value: x})
	}
	if err := (&chart.BarChart{Title: fmt.Sprintf("final correlation of each instance (sorted; %d steps)", iters), YLabel: "correlation", Bars: bars,
		HLines: []chart.Ref{{Y: 0.95, Label: "0.95"}}}).WritePNG(filepath.Join(c.DocsDir, "tf-svm-instances.png")); err != nil {
		return nil, err
	}
	fmt.Fprintf(&sb, "\n**Which tokens the model selects** (reported, not judged): after %d steps the model attends most to every input's globally optimal token in %d of %d instances; in the others it has settled on other tokens for some inputs, as the paper's local-convergence theory allows. Against the SVM of the tokens it actually selects, the mean final correlation is %.4f over %d instances with a solvable SVM (%.0f %% above 0.95).\n", iters, global, len(final), mean(selCorr), len(selCorr), 100*fracAbove(selCorr, 0.95))
	sb.WriteString("\n![correlation against step](tf-svm.png)\n\n![final correlations](tf-svm-instances.png)\n\n")
	fmt.Fprintf(&sb, "**The joint regime.** Rule (fixed before its first run): %s\n\nAfter %d steps: in %d of %d instances the model selects, in every input, the optimal token of its own learned head; the mean correlation of W with the attention SVM of the selected tokens is %.4f (%d instances with a solvable SVM, %.0f %% above 0.95); the learned head's cosine with the max-margin separator of the selected tokens (labels Y) is %.4f on average. The claim %s.\n",
		tfsvmJointRule, iters, consistent, jointN, meanOf(jointW), len(jointW), 100*fracAbove(jointW, 0.95), meanOf(jointV), map[bool]string{true: "holds", false: "does not hold"}[jointHolds])
	m := mean(final)
	verdict := "not reproduced"
	switch {
	case m >= 0.95 && frac >= 0.9:
		verdict = "reproduced"
	case m >= 0.9 || frac >= 0.5:
		verdict = "partial"
	}
	return &Report{
		Title: "Transformers as support vector machines: attention's W converges to the attention SVM",
		Claim: "Gradient descent on a single attention layer's key-query matrix converges in direction to the solution of an SVM that separates each input's optimal token from the others (correlation approaching 1).",
		Seeds: []uint64{2308},
		Body:  sb.String(),
		Verdict: fmt.Sprintf("%s: after %d steps the mean correlation is %.4f (minimum %.4f) and %.0f %% of %d instances are above 0.95 (joint W, v regime, reported apart: %s — selection consistent in %d of %d, W's correlation %.4f)",
			verdict, iters, m, sorted[0], 100*frac, len(final), map[bool]string{true: "holds", false: "does not hold"}[jointHolds], consistent, jointN, meanOf(jointW)),
		Changes: "Judging against the SVM of the tokens the model ends up selecting (the paper's local-convergence result; reported above) instead of the globally optimal ones; the paper's exact data scaling (tokens here have variance 1/d; larger tokens saturate the softmax sooner); more steps.",
	}, nil
}

func fracAbove(xs []float64, t float64) float64 {
	n := 0
	for _, x := range xs {
		if x > t {
			n++
		}
	}
	return float64(n) / float64(max(1, len(xs)))
}

func meanOf(xs []float64) float64 { m, _ := meanStd(xs); return m }
