package repro

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/chart"
	"github.com/loomml/loom/compress/axformer"
	"github.com/loomml/loom/data/digits"
	"github.com/loomml/loom/data/labeled"
	"github.com/loomml/loom/data/spam"
	"github.com/loomml/loom/models/encoder"
	"github.com/loomml/loom/train"
)

// AxFormer (Nagarajan, Sen, Stevens, Raghunathan, arXiv 2010.03688; no
// official code): greedy accuracy-driven removal of layers, attention and
// FFN blocks from a fine-tuned classifier on a validation split, then
// top-k hard attention per layer by the same rule, scored on a separate
// test split. Two tasks: the MLM-pretrained byte BERT of petl-spam
// fine-tuned on SpamAssassin, and a small BERT trained on the 8×8 digits
// with each pixel's intensity (0…16) as a token.
func init() {
	Register(Entry{
		Name:    "axformer",
		Paper:   "AxFormer: Accuracy-driven Approximation of Transformers (Nagarajan, Sen, Stevens, Raghunathan, arXiv 2010.03688)",
		Summary: "greedy accuracy-driven removal of layers/attention/FFN blocks and top-k hard attention on two fine-tuned BERT classifiers (spam, 8×8 digits as pixel tokens), chosen on validation, scored on test; 3 seeds",
		Run:     runAxFormer,
	})
}

// axformerRule is the verdict rule, fixed before the first full run.
const axformerRule = "Per task, on means over the seeds: (a) the AxFormer model's test accuracy is at least the fine-tuned base's; " +
	"(b) at least 25 % of the sublayers (attention and FFN blocks) are removed; (c) top-k attention loses nothing: the final model's test accuracy is at least " +
	"that of the same pruned model with dense attention, and top-k is chosen in at least one layer of at least one seed (otherwise (c) is vacuous and does not hold). " +
	"Reproduced when all six parts (three per task) hold, partially when at least three do, otherwise not reproduced."

// axformerKs are the top-k values tried per layer.
var axformerKs = []int{1, 2, 4, 8, 16, 32}

type axTask struct {
	name     string
	tr, va   *encoder.TextExamples
	te       *encoder.TextExamples
	newModel func(seed uint64) (*encoder.Model, error)
	fit      fitSettings
	describe string
}

type axRun struct {
	baseVal, baseTest, finalVal, finalTest, denseTest float64
	sub0, sub1, params0, params1                      int
	ms0, ms1, msDense                                 float64 // per test example: base, final (top-k), pruned with dense attention
	res                                               *axformer.Result
	secs                                              float64 // AxFormer's search
}

// digitExamples makes each 8×8 image a row [CLS] 64 pixel tokens [SEP];
// pixel tokens are 3 + intensity (0…16), 0 pads.
func digitExamples() (*encoder.TextExamples, error) {
	x, labels, err := digits.Load()
	if err != nil {
		return nil, err
	}
	px := x.Float32s()
	ex := &encoder.TextExamples{Pad: 0}
	for i, l := range labels {
		row := []int{1}
		for _, v := range px[i*64 : i*64+64] {
			row = append(row, 3+int(math.Round(float64(v+1)*8)))
		}
		ex.IDs = append(ex.IDs, append(row, 2))
		ex.Labels = append(ex.Labels, l)
	}
	return ex, nil
}

// subset returns the examples idx of ex.
func subset(ex *encoder.TextExamples, idx []int) *encoder.TextExamples {
	out := &encoder.TextExamples{Pad: ex.Pad}
	for _, i := range idx {
		out.IDs = append(out.IDs, ex.IDs[i])
		out.Labels = append(out.Labels, ex.Labels[i])
	}
	return out
}

