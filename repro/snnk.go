package repro

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/chart"
	"github.com/loomml/loom/models/encoder"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/petl"
	"github.com/loomml/loom/tensor"
)

// "Scalable Neural Network Kernels" (Sehanobish, Choromanski, Zhao, Dubey,
// Likhosherstov; ICLR 2024, arXiv 2310.13225; code
// arijitthegame/neural-network-kernels): (a) the random-feature estimates
// of the SNNK kernels (ReLU-SNNK's arc-cosine kernel, the exp URFs) have an
// error falling as m^{-1/2}, lower with orthogonal projections; (b) SNNK
// adapters fine-tune a frozen encoder nearly as well as bottleneck adapters
// with several times fewer trainable parameters — here the MLM-pretrained
// byte BERT of petl-spam on SpamAssassin, against its Pfeiffer adapter.
// A small fully bundled network (closed-form Ψ) is reported beside them.

func init() {
	Register(Entry{
		Name:    "snnk",
		Paper:   "Scalable Neural Network Kernels (Sehanobish, Choromanski, Zhao, Dubey, Likhosherstov, arXiv 2310.13225)",
		Summary: "SNNK random features: kernel-estimate error against m (iid vs orthogonal, relu and exp); ReLU-SNNK adapters vs Pfeiffer adapters on petl-spam's byte BERT; 3 seeds",
		Run:     runSNNK,
	})
}

// snnkRule is the verdict rule, fixed before the first full run.
const snnkRule = "(a) for the relu (arc-cosine) and exp kernels, d = 16, m = 16 … 1024: the least-squares slope of log(mean relative RMSE) on log m is within [−0.6, −0.4] for iid and for orthogonal projections, and the orthogonal error is below the iid error at every m; " +
	"(b) on mean test accuracy over 3 seeds, the SNNK adapter is within 2 points of the Pfeiffer adapter (bottleneck 16, parallel; petl-spam's best adapter) or above it, with at least 3× fewer trainable adapter parameters (the task head, pooler and classifier, trains with every method and is not counted). " +
	"Reproduced when (a) and (b) hold, partially when one does."

// snnkFeatureSizes are the m of part (a).
var snnkFeatureSizes = []int{16, 32, 64, 128, 256, 512, 1024}

// snnkKernelErrors returns, for kernel, the mean over pairs of the relative
// RMSE (RMSE over draws of G divided by |K(x, w)|) at each m in ms.
func snnkKernelErrors(kernel string, orthogonal bool, d, pairs, draws int, ms []int, seed uint64) []float64 {
	r := tensor.NewRNG(seed)
	xs, ws, exact := make([][]float64, pairs), make([][]float64, pairs), make([]float64, pairs)
	for p := range pairs {
		xs[p], ws[p] = make([]float64, d), make([]float64, d)
		for i := range d { // |x|, |w| ≈ 1
			xs[p][i], ws[p][i] = r.Normal()/math.Sqrt(float64(d)), r.Normal()/math.Sqrt(float64(d))
		}
		exact[p] = nn.SNNKExact(kernel, xs[p], ws[p], 0)
	}
	out := make([]float64, len(ms))
	for k, m := range ms {
		c := nn.SNNKConfig{Kernel: kernel, Features: m, Orthogonal: orthogonal}
		se := make([]float64, pairs)
		for range draws {
			g := nn.SNNKProjection(m, d, orthogonal, r)
			for p := range pairs {
				phi, psi := nn.SNNKInputFeatures(c, g, xs[p]), nn.SNNKWeightFeatures(c, g, ws[p], 0)
				e := -exact[p]
				for j := range phi {
					e += phi[j] * psi[j]
				}
				se[p] += e * e
			}
		}
		for p := range pairs {
			out[k] += math.Sqrt(se[p]/float64(draws)) / math.Abs(exact[p]) / float64(pairs)
		}
	}
	return out
}

// logSlope is the least-squares slope of log y on log x.
func logSlope(x, y []float64) float64 {
	lx, ly := make([]float64, len(x)), make([]float64, len(y))
	for i := range x {
		lx[i], ly[i] = math.Log(x[i]), math.Log(y[i])
	}
	mx, my := meanOf(lx), meanOf(ly)
	num, den := 0.0, 0.0
	for i := range lx {
		num += (lx[i] - mx) * (ly[i] - my)
		den += (lx[i] - mx) * (lx[i] - mx)
	}
	return num / den
}

// snnkArms are part (b)'s methods: petl-spam's best adapter, the SNNK
// adapter at its place, and (reported, not judged) a bottleneck adapter
// about as small as the SNNK one.
var snnkArms = []petlArm{
	{"Pfeiffer par", petl.Spec{Method: "pfeiffer", Bottleneck: 16, Parallel: true}, 5e-3},
	{"SNNK par", petl.Spec{Method: "snnk", Features: 16, Bottleneck: 8, Parallel: true}, 5e-3},
	{"Pfeiffer par (small)", petl.Spec{Method: "pfeiffer", Bottleneck: 4, Parallel: true}, 5e-3},
}

