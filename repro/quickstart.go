package repro

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"github.com/loomml/loom/chart"
	"github.com/loomml/loom/data"
	"github.com/loomml/loom/eval"
	"github.com/loomml/loom/generate"
	"github.com/loomml/loom/train"
)

// The quickstart reproduction checks loom's own promise rather than a
// paper's: the quickstart preset, trained on the embedded Shakespeare, gets
// below 1.9 nats per byte on the held-out 10 % and writes real words.
func init() {
	Register(Entry{
		Name:    "quickstart",
		Summary: "the quickstart preset on tinyshakespeare: held-out loss ≤ 1.9 nats/byte and ≥ 85 % real words in a sample",
		Run:     runQuickstart,
	})
}

func runQuickstart(c *Context) (*Report, error) {
	seeds := c.SeedsOr(1)
	corpus := data.TinyShakespeare()
	var rows []string
	var series []chart.Series
	ok := true
	var used []uint64
	var losses []float64
	for i := range seeds {
		spec, err := train.LookupPreset("quickstart")
		if err != nil {
			return nil, err
		}
		seed := spec.Train.Seed + uint64(i)
		spec.Train.Seed = seed
		if c.Quick {
			spec.Train.Steps, spec.Train.Warmup, spec.Train.EvalEvery = 60, 6, 20
		}
		used = append(used, seed)
		o, err := (&train.Job{Spec: spec, Text: corpus, OutDir: filepath.Join(c.WorkDir, fmt.Sprintf("seed%d", seed)), Progress: c.Progress}).Run()
		if err != nil {
			return nil, err
		}
		res, err := generate.Generate(o.Model, o.Tokenizer, "\n", generate.Options{MaxNewTokens: 500, Temperature: 0.8, Seed: 1}, nil)
		if err != nil {
			return nil, err
		}
		found, total := eval.WordsInCorpus(res.Text, corpus)
		frac := float64(found) / math.Max(1, float64(total))
		pass := o.Val.Loss <= 1.9 && frac >= 0.85
		ok = ok && pass
		losses = append(losses, o.Val.Loss)
		rows = append(rows, fmt.Sprintf("| %d | %d | %.4f | %.4f | %d/%d (%.0f%%) | %s | %s |", seed, o.Steps, o.Val.Loss, o.Val.BitsPerByte,
			found, total, 100*frac, o.Elapsed.Round(1e9), yesNo(pass)))
		var x, y []float64
		for _, m := range o.Metrics {
			x, y = append(x, float64(m.Step+1)), append(y, m.Loss)
		}
		series = append(series, chart.Series{Name: fmt.Sprintf("seed %d", seed), X: x, Y: y})
		if i == 0 {
			rows = append(rows, "", "Sample of seed "+fmt.Sprint(seed)+" (500 bytes, temperature 0.8):", "", "```", strings.TrimSpace(res.Text), "```")
		}
	}
	png := "quickstart.png"
	fig := &chart.Chart{Title: "quickstart: training loss", XLabel: "step", YLabel: "nats/byte", Series: series,
		HLines: []chart.Ref{{Y: 1.9, Label: "target 1.9"}}}
	if err := fig.WritePNG(filepath.Join(c.DocsDir, png)); err != nil {
		return nil, err
	}
	table := []string{"| seed | steps | held-out loss (nats/byte) | bits/byte | real words | time | passes |", "|---|---|---|---|---|---|---|"}
	body := "Setup: the `quickstart` preset (a 4-layer, 192-wide byte-level Llama), trained on the first 90 % of the embedded tinyshakespeare and scored with strided sliding windows on every byte of the last 10 %. A word is *real* if it occurs in the corpus.\n\n" +
		strings.Join(append(table, rows...), "\n") + "\n\n![training loss](" + png + ")\n"
	verdict := "reproduced"
	if !ok {
		verdict = "not reproduced"
	}
	return &Report{
		Title:   "quickstart: a byte-level Llama on Shakespeare",
		Claim:   "`loom quickstart` reaches ≤ 1.9 nats per byte on the held-out 10 % and ≥ 85 % of the words of a 500-byte sample at temperature 0.8 occur in the corpus.",
		Seeds:   used,
		Body:    body,
		Verdict: fmt.Sprintf("%s (held-out loss %s)", verdict, fmtList(losses)),
		Changes: "A held-out loss above 1.9 nats/byte, or fewer than 85 % real words, for any seed.",
	}, nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func fmtList(xs []float64) string {
	var s []string
	for _, x := range xs {
		s = append(s, fmt.Sprintf("%.4f", x))
	}
	return strings.Join(s, ", ")
}
