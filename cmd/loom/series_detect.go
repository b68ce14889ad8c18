package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/loomml/loom/data/series"
	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/internal/kernels"
	"github.com/loomml/loom/models/timeseries"
)

// detectArchs are `loom series detect --arch`'s values.
var detectArchs = []string{"transformer", "itransformer", "dlinear", "patchtst", "iforest"}

func seriesDetect(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("series detect", "--csv FILE [flags]", stderr)
	csvPath := fs.String("csv", "", "CSV with a header row: numeric columns and optionally a date/timestamp column; sensor-network: the embedded labelled sensor readings (required)")
	columns := fs.String("columns", "", "comma-separated columns to watch (default: every numeric column but the label, group and time columns)")
	labelCol := fs.String("label-col", "", "0/1 column marking anomalies: precision, recall and F1 are reported (default with sensor-network: label)")
	windows := fs.String("windows", "", "anomaly windows instead of a label column: NAB's labels JSON ({file: [[start, end], …]}), matched to --csv by file name")
	groupCol := fs.String("group-col", "", "column naming separate series (a sensor, a machine): each is split and scored on its own (default with sensor-network: mote_id)")
	arch := choice(fs, "arch", "transformer", "transformer (temporal tokens), itransformer, dlinear or patchtst (reconstruction error of windows), or iforest (isolation forest on values and first differences)", detectArchs...)
	ratio := floatFlag(fs, "anomaly-ratio", 1, "percent of points flagged: the threshold is that quantile of the scores", between(0, 100))
	trainFrac := floatFlag(fs, "train-fraction", 0.5, "part of each series, from its start, the detector learns from (the rest is scored)", between(0, 1))
	window := intFlag(fs, "window", 100, "window of the reconstruction models (Time-Series-Library's win_size)", atLeast(2))
	dModel := intFlag(fs, "d-model", 64, "width", atLeast(1))
	layers := intFlag(fs, "layers", 2, "encoder layers", atLeast(1))
	heads := intFlag(fs, "heads", 4, "attention heads", atLeast(1))
	epochs := intFlag(fs, "epochs", 3, "epochs over the training windows (stride 1)", atLeast(1))
	batch := intFlag(fs, "batch", 128, "windows per step", atLeast(1))
	lr := floatFlag(fs, "lr", 1e-3, "peak learning rate (AdamW, cosine)", above(0))
	seed := fs.Uint64("seed", 1, "seed of the weights, the batches and the forest")
	out := fs.String("out", "", "write every scored point as CSV: series, index, score, flags under both thresholds, label")
	force := fs.Bool("force", false, "replace an existing --out")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	threads := intFlag(fs, "threads", 0, "threads", atLeast(1), sp{0, "all cores"})
	if err := parse(fs, args); err != nil {
		return err
	}
	if *csvPath == "" {
		fmt.Fprintln(stderr, "loom series detect: --csv is required")
		fs.Usage()
		return errUsage
	}
	if !(*ratio > 0 && *ratio < 100) {
		return fmt.Errorf("--anomaly-ratio %v: want a percentage in (0, 100)", *ratio)
	}
	if !(*trainFrac > 0 && *trainFrac < 1) {
		return fmt.Errorf("--train-fraction %v: want (0, 1)", *trainFrac)
	}
	if *labelCol != "" && *windows != "" {
		return fmt.Errorf("--label-col and --windows both given: labels come from one of them")
	}
	if *arch != "iforest" && *arch != "dlinear" && *dModel%*heads != 0 {
		return fmt.Errorf("--heads %d does not divide --d-model %d", *heads, *dModel)
	}
	if *out != "" {
		if err := checkOut(*out, false, *force, source{"--csv", *csvPath}); err != nil {
			return err
		}
	}
	if *threads > 0 {
		kernels.SetThreads(*threads)
	}
	var tb *series.Table
	if *csvPath == series.SensorNetworkName {
		tb = series.SensorNetwork()
		if *labelCol == "" && *windows == "" {
			*labelCol = "label"
		}
		if *groupCol == "" {
			*groupCol = "mote_id"
		}
		if *columns == "" {
			*columns = "humidity,temperature"
		}
	} else {
		var err error
		if tb, err = series.ReadTableFile(*csvPath); err != nil {
			return fmt.Errorf("--csv: %w", err)
		}
	}
	ents, vars, err := detectEntities(tb, *columns, *labelCol, *groupCol, *windows)
	if err != nil {
		return err
	}
	o := timeseries.DetectOptions{Arch: *arch, TrainFraction: *trainFrac, Window: *window, DModel: *dModel, Heads: *heads, Layers: *layers, Dropout: 0.1,
		Epochs: *epochs, Batch: *batch, LR: *lr, Seed: *seed, Progress: stderr}
	ctx, stop := interruptible(stderr)
	defer stop()
	o.Context = ctx
	sc, err := timeseries.DetectAnomalies(ents, o)
	if err != nil {
		return err
	}
	res := map[string]any{"csv": *csvPath, "columns": vars, "series": len(ents), "arch": *arch, "params": sc.Params, "seconds": sc.Seconds,
		"train_points": len(sc.TrainScores), "test_points": len(sc.TestScores), "anomaly_ratio": *ratio, "train_fraction": *trainFrac}
	var ds []timeseries.Detection
	if sc.TestLabels != nil {
		if ds, err = sc.Evaluate(*ratio); err != nil {
			return err
		}
		n := 0
		for _, l := range sc.TestLabels {
			if l {
				n++
			}
		}
		res["test_anomalies"], res["detections"] = n, ds
	}
	if *out != "" {
		if err := writeDetectCSV(*out, ents, sc, *ratio); err != nil {
			return outError(err)
		}
	}
	if *asJSON {
		js, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, string(js))
		return nil
	}
	fmt.Fprintf(stdout, "%s: %d series, %d variates (%s); %d points learnt from, %d scored", tb.Name, len(ents), len(vars), strings.Join(vars, ", "), len(sc.TrainScores), len(sc.TestScores))
	if sc.TestLabels != nil {
		fmt.Fprintf(stdout, ", %d of them labelled anomalous", res["test_anomalies"])
	}
	fmt.Fprintln(stdout)
	if sc.Params > 0 {
		fmt.Fprintf(stdout, "%s: %d parameters, %.1f s\n", *arch, sc.Params, sc.Seconds)
	} else {
		fmt.Fprintf(stdout, "%s: %.1f s\n", *arch, sc.Seconds)
	}
	for _, d := range ds {
		what := "threshold on the training scores alone (a detector that has not seen the test data)"
		if d.Kind == timeseries.ThresholdTrainTest {
			what = "threshold on training and test scores together (Time-Series-Library's protocol)"
		}
		fmt.Fprintf(stdout, "%s: %.4g, %d points flagged\n  point-wise:      precision %.3f  recall %.3f  F1 %.3f\n  point-adjusted:  precision %.3f  recall %.3f  F1 %.3f  (a whole anomaly counts found when one point is: inflated)\n",
			what, d.Threshold, d.Flagged, d.Raw.Precision, d.Raw.Recall, d.Raw.F1, d.PointAdjusted.Precision, d.PointAdjusted.Recall, d.PointAdjusted.F1)
	}
	if sc.TestLabels == nil {
		fmt.Fprintln(stdout, "no labels (--label-col or --windows): scores only")
	}
	if *out != "" {
		fmt.Fprintf(stdout, "scores: %s\n", *out)
	}
	return nil
}

