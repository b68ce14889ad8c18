package repro

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/loomml/loom/chart"
	"github.com/loomml/loom/convert"
	"github.com/loomml/loom/data"
	"github.com/loomml/loom/eval"
	"github.com/loomml/loom/quant/w8a8"
	"github.com/loomml/loom/train"
)

// int8Tol is the verdict rule, fixed before the first full run: an int8
// scheme keeps the float model's quality when its held-out loss, averaged
// over the seeds, is within int8Tol nats/byte of the float32 model's.
// SmoothQuant is *needed* at this scale when plain W8A8 (per-token
// activations) misses that and W8A8 with SmoothQuant (α = 0.5) meets it.
const int8Tol = 0.02

// int8Alpha is SmoothQuant's migration strength used (the paper's default
// for most models).
const int8Alpha = 0.5

func init() {
	Register(Entry{
		Name:    "int8-smoothquant",
		Paper:   "SmoothQuant: Accurate and Efficient Post-Training Quantization for Large Language Models (arXiv 2211.10438)",
		Summary: "post-training W8A8 (int8 per-channel weights, int8 per-token activations) on the quickstart model, with and without SmoothQuant: is SmoothQuant needed at this scale?",
		Run:     runInt8,
	})
}

type int8Mode struct {
	name string
	o    w8a8.Options
}

