package repro

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/loomml/loom/chart"
	"github.com/loomml/loom/data/series"
	"github.com/loomml/loom/models/timeseries"
)

// Anomaly detection as the survey of Wen et al. lists it and
// Time-Series-Library benchmarks it: transformers' reconstruction error
// against an isolation forest on labelled sensor data.

func init() {
	Register(Entry{
		Name:    "ts-anomaly",
		Paper:   "Transformers in Time Series: A Survey (Wen et al., arXiv 2202.07125); Time-Series-Library's anomaly detection task",
		Summary: "labelled sensor-network readings (and NAB's realKnownCause series when present): reconstruction transformers against an isolation forest, F1 point-wise and point-adjusted, 3 seeds",
		Run:     runTSAnomaly,
	})
}

// tsAnomalyRule is the verdict rule, fixed before the first full run.
const tsAnomalyRule = "On each labelled set (the sensor network always; each NAB series when the external data set nab is present), mean over seeds of the point-wise F1 with the threshold set as Time-Series-Library sets it (the 99th percentile of training and test scores together, an anomaly ratio of 1 %, TSLib's setting for MSL, SMAP, SWaT and PSM): the best transformer (the temporal-token Transformer, iTransformer or PatchTST, whichever is highest on that set) beats the isolation forest. **Reproduced** if it does on every set; **partial** if on some; **not reproduced** if on none. The same comparison with the threshold on the training scores alone, and point-adjusted F1, are reported, not judged."

type anomalySet struct {
	name      string
	short     string // the plot's column label
	ents      []timeseries.Entity
	trainFrac float64
	about     string
}

