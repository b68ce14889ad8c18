package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/loomml/loom/data/series"
	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/internal/kernels"
	"github.com/loomml/loom/models/timeseries"
)

func init() {
	register("series", "Time-series tasks beyond forecasting: `loom series classify` (UCR/UEA .ts or UCR .tsv/.csv; Transformer, iTransformer, DLinear, PatchTST or 1-NN with DTW) `loom series detect` (anomalies by reconstruction error or an isolation forest) and `loom series impute` (masked entries, against linear interpolation). Forecasting is `loom forecast`.", withSubcommands("series", seriesUsage, map[string]command{"classify": seriesClassify, "detect": seriesDetect, "impute": seriesImpute}))
}

const seriesUsage = `usage: loom series classify --train FILE --test FILE [--arch transformer|itransformer|dlinear|patchtst|1nn-dtw|1nn-dtw-i|1nn-ed] [--out DIR]
       loom series impute --csv FILE|ETTh1 --mask-ratio R [--arch transformer|itransformer|dlinear|patchtst|linear]
       loom series detect --csv FILE|sensor-network [--label-col C | --windows FILE.json] [--group-col C] [--arch transformer|itransformer|dlinear|patchtst|iforest] [--anomaly-ratio 1]
(loom series COMMAND --help lists a command's flags; forecasting is loom forecast)`

// classifyArchs are --arch's values: the neural backbones and 1-NN.
var classifyArchs = []string{"transformer", "itransformer", "dlinear", "patchtst", "1nn-dtw", "1nn-dtw-i", "1nn-ed"}

