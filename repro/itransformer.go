package repro

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/chart"
	"github.com/loomml/loom/data/series"
	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/models/forecast"
)

// iTransformer (arXiv 2310.06625) on ETTh1 against a temporal-token
// Transformer (with and without iTransformer's normalisation), DLinear and
// repeating the last value, in one harness.

func init() {
	Register(Entry{
		Name:    "itransformer",
		Paper:   "iTransformer: Inverted Transformers Are Effective for Time Series Forecasting (arXiv 2310.06625)",
		Summary: "ETTh1, lookback 96, horizons 96/192/336/720: iTransformer vs temporal Transformer (± normalisation), DLinear, naive; 3 seeds",
		Run:     runITransformer,
	})
}

// The paper's ETTh1 numbers for iTransformer (Table 1 / full results).
var paperETTh1 = map[int][2]float64{96: {0.386, 0.405}}

const paperETTh1Avg, paperETTh1AvgMAE = 0.454, 0.447

func runITransformer(c *Context) (*Report, error) {
	seeds := c.SeedsOrQuick(3, 2) // quick: one epoch × 5 arms × 2 seeds fit in 5 minutes
	horizons := []int{96, 192, 336, 720}
	epochs := 10
	if c.Quick {
		horizons, epochs = []int{96}, 1
	}
	arms := []struct {
		name, arch string
		norm       bool
	}{
		{"iTransformer", "itransformer", true},
		{"Transformer (normalised)", "transformer", true},
		{"Transformer", "transformer", false},
		{"DLinear", "dlinear", false},
		{"repeat last value", "naive", false},
	}
	if err := os.MkdirAll(c.WorkDir, 0o755); err != nil {
		return nil, err
	}
	frame := series.ReadETTh1()
	type cell struct{ mse, mae, secs []float64 }
	res := map[string]*cell{}
	key := func(h int, arm string) string { return fmt.Sprintf("%d/%s", h, arm) }
	var used []uint64
	for si := range seeds {
		used = append(used, uint64(7000+si))
	}
	var fourSecs float64 // first seed, horizon 96: the four trained models
	var example forecast.Model
	var exampleData *series.Dataset
	// Horizon by horizon (96 first: the checks need only it), each seed's
	// five models. Every finished model's result is kept in the work
	// directory, and a rerun with the same --work picks them up, so a run
	// of several hours can be resumed.
	for _, h := range horizons {
		d, err := series.Prepare(frame, series.Spec{Features: "M", Lookback: 96, Horizon: h, Split: "ett"})
		if err != nil {
			return nil, err
		}
		for si, seed := range used {
			for _, a := range arms {
				cfg := forecast.Defaults(a.arch, d)
				cfg.Seed, cfg.UseNorm = seed, a.norm && cfg.DModel > 0
				isExample := si == 0 && h == 96 && a.arch == "itransformer"
				r, m, err := itransformerCell(c, d, cfg, a.name, epochs, isExample)
				if err != nil {
					return nil, err
				}
				k := key(h, a.name)
				if res[k] == nil {
					res[k] = &cell{}
				}
				res[k].mse = append(res[k].mse, r.Test.MSE)
				res[k].mae = append(res[k].mae, r.Test.MAE)
				res[k].secs = append(res[k].secs, r.Seconds)
				if si == 0 && h == 96 && a.arch != "naive" {
					fourSecs += r.Seconds
				}
				if isExample {
					example, exampleData = m, d
				}
			}
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "Setup: ETTh1 (embedded, unmodified), all 7 variates in and out (features M), lookback 96, the ETT split (train 12 months, validation 4, test 4 of 30 days), scaler fitted on the training rows, metrics on scaled data over every test window (%d at horizon 96). Training as Time-Series-Library's long-term forecasting experiment: MSE, Adam, learning rate halved after every epoch, at most %d epochs, early stopping after 3 epochs without a better validation MSE (best weights kept), batch 32. iTransformer: 2 layers, 8 heads, d_model = d_ff = 256 (512 at horizons 336 and 720), dropout 0.1, lr 1e-4, time features as extra tokens. Transformer: the same encoder on 96 temporal tokens (value + time-feature embeddings + sinusoidal positions) at d_model = d_ff = 128 with a flatten head, lr 1e-4, with or without iTransformer's per-window normalisation. DLinear: kernel 25, shared linears, lr 0.005.\n\n", exampleData.Len(series.Test), epochs)
	sb.WriteString("| horizon | model | test MSE (mean ± std) | test MAE (mean ± std) | paper (iTransformer) | training time (s, mean) |\n| --- | --- | --- | --- | --- | --- |\n")
	avg := map[string][2]float64{}
	for _, h := range horizons {
		for _, a := range arms {
			r := res[key(h, a.name)]
			mse, msd := meanStd(r.mse)
			mae, asd := meanStd(r.mae)
			paper := ""
			if p, ok := paperETTh1[h]; ok && a.arch == "itransformer" {
				paper = fmt.Sprintf("%.3f / %.3f", p[0], p[1])
			}
			fmt.Fprintf(&sb, "| %d | %s | %.4f ± %.4f | %.4f ± %.4f | %s | %.0f |\n", h, a.name, mse, msd, mae, asd, paper, mean(r.secs))
			v := avg[a.name]
			avg[a.name] = [2]float64{v[0] + mse/float64(len(horizons)), v[1] + mae/float64(len(horizons))}
		}
	}
	fmt.Fprintf(&sb, "\nHorizon 96, seed by seed (test MSE / MAE; seeds %v):\n\n| model | per seed |\n| --- | --- |\n", used)
	for _, a := range arms {
		r := res[key(96, a.name)]
		var per []string
		for i := range r.mse {
			per = append(per, fmt.Sprintf("%.4f / %.4f", r.mse[i], r.mae[i]))
		}
		fmt.Fprintf(&sb, "| %s | %s |\n", a.name, strings.Join(per, "; "))
	}
	if len(horizons) == 4 {
		sb.WriteString("\nAverage over the four horizons (MSE / MAE): ")
		var parts []string
		for _, a := range arms {
			parts = append(parts, fmt.Sprintf("%s %.3f / %.3f", a.name, avg[a.name][0], avg[a.name][1]))
		}
		sb.WriteString(strings.Join(parts, "; ") + fmt.Sprintf("; paper's iTransformer %.3f / %.3f.\n", paperETTh1Avg, paperETTh1AvgMAE))
	}
	fmt.Fprintf(&sb, "\nTraining the four models at horizon 96 (seed %d): %.0f s of wall time in all (iTransformer, both Transformers, DLinear), machine below.\n", used[0], fourSecs)
	var total float64
	for _, r := range res {
		for _, v := range r.secs {
			total += v
		}
	}
	fmt.Fprintf(&sb, "All %d trainings together: %.1f h (each model's result is kept in the work directory, so a run may be resumed; the wall time in the header is that of the last, resuming, invocation).\n", len(res)*len(used), total/3600)
	// A forecast of the example model: OT on the last test window.
	if err := exampleForecastPNG(example, exampleData, filepath.Join(c.DocsDir, "itransformer-forecast.png")); err != nil {
		return nil, err
	}
	sb.WriteString("\n![forecast](itransformer-forecast.png)\n")

	it, tn, tr, dl := res[key(96, "iTransformer")], res[key(96, "Transformer (normalised)")], res[key(96, "Transformer")], res[key(96, "DLinear")]
	itM, itS := meanStd(it.mse)
	itA, _ := meanStd(it.mae)
	tnM, tnS := meanStd(tn.mse)
	trM, _ := meanStd(tr.mse)
	dlM, _ := meanStd(dl.mse)
	c1 := itM <= 0.40 && itA <= 0.42 && math.Abs(itM-dlM)/dlM <= 0.10
	margin := math.Max(itS, tnS)
	c2 := tnM-itM > margin && (trM-itM)/trM >= 0.15
	checks := []string{
		fmt.Sprintf("horizon 96: iTransformer MSE %.4f ≤ 0.40, MAE %.4f ≤ 0.42, within ±10 %% of DLinear's %.4f (%+.1f %%): %s", itM, itA, dlM, 100*(itM-dlM)/dlM, yesNo(c1)),
		fmt.Sprintf("beats the normalised Transformer (%.4f) by %.4f, more than the seed std %.4f, and the un-normalised one (%.4f) by %.1f %% ≥ 15 %%: %s", tnM, tnM-itM, margin, trM, 100*(trM-itM)/trM, yesNo(c2)),
	}
	verdict := "partial"
	switch {
	case c1 && c2:
		verdict = "reproduced"
	case !c1 && !c2:
		verdict = "not reproduced"
	}
	return &Report{
		Title: "iTransformer on ETTh1 (arXiv 2310.06625)",
		Claim: "Inverting the Transformer (variates as tokens) forecasts ETTh1 as well as the paper reports (0.386 MSE / 0.405 MAE at horizon 96), on par with DLinear, and clearly better than a Transformer on temporal tokens.",
		Seeds: used, Body: sb.String(), Verdict: verdict + ": " + strings.Join(checks, "; "),
		Changes: "More seeds (ETTh1's test split is one stretch of four months: seed spreads are small but the split is fixed); the Time-Series-Library encoder–decoder Transformer at its default size in place of the encoder-only baseline.",
	}, nil
}

// itransformerCell trains one model, or reads its result back from an
// earlier run with the same work directory (the trained weights too when
// keep is set: the example forecast needs them).
func itransformerCell(c *Context, d *series.Dataset, cfg forecast.Config, name string, epochs int, keep bool) (*forecast.Result, forecast.Model, error) {
	tag := cfg.Arch
	if cfg.DModel > 0 && !cfg.UseNorm {
		tag += "-nonorm"
	}
	if c.Quick {
		tag += "-quick"
	}
	base := filepath.Join(c.WorkDir, fmt.Sprintf("h%d-seed%d-%s", d.Spec.Horizon, cfg.Seed, tag))
	if keep {
		if m, s, err := forecast.Load(base); err == nil && s.Result != nil {
			fmt.Fprintf(c.Progress, "itransformer: seed %d, horizon %d, %s: from %s\n", cfg.Seed, d.Spec.Horizon, name, base)
			return s.Result, m, nil
		}
	} else if b, err := os.ReadFile(base + ".json"); err == nil {
		var r forecast.Result
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, nil, fmt.Errorf("%s: %w (delete it to retrain)", base+".json", err)
		}
		fmt.Fprintf(c.Progress, "itransformer: seed %d, horizon %d, %s: from %s.json\n", cfg.Seed, d.Spec.Horizon, name, base)
		return &r, nil, nil
	}
	m, err := forecast.New(cfg)
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(c.Progress, "itransformer: seed %d, horizon %d, %s\n", cfg.Seed, d.Spec.Horizon, name)
	r, err := forecast.Fit(m, d, forecast.FitOptions{Epochs: epochs, Seed: cfg.Seed, Progress: c.Progress})
	if err != nil {
		return nil, nil, err
	}
	if keep {
		return r, m, forecast.Save(base, m, forecast.SavedFor(m, d, r))
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, nil, err
	}
	return r, m, fsutil.WriteFile(base+".json", append(b, '\n'))
}