func runTSAnomaly(c *Context) (*Report, error) {
	seeds := c.SeedsOrQuick(3, 1)
	epochs := 3
	if c.Quick {
		epochs = 1
	}
	const ratio = 1.0
	sensor := series.SensorNetwork()
	labels, err := timeseries.ColumnLabels(sensor, "label")
	if err != nil {
		return nil, err
	}
	ents, err := timeseries.Entities(sensor, []string{"humidity", "temperature"}, labels, "mote_id")
	if err != nil {
		return nil, err
	}
	sets := []anomalySet{{"sensor network", "sensors", ents, 0.4, "4 motes (series), humidity and temperature, 18,914 readings, 149 labelled anomalous in two events (mote 1: 117 readings, mote 4: 32); each mote's first 40 % learnt from (so that both events fall in the scored part)"}}
	nabNote := "NAB's series were not used: the external data set nab is absent."
	if !c.Quick {
		var found []string
		for _, name := range series.NABSeries {
			t, labels, err := series.ReadNAB(name)
			if err != nil {
				nabNote = "NAB's series were not used: " + err.Error()
				found = nil
				break
			}
			e := timeseries.Entity{Name: name, Labels: labels}
			for _, r := range t.Values {
				e.X = append(e.X, []float64{r[0]})
			}
			n := 0
			for _, l := range labels {
				if l {
					n++
				}
			}
			sets = append(sets, anomalySet{"NAB " + name, nabShort(name), []timeseries.Entity{e}, 0.15, fmt.Sprintf("%d points, %d inside NAB's anomaly windows; the first 15 %% (NAB's probationary period) learnt from", len(e.X), n)})
			found = append(found, name)
		}
		if found != nil {
			nabNote = "NAB: the realKnownCause series " + strings.Join(found, ", ") + " (external data set nab), labelled by NAB's combined windows."
		}
	}
	archs := []string{"transformer", "itransformer", "patchtst", "dlinear", "iforest"}
	names := map[string]string{"transformer": "Transformer (temporal tokens)", "itransformer": "iTransformer", "patchtst": "PatchTST", "dlinear": "DLinear", "iforest": "isolation forest"}
	type cell struct{ f1, f1adj, f1train, f1trainAdj []float64 }
	res := map[string]map[string]*cell{}
	for _, set := range sets {
		res[set.name] = map[string]*cell{}
		for _, arch := range archs {
			cl := &cell{}
			for s := range seeds {
				seed := uint64(2202 + s)
				sc, err := timeseries.DetectAnomalies(set.ents, timeseries.DetectOptions{Arch: arch, TrainFraction: set.trainFrac, Dropout: 0.1, Epochs: epochs, Seed: seed})
				if err != nil {
					return nil, fmt.Errorf("%s %s: %w", set.name, arch, err)
				}
				ds, err := sc.Evaluate(ratio)
				if err != nil {
					return nil, err
				}
				tr, all := ds[0], ds[1]
				cl.f1, cl.f1adj = append(cl.f1, all.Raw.F1), append(cl.f1adj, all.PointAdjusted.F1)
				cl.f1train, cl.f1trainAdj = append(cl.f1train, tr.Raw.F1), append(cl.f1trainAdj, tr.PointAdjusted.F1)
				fmt.Fprintf(c.Progress, "ts-anomaly: %s %s seed %d: F1 %.3f (adjusted %.3f); train threshold F1 %.3f (adjusted %.3f)\n", set.name, arch, seed, all.Raw.F1, all.PointAdjusted.F1, tr.Raw.F1, tr.PointAdjusted.F1)
			}
			res[set.name][arch] = cl
		}
	}
	mean := func(xs []float64) float64 { m, _ := meanStd(xs); return m }
	var sb strings.Builder
	fmt.Fprintf(&sb, "**Setup.** Sets: ")
	for i, set := range sets {
		if i > 0 {
			sb.WriteString("; ")
		}
		fmt.Fprintf(&sb, "%s (%s)", set.name, set.about)
	}
	fmt.Fprintf(&sb, ". %s Each set's values are standardised by its training points. Detectors (`timeseries.DetectAnomalies`, as `loom series detect`): the backbones reconstruct windows of 100 points (Time-Series-Library's win_size; training windows at stride 1), width 64, 2 layers, 4 heads, dropout 0.1, MSE, AdamW at 1e-3, batches of 128, %d epochs (TSLib's anomaly scripts train 3); a point's score is the squared reconstruction error of its (non-overlapping) window, averaged over variates. The isolation forest (Liu, Ting and Zhou 2008; 100 trees of 256 points) scores each point's values and first differences. Thresholds at an anomaly ratio of %g %%: **TSLib's**, the 99th percentile of training and test scores together (it lets the test scores place the threshold), and **training only**, the 99th percentile of the training scores (what a deployed detector can do). F1 is point-wise, or **point-adjusted** as TSLib reports it: an anomalous segment counts as found whole when any of its points is flagged — it inflates scores (Kim et al., AAAI 2022, show a random detector scores high under it), so it is reported, never judged.\n\n", nabNote, epochs, ratio)
	sb.WriteString("Verdict rule (fixed before running): " + tsAnomalyRule + "\n\n")
	grid := &chart.Grid{Title: "point-wise F1, TSLib's threshold (mean over seeds); filled: the best on each set", Note: "rows: detectors; columns: sets"}
	sb.WriteString("F1 (mean ± std over seeds):\n\n| set | detector | F1, TSLib's threshold | point-adjusted | F1, threshold on training scores | point-adjusted |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, set := range sets {
		grid.ColLabels = append(grid.ColLabels, set.short)
		for _, a := range archs {
			cl := res[set.name][a]
			f := func(xs []float64) string { m, s := meanStd(xs); return fmt.Sprintf("%.3f ± %.3f", m, s) }
			fmt.Fprintf(&sb, "| %s | %s | %s | %s | %s | %s |\n", set.name, names[a], f(cl.f1), f(cl.f1adj), f(cl.f1train), f(cl.f1trainAdj))
		}
	}
	for i, a := range archs {
		grid.RowLabels = append(grid.RowLabels, names[a])
		grid.Cells = append(grid.Cells, nil)
		grid.Filled = append(grid.Filled, nil)
		for _, set := range sets {
			grid.Cells[i] = append(grid.Cells[i], fmt.Sprintf("%.3f", mean(res[set.name][a].f1)))
			grid.Filled[i] = append(grid.Filled[i], false)
		}
	}
	held := 0
	var lines []string
	sb.WriteString("\n")
	for j, set := range sets {
		best, bestArch, bi := -1.0, "", 0
		for i, a := range archs {
			if m := mean(res[set.name][a].f1); m > best {
				bi, best = i, m
			}
		}
		grid.Filled[bi][j] = true
		best = -1
		for _, a := range archs[:3] {
			if m := mean(res[set.name][a].f1); m > best {
				best, bestArch = m, a
			}
		}
		forest := mean(res[set.name]["iforest"].f1)
		ok := best > forest
		if ok {
			held++
		}
		lines = append(lines, fmt.Sprintf("%s: %s %.3f vs forest %.3f", set.name, names[bestArch], best, forest))
		fmt.Fprintf(&sb, "- %s: best transformer %s F1 %.3f against the isolation forest's %.3f: %s\n", set.name, names[bestArch], best, forest, map[bool]string{true: "beats it", false: "does not"}[ok])
	}
	if err := grid.WritePNG(filepath.Join(c.DocsDir, "ts-anomaly.png")); err != nil {
		return nil, err
	}
	sb.WriteString("\n![F1](ts-anomaly.png)\n\nThe plot's columns: sensors is the sensor network; the others are NAB's series, their names cut to the first two words.\n")
	verdict := "not reproduced"
	switch {
	case held == len(sets):
		verdict = "reproduced"
	case held > 0:
		verdict = "partial"
	}
	return &Report{
		Title:   "Time-series anomaly detection: reconstruction transformers against an isolation forest",
		Claim:   "Transformer-based reconstruction detectors (the survey's anomaly-detection task; Time-Series-Library's harness) find labelled anomalies better than a classical detector.",
		Seeds:   seedsFrom(2202, seeds),
		Body:    sb.String(),
		Verdict: fmt.Sprintf("%s: the best transformer beats the isolation forest in point-wise F1 (TSLib's threshold) on %d of %d sets (%s)", verdict, held, len(sets), strings.Join(lines, "; ")),
		Changes: "More labelled events: the sensor network has two and each NAB series one to four, so one event found or missed moves F1 by a lot; the anomaly ratio (fixed at 1 % here, TSLib tunes it per set); TSLib's own sets (SMD, MSL, SMAP, SWaT, PSM), which are not available here.",
	}, nil
}

// nabShort is a NAB series' name cut to its first two words
// (machine_temperature_system_failure: machine_temperature).
func nabShort(name string) string {
	parts := strings.SplitN(name, "_", 3)
	return strings.Join(parts[:min(2, len(parts))], "_")
}