// detectEntities cuts a table into the series to watch, labelled from a
// column or windows when given, and names the watched columns.
func detectEntities(tb *series.Table, columns, labelCol, groupCol, windows string) ([]timeseries.Entity, []string, error) {
	skip := map[string]bool{labelCol: labelCol != "", groupCol: groupCol != ""}
	var names []string
	if columns != "" {
		for _, c := range strings.Split(columns, ",") {
			names = append(names, strings.TrimSpace(c))
		}
	} else {
		for _, c := range tb.Columns {
			if !skip[c] {
				names = append(names, c)
			}
		}
	}
	var labels []bool
	var err error
	switch {
	case labelCol != "":
		if labels, err = timeseries.ColumnLabels(tb, labelCol); err != nil {
			return nil, nil, fmt.Errorf("--label-col: %w", err)
		}
	case windows != "":
		w, err := series.ReadWindowsFile(windows, tb.Name)
		if err != nil {
			return nil, nil, fmt.Errorf("--windows: %w", err)
		}
		if labels, err = series.WindowLabels(tb, w); err != nil {
			return nil, nil, fmt.Errorf("--windows: %w", err)
		}
	}
	ents, err := timeseries.Entities(tb, names, labels, groupCol)
	if err != nil {
		return nil, nil, fmt.Errorf("--columns/--group-col: %w", err)
	}
	return ents, names, nil
}

// writeDetectCSV writes every scored point.
func writeDetectCSV(path string, ents []timeseries.Entity, sc *timeseries.Scored, ratio float64) error {
	thTrain, _ := timeseries.AnomalyThreshold(timeseries.ThresholdTrain, sc.TrainScores, sc.TestScores, ratio)
	thAll, _ := timeseries.AnomalyThreshold(timeseries.ThresholdTrainTest, sc.TrainScores, sc.TestScores, ratio)
	return fsutil.WriteAtomic(path, func(w io.Writer) error {
		cw := csv.NewWriter(w)
		cw.Write([]string{"series", "index", "score", "flag_train_threshold", "flag_train_test_threshold", "label"})
		k := 0
		for i, e := range ents {
			for t := sc.TestStart[i]; t < len(e.X); t++ {
				s := sc.TestScores[k]
				lab := ""
				if sc.TestLabels != nil {
					lab = map[bool]string{true: "1", false: "0"}[sc.TestLabels[k]]
				}
				cw.Write([]string{e.Name, strconv.Itoa(t), strconv.FormatFloat(s, 'g', 6, 64), b01(s > thTrain), b01(s > thAll), lab})
				k++
			}
		}
		cw.Flush()
		return cw.Error()
	})
}

func b01(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
