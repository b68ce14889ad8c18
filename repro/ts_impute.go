package repro

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/loomml/loom/chart"
	"github.com/loomml/loom/data/series"
	"github.com/loomml/loom/models/timeseries"
)

// Imputation as the survey of Wen et al. lists it and Time-Series-Library
// benchmarks it: transformers filling randomly masked entries of ETTh1
// against linear interpolation.

func init() {
	Register(Entry{
		Name:    "ts-impute",
		Paper:   "Transformers in Time Series: A Survey (Wen et al., arXiv 2202.07125); Time-Series-Library's imputation task",
		Summary: "ETTh1, 12.5–50 % of entries masked: temporal-token Transformer, iTransformer, PatchTST and DLinear against linear interpolation, 3 seeds",
		Run:     runTSImpute,
	})
}

// tsImputeRule is the verdict rule, fixed before the first full run.
const tsImputeRule = "At each mask ratio (12.5, 25, 37.5 and 50 % of the entries), the test MSE on the masked entries (standardised data, the same masks for every model), mean over seeds: the transformers beat linear interpolation when each of the temporal-token Transformer, iTransformer and PatchTST has a lower MSE than interpolation. **Reproduced** if they do at every ratio; **partial** if at some ratio all do, or at every ratio at least one does; **not reproduced** otherwise. DLinear is reported, not judged."