func runSNNK(c *Context) (*Report, error) {
	// (a) Kernel estimation.
	const d = 16
	pairs, draws := 50, 500
	if c.Quick {
		pairs, draws = 20, 60
	}
	ms := make([]float64, len(snnkFeatureSizes))
	for i, m := range snnkFeatureSizes {
		ms[i] = float64(m)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "## (a) Kernel estimation\n\n%d random pairs (x, w) in d = %d with |x|, |w| ≈ 1 (entries N(0, 1/d)); for each m, %d independent draws of G estimate K(x, w) by φ(x)ᵀψ(w) (`nn.SNNKInputFeatures`, `nn.SNNKWeightFeatures`); the error of a pair is the RMSE over the draws divided by |K(x, w)|, averaged over the pairs. "+
		"relu: ReLU-SNNK, K the arc-cosine kernel |x||w|(sin θ + (π − θ) cos θ)/(2π); exp: the URFs of f(z) = exp(z), K = exp(wᵀx); cos: f(z) = cos z (reported, not judged). Orthogonal: blocks of d orthogonal rows with χ_d norms.\n\n", pairs, d, draws)
	sb.WriteString("Verdict rule (fixed before running): " + snnkRule + "\n\n")
	sb.WriteString("| kernel | projections | " + strings.Trim(strings.ReplaceAll(fmt.Sprint(snnkFeatureSizes), " ", " | "), "[]") + " | log-log slope |\n| --- | --- |" + strings.Repeat(" --- |", len(ms)+1) + "\n")
	partA := true
	var series []chart.Series
	errs := map[string][]float64{}
	for ki, kernel := range []string{"relu", "exp", "cos"} {
		for _, orth := range []bool{false, true} {
			name := kernel + map[bool]string{false: " iid", true: " orthogonal"}[orth]
			fmt.Fprintf(c.Progress, "snnk: kernel estimation, %s\n", name)
			e := snnkKernelErrors(kernel, orth, d, pairs, draws, snnkFeatureSizes, 2310+uint64(ki))
			errs[name] = e
			s := logSlope(ms, e)
			var cells []string
			for _, v := range e {
				cells = append(cells, fmt.Sprintf("%.4f", v))
			}
			fmt.Fprintf(&sb, "| %s | %s | %s | %.3f |\n", kernel, map[bool]string{false: "iid", true: "orthogonal"}[orth], strings.Join(cells, " | "), s)
			series = append(series, chart.Series{Name: name, X: ms, Y: e, Style: chart.LinePoints})
			if kernel != "cos" {
				partA = partA && s >= -0.6 && s <= -0.4
			}
		}
	}
	var orthLower []string
	for _, kernel := range []string{"relu", "exp"} {
		lower := 0
		for i := range ms {
			if errs[kernel+" orthogonal"][i] < errs[kernel+" iid"][i] {
				lower++
			}
		}
		partA = partA && lower == len(ms)
		orthLower = append(orthLower, fmt.Sprintf("%s at %d of %d m", kernel, lower, len(ms)))
	}
	ref := make([]float64, len(ms))
	for i, m := range ms {
		ref[i] = errs["relu iid"][0] * math.Sqrt(ms[0]/m)
	}
	series = append(series, chart.Series{Name: "m^-1/2 (from relu iid at m = 16)", X: ms, Y: ref})
	if err := (&chart.Chart{Title: "SNNK kernel estimates: mean relative RMSE against m (d = 16)", XLabel: "random features m", YLabel: "relative RMSE",
		LogX: true, LogY: true, Series: series}).WritePNG(filepath.Join(c.DocsDir, "snnk-kernels.png")); err != nil {
		return nil, err
	}
	fmt.Fprintf(&sb, "\n![error against m](snnk-kernels.png)\n\nOrthogonal below iid: %s. Part (a): **%s**.\n\n", strings.Join(orthLower, ", "), holds(partA))

	// (b) Fine-tuning with SNNK adapters.
	seeds := c.SeedsOrQuick(3, 1)
	task, err := newSpamTask(c)
	if err != nil {
		return nil, err
	}
	trSet, teSet, epochs, mlm, tr, te := task.trSet, task.teSet, task.epochs, task.mlm, task.tr, task.te
	res := newArmResults(seeds)
	adapterParams := map[string]int{}
	head, total := 0, 0
	for s := range seeds {
		seed := uint64(1 + s)
		res.used = append(res.used, seed)
		for _, a := range snnkArms {
			m, _, err := encoder.LoadWith(mlm.Dir, encoder.LoadOptions{Architecture: encoder.BertForSequenceClassification, Labels: trSet.Classes, Seed: seed})
			if err != nil {
				return nil, err
			}
			head = autograd.NumParams(m.TaskHeadParams())
			total = autograd.NumParams(m.Params()) - head
			spec := a.spec
			spec.FeatureSeed = seed // G differs between seeds
			if err := spec.Apply(m, m.Config.HiddenSize, seed); err != nil {
				return nil, err
			}
			fmt.Fprintf(c.Progress, "snnk: %s, seed %d\n", a.name, seed)
			r, err := fit[encoder.Batch](encClassifier{m}, tr, te, fitSettings{Epochs: epochs, Batch: 32, LR: a.lr, WeightDecay: 0.1, Seed: seed, Progress: c.Progress})
			if err != nil {
				return nil, err
			}
			res.add(a.name, r)
			adapterParams[a.name] = r.Trainable - head
		}
	}
	fmt.Fprintf(&sb, "## (b) SNNK adapters\n\npetl-spam's setup: the byte-level BERT (4 layers, width 128, %d parameters without the head) pre-trained with masked-language modelling on tinyshakespeare for %d steps (held-out masked-byte loss %.3f nats), fine-tuned to tell spam from ham (SpamAssassin: trained on the first collection, %d e-mails; tested on the later one, %d), each e-mail its first %d bytes; %d epoch(s), batch 32, AdamW (weight decay 0.1), cosine with 5 %% warmup, learning rate 5e-3 for every arm. "+
		"The encoder is frozen; a new pooler and classifier (%d parameters) train with every method and are left out of the counts below. "+
		"SNNK par: `petl.ApplySNNK`, one adapter beside each FFN: y = FFN(x) + Up(Ψ φ(x)), φ(x) = m^{-1/2} relu(Gx), G [m, 128] iid Gaussian, Ψ [k, m] initialised to the features of a Kaiming-uniform W [k, 128], Up zero (the official code's CustomReluAdapter with `mam` initialisation, here parallel as the Pfeiffer baseline). "+
		"Pfeiffer par (small) is a bottleneck adapter about as small as the SNNK one (reported, not judged).\n\n",
		total, mlm.Steps, mlm.Loss, len(trSet.Items), len(teSet.Items), mlmSeqLen-2, epochs, head)
	sb.WriteString("| method | settings | trainable adapter parameters | fewer than Pfeiffer par | test accuracy % (mean ± std) | per seed | training time (s, mean) |\n| --- | --- | --- | --- | --- | --- | --- |\n")
	var bars []chart.Bar
	base := adapterParams["Pfeiffer par"]
	for _, a := range snnkArms {
		mu, sd := meanStd(res.acc[a.name])
		settings := specString(a.spec)
		if a.spec.Method == "snnk" {
			settings = fmt.Sprintf("m %d, k %d, parallel", a.spec.Features, a.spec.Bottleneck)
		}
		fmt.Fprintf(&sb, "| %s | %s | %d | %.2f× | %.1f ± %.1f | %s | %.0f |\n", a.name, settings, adapterParams[a.name], float64(base)/float64(adapterParams[a.name]), mu, sd, res.perSeed(a.name), res.secs[a.name])
		bars = append(bars, chart.Bar{Label: a.name, Value: mu, Err: sd})
	}
	if err := (&chart.BarChart{Title: fmt.Sprintf("Spam classification, frozen byte BERT: test accuracy (mean ± std, %d seeds)", len(res.used)), YLabel: "accuracy %", Bars: bars}).WritePNG(filepath.Join(c.DocsDir, "snnk-spam.png")); err != nil {
		return nil, err
	}
	snnkAcc, pfAcc := res.mean("SNNK par"), res.mean("Pfeiffer par")
	ratio := float64(base) / float64(adapterParams["SNNK par"])
	partB := snnkAcc >= pfAcc-2 && ratio >= 3
	fmt.Fprintf(&sb, "\n![test accuracy](snnk-spam.png)\n\nPart (b): SNNK par %.1f against Pfeiffer par %.1f (%+.1f points) with %.2f× fewer adapter parameters: **%s**.\n\n", snnkAcc, pfAcc, snnkAcc-pfAcc, ratio, holds(partB))

	// A fully bundled network (reported).
	bundle, err := snnkBundleDemo(c.Quick)
	if err != nil {
		return nil, err
	}
	sb.WriteString(bundle)

	verdict := "not reproduced"
	switch {
	case partA && partB:
		verdict = "reproduced"
	case partA || partB:
		verdict = "partially reproduced"
	}
	return &Report{
		Title: "Scalable neural network kernels: random-feature error and SNNK adapters",
		Claim: "SNNK random features estimate the layer's kernel with error ~1/√m, lower with orthogonal projections; SNNK adapters fine-tune a frozen Transformer nearly as well as bottleneck adapters with several times fewer trainable parameters.",
		Seeds: res.used,
		Body:  sb.String(),
		Verdict: fmt.Sprintf("%s: (a) %s — slopes relu %.2f/%.2f, exp %.2f/%.2f (iid/orthogonal), orthogonal lower %s; (b) %s — SNNK %.1f vs Pfeiffer %.1f with %.2f× fewer adapter parameters",
			verdict, holds(partA), logSlope(ms, errs["relu iid"]), logSlope(ms, errs["relu orthogonal"]), logSlope(ms, errs["exp iid"]), logSlope(ms, errs["exp orthogonal"]), strings.Join(orthLower, ", "), holds(partB), snnkAcc, pfAcc, ratio),
		Changes: "(a) other input norms (the exp features' variance grows as exp(|x + w|²)) or d; (b) the SNNK adapter's m and k, its placement (the official code puts one after attention and one after the FFN, sequentially), the official GLUE script's variant (m = 8 orthogonal features and a zero modulating vector instead of an up-projection: `petl.Spec{Method: \"snnk\", Features: 8, Orthogonal: true}`, `--bottleneck 0`; implemented, not run here), more epochs, or a larger encoder pre-trained on more text.",
	}, nil
}