// exampleForecastPNG draws OT's lookback, actual future and forecast for
// the last test window.
func exampleForecastPNG(m forecast.Model, d *series.Dataset, path string) error {
	w := d.Len(series.Test) - 1
	x, marks, y := d.Batch(series.Test, []int{w})
	var out *autograd.Var
	autograd.NoGrad(func() { out = m.Forward(nil, autograd.Const(x), autograd.Const(marks)) })
	j := d.N - 1 // OT
	L, S := d.Spec.Lookback, d.Spec.Horizon
	var hx, hy, fx, fy []float64
	for t := range L {
		hx, hy = append(hx, float64(t-L)), append(hy, d.Unscale(j, x.At(0, t, j)))
	}
	for t := range S {
		hx, hy = append(hx, float64(t)), append(hy, d.Unscale(j, y.At(0, t, j)))
		fx, fy = append(fx, float64(t)), append(fy, d.Unscale(j, out.Value.At(0, t, j)))
	}
	c := &chart.Chart{Title: "iTransformer on ETTh1: OT, last test window (horizon 96)", XLabel: "hour (0 = first forecast)", YLabel: "oil temperature",
		Series: []chart.Series{{Name: "actual", X: hx, Y: hy}, {Name: "forecast", X: fx, Y: fy}}}
	return c.WritePNG(path)
}