func seriesClassify(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("series classify", "--train FILE --test FILE [flags]", stderr)
	trainPath := fs.String("train", "", "training cases: .ts (sktime/UEA, multivariate, variable length), or .tsv/.csv (UCR: the label, then the values) (required)")
	testPath := fs.String("test", "", "test cases, in the training file's format and dimensions (required)")
	arch := choice(fs, "arch", "transformer", "transformer (temporal tokens), itransformer (variate tokens), dlinear, patchtst (channel-independent patches), 1nn-dtw (1-NN, DTW; dependent across dimensions), 1nn-dtw-i (DTW per dimension, summed) or 1nn-ed (1-NN, Euclidean)", classifyArchs...)
	window := intFlag(fs, "window", -1, "DTW band half-width in percent of the longest training case", between(0, 100), sp{-1, "learnt by leave-one-out on the training cases over 0…--window-max"})
	windowMax := intFlag(fs, "window-max", 20, "largest band tried when learning it (percent)", between(0, 100))
	dModel := intFlag(fs, "d-model", 64, "width", atLeast(1))
	layers := intFlag(fs, "layers", 2, "encoder layers", atLeast(1))
	heads := intFlag(fs, "heads", 4, "attention heads (dividing --d-model)", atLeast(1))
	dropout := floatFlag(fs, "dropout", 0.1, "dropout", between(0, 0.99))
	epochs := intFlag(fs, "epochs", 100, "epochs", atLeast(1))
	batch := intFlag(fs, "batch", 16, "cases per step", atLeast(1))
	lr := floatFlag(fs, "lr", 1e-3, "peak learning rate (AdamW, 5 % warmup, cosine to 0.1×)", above(0))
	valFrac := floatFlag(fs, "val-fraction", 0.2, "part of each class's training cases held out to pick the epoch (0: none, the last epoch)", between(0, 0.9))
	seed := fs.Uint64("seed", 1, "seed of the weights, the batches, dropout and the validation split")
	out := fs.String("out", "", "directory for the model, metrics.jsonl, loss.png and result.json (neural models; new or empty unless --force)")
	force := fs.Bool("force", false, forceHelp)
	asJSON := fs.Bool("json", false, "print the result as JSON")
	threads := intFlag(fs, "threads", 0, "threads", atLeast(1), sp{0, "all cores"})
	if err := parse(fs, args); err != nil {
		return err
	}
	if *trainPath == "" || *testPath == "" {
		fmt.Fprintln(stderr, "loom series classify: --train and --test are required")
		fs.Usage()
		return errUsage
	}
	neural := !strings.HasPrefix(*arch, "1nn")
	if neural && *dModel%*heads != 0 && *arch != "dlinear" {
		return fmt.Errorf("--heads %d does not divide --d-model %d", *heads, *dModel)
	}
	if *out != "" {
		if !neural {
			return fmt.Errorf("--out saves a neural model; --arch %s has none to save", *arch)
		}
		if err := checkOut(*out, true, *force, source{"--train", *trainPath}, source{"--test", *testPath}); err != nil {
			return err
		}
	}
	if *threads > 0 {
		kernels.SetThreads(*threads)
	}
	trF, err := series.ReadClassFile(*trainPath)
	if err != nil {
		return fmt.Errorf("--train: %w", err)
	}
	teF, err := series.ReadClassFile(*testPath)
	if err != nil {
		return fmt.Errorf("--test: %w", err)
	}
	tr, te, err := timeseries.ClassSets(trF, teF)
	if err != nil {
		return err
	}
	res := map[string]any{"train": *trainPath, "test": *testPath, "arch": *arch, "classes": tr.Classes, "dimensions": tr.Dims,
		"train_cases": tr.Len(), "test_cases": te.Len(), "max_length": max(tr.MaxLen(), te.MaxLen())}
	fmt.Fprintf(stderr, "%s: %d training and %d test cases, %d dimension(s), %d classes, lengths up to %d\n", trF.ProblemName, tr.Len(), te.Len(), tr.Dims, len(tr.Classes), max(tr.MaxLen(), te.MaxLen()))
	start := time.Now()
	var pred []int
	var desc string
	if !neural {
		d := map[string]timeseries.Distance{"1nn-dtw": timeseries.DTWD, "1nn-dtw-i": timeseries.DTWI, "1nn-ed": timeseries.Euclidean}[*arch]
		w, maxP := 0, -1
		if *window < 0 {
			maxP = *windowMax
		} else {
			w = (*window*tr.MaxLen() + 99) / 100
		}
		nn, pct := timeseries.NearestNeighbourFor(tr, d, w, maxP)
		pred = nn.PredictAll(te)
		res["window_percent"], res["window_points"] = pct, nn.Window
		desc = fmt.Sprintf("1-NN, %s", d)
		if d != timeseries.Euclidean {
			how := "given"
			if maxP >= 0 {
				how = fmt.Sprintf("learnt by leave-one-out over 0–%d %%", maxP)
			}
			desc += fmt.Sprintf(", window %d %% (%d points, %s)", pct, nn.Window, how)
		}
	} else {
		o := timeseries.ClassOptions{Arch: *arch, DModel: *dModel, Heads: *heads, Layers: *layers, Dropout: *dropout, Epochs: *epochs, Batch: *batch,
			LR: *lr, ValFraction: *valFrac, Seed: *seed, Progress: stderr}
		if *valFrac == 0 {
			o.ValFraction = -1
		}
		ctx, stop := interruptible(stderr)
		defer stop()
		o.Context = ctx
		var tmp string
		if *out != "" {
			if *force {
				os.RemoveAll(*out)
			}
			if err := os.MkdirAll(*out, 0o755); err != nil {
				return err
			}
			tmp = *out
			o.OutDir = tmp
		}
		cl, r, err := timeseries.FitClassifier(tr, max(tr.MaxLen(), te.MaxLen()), o)
		if err != nil {
			return err
		}
		if pred, err = cl.Predict(te); err != nil {
			return err
		}
		res["fit"] = r
		desc = fmt.Sprintf("%s, %d parameters, epoch %d of %d (validation accuracy %.3f on %d held-out training cases)", *arch, r.Params, r.BestEpoch, *epochs, r.ValAcc, r.Val)
		if *out != "" {
			dir := filepath.Join(*out, "model")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			if err := cl.Save(dir, filepath.Base(*trainPath)); err != nil {
				return err
			}
		}
	}
	acc := timeseries.Accuracy(pred, te.Y)
	res["test_accuracy"], res["seconds"] = acc, time.Since(start).Seconds()
	perClass := make(map[string]float64, len(tr.Classes))
	for k, name := range tr.Classes {
		n, ok := 0, 0
		for i, y := range te.Y {
			if y == k {
				n++
				if pred[i] == y {
					ok++
				}
			}
		}
		if n > 0 {
			perClass[name] = float64(ok) / float64(n)
		}
	}
	res["per_class_accuracy"] = perClass
	if *out != "" {
		js, _ := json.MarshalIndent(res, "", "  ")
		if err := fsutil.WriteFile(filepath.Join(*out, "result.json"), append(js, '\n')); err != nil {
			return err
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
	fmt.Fprintf(stdout, "%s\ntest accuracy %.4f (%d of %d cases; error %.4f) in %.1f s\n", desc, acc, int(acc*float64(te.Len())+0.5), te.Len(), 1-acc, time.Since(start).Seconds())
	return nil
}
