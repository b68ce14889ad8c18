package repro

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/loomml/loom/chart"
	"github.com/loomml/loom/data/series"
	"github.com/loomml/loom/models/timeseries"
)

// Time-series classification as the survey of Wen et al. ("Transformers in
// Time Series: A Survey", arXiv 2202.07125) lists it and thuml's
// Time-Series-Library benchmarks it: transformers with classification
// heads against 1-NN with DTW on two UCR and two UEA sets.

func init() {
	Register(Entry{
		Name:    "ts-classify",
		Paper:   "Transformers in Time Series: A Survey (Wen et al., arXiv 2202.07125); Time-Series-Library's classification task",
		Summary: "GunPoint, ItalyPowerDemand, BasicMotions, JapaneseVowels: temporal-token Transformer, iTransformer, PatchTST and DLinear against 1-NN-DTW, 3 seeds",
		Run:     runTSClassify,
	})
}

// tsClassifyRule is the verdict rule, fixed before the first full run.
const tsClassifyRule = "On each set, the best transformer — the highest mean test accuracy over seeds among the temporal-token Transformer, iTransformer and PatchTST, each run's epoch picked on 20 % of the training cases (stratified), never on the test set — matches or beats 1-NN-DTW when its accuracy is at least 1-NN-DTW's minus 1 percentage point. 1-NN-DTW is the UCR archive's: the warping window learnt by leave-one-out on the training set (here over 0–20 % of the length; DTW_D, dependent across dimensions, on the multivariate sets). **Reproduced** if the best transformer matches or beats it on at least two of the four sets (the issue's claim); **not reproduced** otherwise. DLinear, Euclidean 1-NN and DTW_I are reported, not judged."

// tsPublished are the archives' published accuracies (tsPublishedNote
// gives the sources).
var tsPublished = map[string]string{
	"GunPoint":         "UCR: ED 0.9133, DTW learnt window (0 %) 0.9133, DTW full 0.9067",
	"ItalyPowerDemand": "UCR: ED 0.9553, DTW learnt window (0 %) 0.9553, DTW full 0.9504",
	"BasicMotions":     "DTW_I 1.000, DTW_D 0.975 (secondary source)",
	"JapaneseVowels":   "DTW_I 0.959, DTW_D 0.949 (secondary source)",
}

// tsPublishedNote says where tsPublished comes from.
const tsPublishedNote = "**Published numbers.** GunPoint and ItalyPowerDemand: the UCR archive's DataSummary.csv (Dau et al. 2019; 1 − its test error rates for ED, DTW with the window learnt on the training set — 0 for both sets, so it equals ED — and DTW with a full window), read from copies of that file in public repositories. BasicMotions and JapaneseVowels: the UEA archive paper's table (Bagnall et al. 2018, arXiv 1811.00075) could not be read here; the DTW_I and DTW_D accuracies quoted come from a secondary table in a public repository that does not say which window or normalisation they used, so they are context, not a check."