func runInt8(c *Context) (*Report, error) {
	seeds := seedsFrom(1337, c.SeedsOrQuick(3, 1))
	corpus := data.TinyShakespeare()
	modes := []int8Mode{
		{"fp32", w8a8.Options{}},
		{"W8A8 per-token", w8a8.Options{Activations: w8a8.PerToken}},
		{"W8A8 per-token + SQ", w8a8.Options{Activations: w8a8.PerToken, SmoothQuant: true, Alpha: int8Alpha}},
		{"W8 + q8_0 act. (VNNI)", w8a8.Options{Activations: w8a8.Block32}},
		{"W8 + q8_0 act. + SQ", w8a8.Options{Activations: w8a8.Block32, SmoothQuant: true, Alpha: int8Alpha}},
	}
	loss := make([][]float64, len(modes)) // [mode][seed]
	secs := make([][]float64, len(modes))
	var outlier []float64
	var rows []string
	for _, seed := range seeds {
		spec, err := train.LookupPreset("quickstart")
		if err != nil {
			return nil, err
		}
		spec.Train.Seed = seed
		if c.Quick {
			spec.Train.Steps, spec.Train.Warmup, spec.Train.EvalEvery, spec.Train.CheckpointEvery = 150, 15, 50, 150
		}
		dir := filepath.Join(c.WorkDir, fmt.Sprintf("seed%d-%d", seed, spec.Train.Steps))
		o, err := (&train.Job{Spec: spec, Text: corpus, OutDir: dir, Resume: true, Progress: c.Progress}).Run()
		if err != nil {
			return nil, err
		}
		tok := o.Tokenizer
		held := eval.HeldOutText(corpus, tok, spec.Train.ValFraction)
		trainText := corpus[:len(corpus)-len(held)]
		ids := tok.Encode(string(trainText))
		T := spec.Train.SeqLen
		var calib []data.Batch
		for _, w := range data.EvenWindows(ids, T+1, 16) {
			calib = append(calib, data.Batch{IDs: w[:T], Targets: w[1:], B: 1, T: T})
		}
		eo := eval.Options{SeqLen: T}
		if c.Quick {
			eo.MaxTokens = 20000
		}
		for mi, md := range modes {
			m, err := convert.Load(filepath.Join(dir, train.CheckpointDir))
			if err != nil {
				return nil, err
			}
			if mi == 0 {
				act, err := w8a8.Calibrate(m, w8a8.Linears(m), calib)
				if err != nil {
					return nil, err
				}
				outlier = append(outlier, outlierRatio(act))
			} else {
				md.o.Calib = calib
				if !md.o.SmoothQuant {
					md.o.Calib = nil
				}
				if _, err := w8a8.Decoder(m, md.o); err != nil {
					return nil, err
				}
			}
			t0 := time.Now()
			r, err := eval.Text(m, held, tok, eo)
			if err != nil {
				return nil, err
			}
			loss[mi] = append(loss[mi], r.Loss)
			secs[mi] = append(secs[mi], time.Since(t0).Seconds())
			fmt.Fprintf(c.Progress, "int8 seed %d: %s held-out %.4f\n", seed, md.name, r.Loss)
		}
	}
	fp, _ := meanStd(loss[0])
	table := []string{"| scheme | held-out loss (nats/byte), mean ± sd | per seed | Δ vs fp32 | eval time (s) |", "|---|---|---|---|---|"}
	var bars []chart.Bar
	delta := make([]float64, len(modes))
	for mi, md := range modes {
		mu, sd := meanStd(loss[mi])
		delta[mi] = mu - fp
		table = append(table, fmt.Sprintf("| %s | %.4f ± %.4f | %s | %+.4f | %.1f |", md.name, mu, sd, fmtList(loss[mi]), delta[mi], meanOf(secs[mi])))
		if mi > 0 {
			bars = append(bars, chart.Bar{Label: md.name, Value: delta[mi]})
		}
	}
	png := "int8-smoothquant.png"
	fig := &chart.BarChart{Title: "W8A8 on the quickstart model: held-out loss increase over fp32", YLabel: "Δ nats/byte", Bars: bars,
		HLines: []chart.Ref{{Y: int8Tol, Label: "rule: 0.02"}}}
	if err := fig.WritePNG(filepath.Join(c.DocsDir, png)); err != nil {
		return nil, err
	}
	rows = append(rows, table...)
	plain, sq := delta[1] <= int8Tol, delta[2] <= int8Tol
	verdict := "reproduced"
	if !sq {
		verdict = "not reproduced"
	}
	needed := "not needed at this scale: plain W8A8 already keeps the loss"
	switch {
	case !plain && sq:
		needed = "needed at this scale: plain W8A8 misses the rule and SmoothQuant meets it"
	case !plain && !sq:
		needed = "not sufficient at this scale: neither plain W8A8 nor SmoothQuant meets the rule"
	}
	steps := "1600 (the preset's)"
	if c.Quick {
		steps = "150 (quick run)"
	}
	body := fmt.Sprintf("Setup: the `quickstart` preset (4-layer, 192-wide byte-level Llama, 128-token context) trained for %s steps on the first 90 %% of the embedded tinyshakespeare, per seed; "+
		"every linear layer inside the blocks (q, k, v, o, gate, up, down; not the embedding or the head, as in SmoothQuant) quantised post-training by package `quant/w8a8`: "+
		"int8 weights per output channel (symmetric, f16 scale), activations per token to int8 at run time (*per-token*), or kept as q8_0 blocks and multiplied by loom's q8_0 kernels, which quantise activations per block of 32 and sum int8 products in int32 with AVX-512 VNNI where the CPU has it (*q8_0 act.*). "+
		"SQ: SmoothQuant's per-input-channel factors s = max|X|^α / max|W|^(1−α), α = %g, from 16 calibration windows of the training split. Scored on the held-out 10 %% (strided windows; quick runs: its first ~20 000 bytes).\n\n"+
		"Activation outliers at this scale: the largest ratio, over layers, of the largest input channel's max |x| to the median channel's, on the fp32 model: %s (per seed).\n\n%s\n\n![loss increase](%s)\n",
		steps, int8Alpha, fmt2(outlier), strings.Join(rows, "\n"), png)
	return &Report{
		Title:   "int8-smoothquant: post-training W8A8 and SmoothQuant on the quickstart model",
		Claim:   "W8A8 with SmoothQuant (α = 0.5) keeps the float model's quality (arXiv 2211.10438, shown there from 6.7B parameters up, where plain per-token W8A8 degrades because of activation outlier channels); here: is it needed at the quickstart's scale?",
		Seeds:   seeds,
		Body:    body,
		Verdict: fmt.Sprintf("%s: W8A8+SQ Δ %+.4f nats/byte (rule ≤ %g); plain W8A8 Δ %+.4f; SmoothQuant is %s; q8_0-activation path Δ %+.4f (+SQ %+.4f)", verdict, delta[2], int8Tol, delta[1], needed, delta[3], delta[4]),
		Changes: "A larger model with outlier channels (ratios in the tens, as SmoothQuant reports from 6.7B on) would make plain per-token W8A8 degrade; a rule tighter than 0.02 nats/byte, or α tuned per model.",
	}, nil
}

// outlierRatio returns, over layers, the largest ratio of the largest
// channel maximum to the median one.
func outlierRatio(act [][]float32) float64 {
	r := 0.0
	for _, a := range act {
		s := slices.Clone(a)
		slices.Sort(s)
		if med := s[len(s)/2]; med > 0 {
			r = max(r, float64(s[len(s)-1]/med))
		}
	}
	return r
}