// digitSplits splits the digits 60/20/20 into train, validation and test,
// stratified by class, with a fixed seed.
func digitSplits(quick bool) (tr, va, te *encoder.TextExamples, err error) {
	ex, err := digitExamples()
	if err != nil {
		return nil, nil, nil, err
	}
	set := &labeled.Set{Labels: ex.Labels, Classes: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}}
	for i := range ex.IDs {
		set.Items = append(set.Items, fmt.Sprint(i))
	}
	rest, test := set.Split(0.2, 11)
	trn, val := rest.Split(0.25, 12)
	idx := func(s *labeled.Set) []int {
		var out []int
		for _, it := range s.Items {
			var i int
			fmt.Sscan(it, &i)
			out = append(out, i)
		}
		return out
	}
	if quick {
		_, trn = trn.Split(0.5, 13)
	}
	return subset(ex, idx(trn)), subset(ex, idx(val)), subset(ex, idx(test)), nil
}

func runAxFormer(c *Context) (*Report, error) {
	seeds := c.SeedsOrQuick(3, 1)
	// Task 1: spam, as petl-spam's full fine-tuning, with a fifth of the
	// first collection held out for validation.
	trSet, err := spam.Open(spam.Train)
	if err != nil {
		return nil, err
	}
	teSet, err := spam.Open(spam.Test)
	if err != nil {
		return nil, err
	}
	spamEpochs, digitEpochs := 2, 30
	if c.Quick {
		spamEpochs, digitEpochs = 1, 15
		_, trSet = trSet.Split(0.3, 1)
		_, teSet = teSet.Split(0.2, 1)
	}
	fitSet, valSet := trSet.Split(0.2, 7)
	mlm, err := pretrainMLM(c)
	if err != nil {
		return nil, err
	}
	spamTask := &axTask{name: "spam", tr: byteExamples(fitSet), va: byteExamples(valSet), te: byteExamples(teSet),
		newModel: func(seed uint64) (*encoder.Model, error) {
			m, _, err := encoder.LoadWith(mlm.Dir, encoder.LoadOptions{Architecture: encoder.BertForSequenceClassification, Labels: trSet.Classes, Seed: seed})
			return m, err
		},
		fit:      fitSettings{Epochs: spamEpochs, Batch: 32, LR: 5e-4, WeightDecay: 0.1, Progress: c.Progress},
		describe: fmt.Sprintf("SpamAssassin (petl-spam's data: first %d bytes of each e-mail); the byte BERT pre-trained with MLM on tinyshakespeare for %d steps (4 layers, width 128), fully fine-tuned for %d epochs at lr 5e-4", mlmSeqLen-2, mlm.Steps, spamEpochs)}
	// Task 2: digits as pixel tokens, a BERT trained from scratch.
	dtr, dva, dte, err := digitSplits(c.Quick)
	if err != nil {
		return nil, err
	}
	digitsTask := &axTask{name: "digits", tr: dtr, va: dva, te: dte,
		newModel: func(seed uint64) (*encoder.Model, error) {
			pad := 0
			cfg := &encoder.Config{Architectures: []string{encoder.BertForSequenceClassification}, ModelType: encoder.TypeBERT,
				HiddenSize: 64, NumHiddenLayers: 4, NumAttentionHeads: 4, IntermediateSize: 256, HiddenAct: "gelu",
				HiddenDropoutProb: 0.1, AttentionProbsDropoutProb: 0.1, InitializerRange: 0.02, LayerNormEps: 1e-12,
				VocabSize: 20, MaxPositionEmbeddings: 66, TypeVocabSize: 2, PositionEmbeddingType: "absolute", PadTokenID: &pad}
			cfg.SetLabels([]string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"})
			m, err := encoder.New(cfg, seed)
			if err != nil {
				return nil, err
			}
			// Pre-norm layers (ViT's arithmetic): the post-norm BERT does not
			// leave chance level from scratch at this size.
			for _, l := range m.Layers {
				l.(*encoder.Layer).Pre = true
			}
			return m, nil
		},
		fit:      fitSettings{Epochs: digitEpochs, Batch: 32, LR: 1e-3, WeightDecay: 0.1, Progress: c.Progress},
		describe: fmt.Sprintf("the 8×8 digits (data/digits) split 60/20/20 (stratified, fixed seed), each image a row of 64 pixel tokens (intensity 0…16) between [CLS] and [SEP]; a BERT with pre-norm layers (4 layers, width 64, 4 heads, FFN 256) trained from scratch for %d epochs at lr 1e-3", digitEpochs)}
	tasks := []*axTask{spamTask, digitsTask}
	runs := map[string][]axRun{}
	var used []uint64
	for s := range seeds {
		seed := uint64(1 + s)
		used = append(used, seed)
		for _, t := range tasks {
			r, err := axformerOnce(c, t, seed)
			if err != nil {
				return nil, fmt.Errorf("%s, seed %d: %w", t.name, seed, err)
			}
			runs[t.name] = append(runs[t.name], r)
		}
	}
	var sb strings.Builder
	sb.WriteString("Tasks:\n\n")
	for _, t := range tasks {
		fmt.Fprintf(&sb, "- **%s**: %s; %d train / %d validation / %d test examples.\n", t.name, t.describe, t.tr.Len(), t.va.Len(), t.te.Len())
	}
	fmt.Fprintf(&sb, "\nAxFormer (`compress/axformer`): whole layers first, then attention and FFN blocks, each stage trying the candidates in order of their single-removal validation accuracy and keeping a removal when validation accuracy does not drop (tolerance 0); then per layer the smallest k of %v whose top-k hard attention does not drop validation accuracy. "+
		"The test split is read once per model, after every choice. Removed blocks are skipped in the forward pass and their parameters are gone from the model (encoder checkpoints record removed sublayers and top-k per layer, so `loom prune --method axformer` saves such a model). "+
		"Top-k attention computes the dense scores and masks all but the k largest, so it is slower here (its mask is built in plain Go); the speed-up reported is the pruned model's with dense attention. Latency is the no-grad forward time over the test split (batches of 64) per example, on this machine (the full page's run had it to itself).\n\n", axformerKs)
	sb.WriteString("Verdict rule (fixed before the first full run): " + axformerRule + "\n\n")
	sb.WriteString("| task | seed | base val % | base test % | AxFormer val % | AxFormer test % | pruned, dense attention, test % | sublayers | removed | top-k per layer | parameters | ms / example: base → pruned → with top-k | search (s, evals) |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	parts, held := 0, 0
	var bars []chart.Bar
	var verdictLines []string
	for _, t := range tasks {
		var bt, ft, dt, frac, sp, sz []float64
		anyTopK := false
		for i, r := range runs[t.name] {
			var rm []string
			for _, u := range r.res.Removed {
				rm = append(rm, u.String())
			}
			fmt.Fprintf(&sb, "| %s | %d | %.1f | %.1f | %.1f | %.1f | %.1f | %d → %d | %s | %v | %d → %d | %.2f → %.2f → %.2f | %.0f, %d |\n", t.name, used[i],
				100*r.baseVal, 100*r.baseTest, 100*r.finalVal, 100*r.finalTest, 100*r.denseTest, r.sub0, r.sub1, strings.Join(rm, ", "), r.res.TopK,
				r.params0, r.params1, r.ms0, r.msDense, r.ms1, r.secs, r.res.Evals)
			bt, ft, dt = append(bt, 100*r.baseTest), append(ft, 100*r.finalTest), append(dt, 100*r.denseTest)
			frac = append(frac, 1-float64(r.sub1)/float64(r.sub0))
			sp = append(sp, r.ms0/r.msDense)
			sz = append(sz, float64(r.params0)/float64(r.params1))
			for _, k := range r.res.TopK {
				anyTopK = anyTopK || k > 0
			}
		}
		mb, sdb := meanStd(bt)
		mf, sdf := meanStd(ft)
		md := meanOf(dt)
		mfrac := meanOf(frac)
		a, b, cc := mf >= mb, mfrac >= 0.25, mf >= md && anyTopK
		for _, ok := range []bool{a, b, cc} {
			parts++
			if ok {
				held++
			}
		}
		bars = append(bars, chart.Bar{Label: t.name + " base", Value: mb, Err: sdb}, chart.Bar{Label: t.name + " AxFormer", Value: mf, Err: sdf})
		verdictLines = append(verdictLines, fmt.Sprintf("- **%s**: (a) AxFormer test %.1f %% vs base %.1f %%: **%s**; (b) %.0f %% of sublayers removed (mean): **%s**; (c) with top-k %.1f %% vs dense attention %.1f %%, top-k chosen somewhere: %v: **%s**. Pruned model (dense attention) %.2f× faster, %.2f× fewer parameters (means).",
			t.name, mf, mb, holds(a), 100*mfrac, holds(b), mf, md, anyTopK, holds(cc), meanOf(sp), meanOf(sz)))
	}
	png := "axformer.png"
	if err := (&chart.BarChart{Title: fmt.Sprintf("Test accuracy: fine-tuned base vs AxFormer (mean ± std, %d seeds)", len(used)), YLabel: "test accuracy %", Bars: bars}).WritePNG(filepath.Join(c.DocsDir, png)); err != nil {
		return nil, err
	}
	sb.WriteString("\n![test accuracy](" + png + ")\n\nParts:\n\n" + strings.Join(verdictLines, "\n") + "\n")
	verdict := "not reproduced"
	switch {
	case held == parts:
		verdict = "reproduced"
	case held >= 3:
		verdict = "partially reproduced"
	}
	return &Report{
		Title:   "AxFormer: accuracy-driven pruning and top-k hard attention on fine-tuned classifiers",
		Claim:   "On two classification tasks, AxFormer's model is at least as accurate as the fine-tuned base on the test split, with at least 25 % fewer sublayers, and top-k attention loses nothing.",
		Seeds:   used,
		Body:    sb.String(),
		Verdict: verdict,
		Changes: "Greedy choices on a small validation split can overfit it (a removal that helps validation by one example may not help test); a larger validation split, a positive tolerance, or deeper models with more redundant layers (the paper's BERT-base has 12) would move parts (a) and (b). Top-k attention that skipped the masked scores (a sparse kernel) would turn (c) into a speed-up.",
	}, nil
}

// axformerOnce fine-tunes t's model with seed, measures it, runs AxFormer
// (validation only) and measures the result on the test split.
func axformerOnce(c *Context, t *axTask, seed uint64) (axRun, error) {
	var r axRun
	m, err := t.newModel(seed)
	if err != nil {
		return r, err
	}
	fmt.Fprintf(c.Progress, "axformer: %s, seed %d: fine-tuning\n", t.name, seed)
	fs := t.fit
	fs.Seed = seed
	fr, err := fit[encoder.Batch](encClassifier{m}, t.tr, t.va, fs)
	if err != nil {
		return r, err
	}
	r.baseVal = fr.Accuracy
	acc := func(ex *encoder.TextExamples) (float64, float64) {
		start := time.Now()
		a := train.Accuracy[encoder.Batch](encClassifier{m}, ex, 64)
		return a, 1000 * time.Since(start).Seconds() / float64(ex.Len())
	}
	r.baseTest, r.ms0 = acc(t.te)
	r.params0 = autograd.NumParams(m.Params())
	tg, err := axformer.NewEncoder(m)
	if err != nil {
		return r, err
	}
	r.sub0 = axformer.Sublayers(tg)
	start := time.Now()
	val := func() (float64, error) { a, _ := acc(t.va); return a, nil }
	test := func() (float64, error) { a, ms := acc(t.te); r.ms1 = ms; return a, nil }
	res, err := axformer.Run(tg, val, test, axformer.Options{Ks: axformerKs, Progress: func(s axformer.Step) {
		if s.Accepted {
			fmt.Fprintf(c.Progress, "axformer: %s, seed %d: %s %v k=%d → val %.4f\n", t.name, seed, s.Stage, s.Unit, s.K, s.Score)
		}
	}})
	if err != nil {
		return r, err
	}
	r.secs = time.Since(start).Seconds()
	r.res, r.finalVal, r.finalTest = res, res.Final, res.Test
	r.sub1 = axformer.Sublayers(tg)
	r.params1 = autograd.NumParams(m.Params())
	// The same pruned model with dense attention, after every choice.
	for l, k := range res.TopK {
		if k > 0 {
			if err := tg.SetTopK(l, 0); err != nil {
				return r, err
			}
		}
	}
	r.denseTest, r.msDense = acc(t.te)
	return r, nil
}