func runTSImpute(c *Context) (*Report, error) {
	seeds := c.SeedsOrQuick(3, 1)
	epochs, ratios := 3, []float64{0.125, 0.25, 0.375, 0.5}
	if c.Quick {
		epochs, ratios = 1, []float64{0.125, 0.5}
	}
	f, err := series.ReadCSV(bytes.NewReader(series.ETTh1()), "ETTh1.csv")
	if err != nil {
		return nil, err
	}
	d, err := series.Prepare(f, series.Spec{Lookback: 96, Horizon: 1, Split: "ett"})
	if err != nil {
		return nil, err
	}
	archs := []string{"transformer", "itransformer", "patchtst", "dlinear", "linear"}
	names := map[string]string{"transformer": "Transformer (temporal tokens)", "itransformer": "iTransformer", "patchtst": "PatchTST", "dlinear": "DLinear", "linear": "linear interpolation"}
	type cell struct{ mse, mae, secs []float64 }
	res := map[float64]map[string]*cell{}
	for _, r := range ratios {
		res[r] = map[string]*cell{}
		for _, a := range archs {
			cl := &cell{}
			n := seeds
			if a == "linear" {
				n = 1 // deterministic: the masks come from MaskSeed
			}
			for s := range n {
				seed := uint64(2202 + s)
				out, err := timeseries.FitImputer(d, timeseries.ImputeOptions{Arch: a, MaskRatio: r, Dropout: 0.1, Epochs: epochs, Seed: seed, MaskSeed: 1})
				if err != nil {
					return nil, fmt.Errorf("%s at %g: %w", a, r, err)
				}
				cl.mse, cl.mae, cl.secs = append(cl.mse, out.Test.MSE), append(cl.mae, out.Test.MAE), append(cl.secs, out.Seconds)
				fmt.Fprintf(c.Progress, "ts-impute: %g %s seed %d: test MSE %.4f MAE %.4f (%.0f s)\n", r, a, seed, out.Test.MSE, out.Test.MAE, out.Seconds)
			}
			res[r][a] = cl
		}
	}
	mean := func(xs []float64) float64 { m, _ := meanStd(xs); return m }
	var sb strings.Builder
	fmt.Fprintf(&sb, "**Setup.** ETTh1 (embedded; 7 variates, hourly), Time-Series-Library's imputation protocol: the ETT split (12/4/4 months), each variate standardised by the training months, windows of 96 steps at stride 1 (%d training, %d validation, %d test windows; `series.Prepare` with a horizon of 1, so one window fewer than TSLib's), every entry of a window hidden with probability equal to the mask ratio, the hidden entries set to 0, the loss and the metrics on the hidden entries only. A fresh mask per training batch; the validation and test masks are drawn from one seed in window order, so every model and the interpolation meet the same ones. Networks (`timeseries.FitImputer`, as `loom series impute`): width 64, 2 layers, 4 heads, FFN 128, dropout 0.1, TSLib's reconstruction heads (the temporal Transformer with TSLib's convolutional token embedding and time features; iTransformer normalised per window; PatchTST normalised by the observed entries' statistics), AdamW at 1e-3 with cosine decay, batches of 32, %d epochs at most (TSLib's ETTh1 imputation scripts run up to 10 with patience 3; fewer here for two cores), the epoch of lowest validation MSE kept. Linear interpolation fills each hidden entry from the nearest observed entries of its variate in the window (the nearest one at the window's ends).\n\n",
		d.Len(series.Train), d.Len(series.Val), d.Len(series.Test), epochs)
	sb.WriteString("Verdict rule (fixed before running): " + tsImputeRule + "\n\n")
	sb.WriteString("Test MSE / MAE on the masked entries (mean ± std over seeds; interpolation is deterministic):\n\n| model |")
	for _, r := range ratios {
		fmt.Fprintf(&sb, " %g %% |", 100*r)
	}
	sb.WriteString("\n| --- |" + strings.Repeat(" --- |", len(ratios)) + "\n")
	var lines []chart.Series
	for _, a := range archs {
		fmt.Fprintf(&sb, "| %s |", names[a])
		s := chart.Series{Name: names[a], Style: chart.LinePoints}
		for _, r := range ratios {
			cl := res[r][a]
			m, sd := meanStd(cl.mse)
			fmt.Fprintf(&sb, " %.4f ± %.4f / %.4f |", m, sd, mean(cl.mae))
			s.X, s.Y = append(s.X, 100*r), append(s.Y, m)
		}
		sb.WriteString("\n")
		lines = append(lines, s)
	}
	sb.WriteString("\n**Published numbers.** The TimesNet paper's (arXiv 2210.02186) per-ratio ETTh1 table could not be read here, so no published numbers are quoted; Time-Series-Library's README ranks TimesNet, the Non-stationary Transformer and Autoformer first for imputation (March 2024). Its protocol is the one above.\n\n")
	if err := (&chart.Chart{Title: "ETTh1 imputation: test MSE on masked entries (mean over seeds)", XLabel: "entries masked (%)", YLabel: "MSE (standardised)", Series: lines}).WritePNG(filepath.Join(c.DocsDir, "ts-impute.png")); err != nil {
		return nil, err
	}
	sb.WriteString("![MSE against mask ratio](ts-impute.png)\n\n")
	allAt, anyAt := 0, 0
	for _, r := range ratios {
		lin := mean(res[r]["linear"].mse)
		beat := 0
		var parts []string
		for _, a := range archs[:3] {
			m := mean(res[r][a].mse)
			if m < lin {
				beat++
			}
			parts = append(parts, fmt.Sprintf("%s %.4f", names[a], m))
		}
		if beat == 3 {
			allAt++
		}
		if beat > 0 {
			anyAt++
		}
		fmt.Fprintf(&sb, "- %g %%: interpolation %.4f; %s: %d of 3 transformers below it\n", 100*r, lin, strings.Join(parts, ", "), beat)
	}
	verdict := "not reproduced"
	switch {
	case allAt == len(ratios):
		verdict = "reproduced"
	case allAt > 0 || anyAt == len(ratios):
		verdict = "partial"
	}
	return &Report{
		Title:   "Time-series imputation: transformers against linear interpolation (ETTh1)",
		Claim:   "Transformer backbones with reconstruction heads (the survey's imputation task; Time-Series-Library's harness) fill randomly missing entries better than a classical method.",
		Seeds:   seedsFrom(2202, seeds),
		Body:    sb.String(),
		Verdict: fmt.Sprintf("%s: all three transformers beat linear interpolation at %d of %d mask ratios, at least one at %d", verdict, allAt, len(ratios), anyAt),
		Changes: "Training to convergence (10 epochs or more, as TSLib's scripts allow); the models TSLib ranks first for imputation (TimesNet, the Non-stationary Transformer), which loom lacks; a stronger classical baseline (seasonal or spline interpolation) would raise the bar.",
	}, nil
}