func runTSClassify(c *Context) (*Report, error) {
	seeds := c.SeedsOrQuick(3, 1)
	epochs := 100
	if c.Quick {
		epochs = 10
	}
	archs := []string{"transformer", "itransformer", "patchtst", "dlinear"}
	names := map[string]string{"transformer": "Transformer (temporal tokens)", "itransformer": "iTransformer", "patchtst": "PatchTST", "dlinear": "DLinear",
		"dtw": "1-NN-DTW (learnt window; DTW_D)", "dtw-i": "1-NN-DTW_I (learnt window)", "ed": "1-NN Euclidean"}
	rows := append(append([]string{}, archs...), "dtw", "dtw-i", "ed")
	type cell struct {
		acc     []float64
		secs    float64
		window  int
		params  int
		epoch   []int
		skipped bool
	}
	res := map[string]map[string]*cell{}
	var sb strings.Builder
	var setInfo []string
	for _, set := range series.UCRSets {
		trF, teF, err := series.ReadUCRSet(set)
		if err != nil {
			return nil, err
		}
		tr, te, err := timeseries.ClassSets(trF, teF)
		if err != nil {
			return nil, err
		}
		L := max(tr.MaxLen(), te.MaxLen())
		setInfo = append(setInfo, fmt.Sprintf("%s (%d train / %d test cases, %d dimension(s), %d classes, length %s)", set, tr.Len(), te.Len(), tr.Dims, len(tr.Classes), lengths(tr, te)))
		res[set] = map[string]*cell{}
		for _, d := range []struct {
			key string
			d   timeseries.Distance
		}{{"dtw", timeseries.DTWD}, {"dtw-i", timeseries.DTWI}, {"ed", timeseries.Euclidean}} {
			if d.key == "dtw-i" && tr.Dims == 1 {
				res[set][d.key] = &cell{skipped: true}
				continue
			}
			start := time.Now()
			nn, pct := timeseries.NearestNeighbourFor(tr, d.d, 0, 20)
			acc := timeseries.Accuracy(nn.PredictAll(te), te.Y)
			res[set][d.key] = &cell{acc: []float64{acc}, secs: time.Since(start).Seconds(), window: pct}
			fmt.Fprintf(c.Progress, "ts-classify: %s %s: accuracy %.4f (window %d %%)\n", set, names[d.key], acc, pct)
		}
		for _, arch := range archs {
			cl := &cell{}
			for s := range seeds {
				seed := uint64(2202 + s)
				start := time.Now()
				m, r, err := timeseries.FitClassifier(tr, L, timeseries.ClassOptions{Arch: arch, Epochs: epochs, Dropout: 0.1, Seed: seed,
					OutDir: filepath.Join(c.WorkDir, fmt.Sprintf("%s-%s-%d", set, arch, seed))})
				if err != nil {
					return nil, fmt.Errorf("%s %s seed %d: %w", set, arch, seed, err)
				}
				pred, err := m.Predict(te)
				if err != nil {
					return nil, err
				}
				acc := timeseries.Accuracy(pred, te.Y)
				cl.acc, cl.epoch, cl.params = append(cl.acc, acc), append(cl.epoch, r.BestEpoch), r.Params
				cl.secs += time.Since(start).Seconds() / float64(seeds)
				fmt.Fprintf(c.Progress, "ts-classify: %s %s seed %d: accuracy %.4f (epoch %d, %.0f s)\n", set, arch, seed, acc, r.BestEpoch, time.Since(start).Seconds())
			}
			res[set][arch] = cl
		}
	}
	mean := func(xs []float64) float64 { m, _ := meanStd(xs); return m }
	fmt.Fprintf(&sb, "**Setup.** The four sets are the UCR/UEA archives' .ts files (sktime's copies), not shipped with loom: `series.ReadUCRSet` reads them from the external data set `ucr` ($LOOM_DATA/ucr): %s. Cases are padded with zeros to the longest (train or test) with a padding mask, each dimension standardised by the training cases' mean and deviation, missing values interpolated. "+
		"Every network: width 64, 2 encoder layers, 4 heads, FFN 128, dropout 0.1, Time-Series-Library's classification head for its architecture (flattened features, GELU, dropout, a linear layer), cross-entropy, AdamW at 1e-3 with 5 %% warmup and cosine decay, batches of 16, %d epochs, the epoch of lowest validation loss on a stratified 20 %% of the training cases kept (`loom series classify`). PatchTST cuts patches of 16 every 8 steps, or a quarter of the length every eighth on series shorter than 32. "+
		"Time-Series-Library itself picks the epoch on the test set; loom does not. 1-NN: squared Euclidean distance or DTW, the window learnt by leave-one-out on the training cases over 0–20 %% of the longest training case (the UCR archive searches 0–100 %%; its learnt windows for these sets are small).\n\n",
		strings.Join(setInfo, "; "), epochs)
	sb.WriteString("Verdict rule (fixed before running): " + tsClassifyRule + "\n\n")
	sb.WriteString("Test accuracy (mean ± std over seeds for the networks; 1-NN is deterministic):\n\n| model |")
	for _, set := range series.UCRSets {
		sb.WriteString(" " + set + " |")
	}
	sb.WriteString("\n| --- |" + strings.Repeat(" --- |", len(series.UCRSets)) + "\n")
	grid := &chart.Grid{Title: "test accuracy (mean over seeds); filled: the best on each set", ColLabels: series.UCRSets, Note: "networks: mean of seeds; 1-NN: deterministic"}
	for _, row := range rows {
		fmt.Fprintf(&sb, "| %s |", names[row])
		var cells []string
		for _, set := range series.UCRSets {
			cl := res[set][row]
			if cl.skipped {
				sb.WriteString(" — |")
				cells = append(cells, "—")
				continue
			}
			m, s := meanStd(cl.acc)
			switch {
			case len(cl.acc) > 1:
				fmt.Fprintf(&sb, " %.4f ± %.4f |", m, s)
			case strings.HasPrefix(row, "dtw"):
				fmt.Fprintf(&sb, " %.4f (w = %d %%) |", m, cl.window)
			default:
				fmt.Fprintf(&sb, " %.4f |", m)
			}
			cells = append(cells, fmt.Sprintf("%.3f", m))
		}
		sb.WriteString("\n")
		grid.RowLabels, grid.Cells = append(grid.RowLabels, names[row]), append(grid.Cells, cells)
	}
	sb.WriteString("| published (see below) |")
	for _, set := range series.UCRSets {
		fmt.Fprintf(&sb, " %s |", tsPublished[set])
	}
	sb.WriteString("\n\n" + tsPublishedNote + "\n\n")
	grid.Filled = make([][]bool, len(rows))
	for i := range grid.Filled {
		grid.Filled[i] = make([]bool, len(series.UCRSets))
	}
	for j, set := range series.UCRSets {
		best, bi := -1.0, 0
		for i, row := range rows {
			if cl := res[set][row]; !cl.skipped && mean(cl.acc) > best {
				best, bi = mean(cl.acc), i
			}
		}
		grid.Filled[bi][j] = true
	}
	if err := grid.WritePNG(filepath.Join(c.DocsDir, "ts-classify.png")); err != nil {
		return nil, err
	}
	sb.WriteString("![accuracy](ts-classify.png)\n\n")
	fmt.Fprintf(&sb, "Parameters and time per run:\n\n| set |")
	for _, a := range archs {
		fmt.Fprintf(&sb, " %s |", names[a])
	}
	sb.WriteString(" 1-NN-DTW |\n| --- |" + strings.Repeat(" --- |", len(archs)+1) + "\n")
	for _, set := range series.UCRSets {
		fmt.Fprintf(&sb, "| %s |", set)
		for _, a := range archs {
			cl := res[set][a]
			fmt.Fprintf(&sb, " %d parameters, %.0f s, epochs %v |", cl.params, cl.secs, cl.epoch)
		}
		fmt.Fprintf(&sb, " %.1f s |\n", res[set]["dtw"].secs)
	}
	sb.WriteString("\n")
	held := 0
	var lines []string
	for _, set := range series.UCRSets {
		best, bestArch := -1.0, ""
		for _, a := range archs[:3] {
			if m := mean(res[set][a].acc); m > best {
				best, bestArch = m, a
			}
		}
		dtw := mean(res[set]["dtw"].acc)
		ok := best >= dtw-0.01
		if ok {
			held++
		}
		lines = append(lines, fmt.Sprintf("%s %s %.4f vs DTW %.4f", set, names[bestArch], best, dtw))
		fmt.Fprintf(&sb, "- %s: best transformer %s %.4f against 1-NN-DTW %.4f (%+.1f points): %s\n", set, names[bestArch], best, dtw, 100*(best-dtw), map[bool]string{true: "matches or beats", false: "falls short"}[ok])
	}
	verdict := "not reproduced"
	if held >= 2 {
		verdict = "reproduced"
	}
	return &Report{
		Title:   "Time-series classification: transformers against 1-NN-DTW (UCR/UEA)",
		Claim:   "Transformers with classification heads (the survey's classification task; Time-Series-Library's harness) match or beat the classical 1-NN-DTW baseline on standard UCR/UEA sets.",
		Seeds:   seedsFrom(2202, seeds),
		Body:    sb.String(),
		Verdict: fmt.Sprintf("%s: the best transformer matches or beats 1-NN-DTW on %d of 4 sets (%s)", verdict, held, strings.Join(lines, "; ")),
		Changes: "Picking the epoch on the test set as Time-Series-Library does (it raises the networks' numbers); a hyperparameter search per set (TSLib's scripts tune width, depth and learning rate per UEA set); more seeds on the small sets (GunPoint's 150 test cases move 0.67 points per case); the UCR archive's full 0–100 % window search.",
	}, nil
}

// lengths describes the case lengths of two sets ("150" or "7–29").
func lengths(a, b *timeseries.ClassSet) string {
	lo, hi := math.MaxInt, 0
	for _, s := range []*timeseries.ClassSet{a, b} {
		for _, x := range s.X {
			lo, hi = min(lo, len(x)), max(hi, len(x))
		}
	}
	if lo == hi {
		return fmt.Sprint(hi)
	}
	return fmt.Sprintf("%d–%d", lo, hi)
}