// snnkBundleDemo collapses a random three-layer tanh network on d = 8
// inputs into one ReLU-SNNK layer by the closed form (nn.BundleSNNK,
// ridge 1e-4) and reports the training and held-out error of the bundled
// layer for several m.
func snnkBundleDemo(quick bool) (string, error) {
	const d, h, n, nTest = 8, 32, 2000, 1000
	r := tensor.NewRNG(2024)
	w1, w2, w3 := tensor.Normal(r, 0, 1/math.Sqrt(d), h, d).Float64s(), tensor.Normal(r, 0, 1/math.Sqrt(h), h, h).Float64s(), tensor.Normal(r, 0, 1/math.Sqrt(h), 1, h).Float64s()
	stack := func(x []float64) float64 {
		layer := func(w, in []float64, out int) []float64 {
			y := make([]float64, out)
			for o := range out {
				for i := range in {
					y[o] += w[o*len(in)+i] * in[i]
				}
				y[o] = math.Tanh(2 * y[o])
			}
			return y
		}
		return layer(w3, layer(w2, layer(w1, x, h), h), 1)[0]
	}
	// Inputs carry a constant 1 (the arc-cosine kernel has no bias).
	draw := func(k int) ([]float64, []float64) {
		x := tensor.Normal(r, 0, 1, k, d).Float64s()
		xa, y := make([]float64, 0, k*(d+1)), make([]float64, k)
		for i := range k {
			y[i] = stack(x[i*d : (i+1)*d])
			xa = append(append(xa, x[i*d:(i+1)*d]...), 1)
		}
		return xa, y
	}
	x, y := draw(n)
	xt, yt := draw(nTest)
	_, vy := meanStd(yt)
	ms := []int{16, 64, 256}
	if quick {
		ms = []int{16, 64}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "## Bundling (reported, not judged)\n\nA random stack of three tanh layers (8 → 32 → 32 → 1) collapsed into one ReLU-SNNK layer y = Ψ φ(x) (x with a constant 1 appended, standing in for a bias), Ψ by the closed form for the mean squared error on %d inputs (`nn.BundleSNNK`: ridge regression on the features, λ = 1e-4; no backpropagation); error on %d held-out inputs relative to the targets' variance (%.3f):\n\n| m | training MSE / var | held-out MSE / var |\n| --- | --- | --- |\n", n, nTest, vy*vy)
	for _, m := range ms {
		s, loss, err := nn.BundleSNNK("bundle", x, y, n, nn.SNNKConfig{Kernel: "relu", Features: m, Orthogonal: true, Seed: 7}, 1e-4)
		if err != nil {
			return "", err
		}
		phi := s.FeatureMatrix(xt, nTest)
		psi := s.Psi.Value.Float64s()
		mse := 0.0
		for i := range nTest {
			p := 0.0
			for j := range m {
				p += psi[j] * phi[i*m+j]
			}
			mse += (p - yt[i]) * (p - yt[i]) / nTest
		}
		reg := 1e-4 * func() float64 {
			q := 0.0
			for _, v := range psi {
				q += v * v
			}
			return q
		}()
		fmt.Fprintf(&sb, "| %d | %.3f | %.3f |\n", m, (loss-reg)/(vy*vy), mse/(vy*vy))
	}
	sb.WriteString("\n")
	return sb.String(), nil
}
