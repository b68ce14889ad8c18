package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/loomml/loom/data/molecules"
	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/internal/kernels"
	"github.com/loomml/loom/models/graph"
	"github.com/loomml/loom/molgraph"
)

func init() {
	register("graph", "Graph models on molecules: `loom graph train` (Graph Transformer, GCN or GIN on a CSV of SMILES and a target; ESOL by default) and `loom graph eval`.", withSubcommands("graph", graphUsage, map[string]command{"train": graphTrain, "eval": graphEval}))
}

const graphUsage = `usage: loom graph train --out DIR [--csv FILE --smiles-col C --target-col C] [flags]    train on a CSV of SMILES and a target (default: the embedded ESOL)
       loom graph eval --model DIR [--csv FILE --smiles-col C --target-col C] [--out FILE.csv]    predict, and report the errors when the target column is given`

// The embedded ESOL's columns (data/molecules).
const (
	esolSmiles = "smiles"
	esolTarget = "measured log solubility in mols per litre"
)

// readGraphCSV reads --csv with its columns, or the embedded ESOL when
// --csv is empty (with its columns unless given).
func readGraphCSV(path, smilesCol, targetCol string, needTarget bool) (*molgraph.Dataset, error) {
	if path == "" {
		if smilesCol == "" {
			smilesCol = esolSmiles
		}
		if targetCol == "" && needTarget {
			targetCol = esolTarget
		}
		return molgraph.ReadCSV("ESOL (embedded)", bytes.NewReader(molecules.ESOL()), smilesCol, targetCol)
	}
	if smilesCol == "" {
		return nil, fmt.Errorf("--smiles-col is required with --csv %s", path)
	}
	if targetCol == "" && needTarget {
		return nil, fmt.Errorf("--target-col is required with --csv %s", path)
	}
	return molgraph.ReadCSVFile(path, smilesCol, targetCol)
}

func graphTrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("graph train", "--out DIR [--csv FILE --smiles-col C --target-col C] [flags]", stderr)
	out := fs.String("out", "", "directory for the run: model/ (the best epoch's), checkpoint/, metrics.jsonl, loss.png, result.json (required; new or empty unless --force)")
	force := fs.Bool("force", false, forceHelp)
	csvPath := fs.String("csv", "", "CSV with a header row (default: the embedded ESOL, 1,128 molecules, log solubility)")
	smilesCol := fs.String("smiles-col", "", "column holding the SMILES (ESOL's: smiles)")
	targetCol := fs.String("target-col", "", "column holding the target, a number (ESOL's: measured log solubility in mols per litre)")
	arch := choice(fs, "arch", "gt", "gt (Graph Transformer, attention over bonds), gt-full (attention over all atom pairs), gcn or gin", graph.Archs()...)
	pe := choice(fs, "pe", "lap", "positional encoding: lap (Laplacian eigenvectors) or none", "lap", "none")
	peDim := intFlag(fs, "pe-dim", 8, "Laplacian eigenvectors (with --pe lap)", atLeast(1))
	norm := choice(fs, "norm", graph.NormBatch, "normalisation: batch or layer", graph.NormBatch, graph.NormLayer)
	layers := intFlag(fs, "layers", 10, "layers", atLeast(1))
	dim := intFlag(fs, "dim", 64, "width", atLeast(1))
	heads := intFlag(fs, "heads", 8, "attention heads (gt, gt-full; dividing --dim)", atLeast(1))
	readout := choice(fs, "readout", graph.ReadoutMean, "graph readout: mean or sum", graph.ReadoutMean, graph.ReadoutSum)
	dropout := floatFlag(fs, "dropout", 0, "dropout", between(0, 1))
	split := choice(fs, "split", molgraph.SplitScaffold, "80/10/10 split: scaffold (Bemis–Murcko, DeepChem's) or random (seeded)", molgraph.SplitScaffold, molgraph.SplitRandom)
	epochs := intFlag(fs, "epochs", 100, "epochs", atLeast(1))
	batch := intFlag(fs, "batch", 128, "molecules per step", atLeast(1))
	lr := floatFlag(fs, "lr", 7e-4, "peak learning rate (AdamW, warmup one epoch, cosine to 0.01×)", above(0))
	wd := floatFlag(fs, "weight-decay", 0, "AdamW weight decay", atLeast(0))
	patience := intFlag(fs, "patience", 0, "stop after this many epochs without a lower validation MAE", atLeast(1), sp{0, "never"})
	seed := fs.Uint64("seed", 1, "seed of the weights, the batches, the random split and LapPE's sign flips")
	threads := intFlag(fs, "threads", 0, "threads", atLeast(1), sp{0, "all cores"})
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		fmt.Fprintln(stderr, "loom graph train: --out is required")
		fs.Usage()
		return errUsage
	}
	if *dim%*heads != 0 && (*arch == "gt" || *arch == "gt-full") {
		return fmt.Errorf("--heads %d does not divide --dim %d", *heads, *dim)
	}
	if err := checkOut(*out, true, *force, source{"--csv", *csvPath}); err != nil {
		return err
	}
	if *threads > 0 {
		kernels.SetThreads(*threads)
	}
	d, err := readGraphCSV(*csvPath, *smilesCol, *targetCol, true)
	if err != nil {
		return err
	}
	k := *peDim
	if *pe == "none" {
		k = 0
	}
	if *force {
		os.RemoveAll(*out)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	o := molgraph.Options{Arch: *arch, PE: k, Norm: *norm, Layers: *layers, Dim: *dim, Heads: *heads, Readout: *readout, Dropout: *dropout,
		Split: *split, Epochs: *epochs, Batch: *batch, LR: *lr, WeightDecay: *wd, Patience: *patience, Seed: *seed, OutDir: *out, Progress: stderr}
	r, m, err := molgraph.Fit(d, o)
	if err != nil {
		return err
	}
	if err := m.Save(filepath.Join(*out, "model")); err != nil {
		return err
	}
	js, err := json.MarshalIndent(graphResultJSON(d, r), "", "  ")
	if err != nil {
		return err
	}
	if err := fsutil.WriteFile(filepath.Join(*out, "result.json"), append(js, '\n')); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d molecules, %s split %d/%d/%d (%d scaffolds, %d test molecules with a training scaffold)\n",
		d.Name, d.Len(), r.Split.Kind, len(r.Split.Train), len(r.Split.Val), len(r.Split.Test), r.Split.Scaffolds, r.Split.TestScaffoldsSeen)
	fmt.Fprintf(stdout, "%s (%d parameters), %d steps in %.0f s; best epoch %d\n", *arch, r.Params, r.Steps, r.Seconds, r.BestEpoch)
	fmt.Fprintf(stdout, "MAE  train %.4f  val %.4f  test %.4f\nRMSE train %.4f  val %.4f  test %.4f\n", r.Train.MAE, r.Val.MAE, r.Test.MAE, r.Train.RMSE, r.Val.RMSE, r.Test.RMSE)
	fmt.Fprintf(stdout, "model: %s\n", filepath.Join(*out, "model"))
	return nil
}

// graphResultJSON is result.json.
func graphResultJSON(d *molgraph.Dataset, r *molgraph.Result) map[string]any {
	m := func(x graph.Metrics) map[string]float64 { return map[string]float64{"mae": x.MAE, "rmse": x.RMSE} }
	return map[string]any{"data": d.Name, "smiles_col": d.SmilesCol, "target_col": d.TargetCol, "molecules": d.Len(),
		"split": r.Split.Kind, "train": len(r.Split.Train), "val": len(r.Split.Val), "test": len(r.Split.Test),
		"config": r.Config, "params": r.Params, "steps": r.Steps, "best_epoch": r.BestEpoch, "seconds": r.Seconds,
		"metrics": map[string]any{"train": m(r.Train), "val": m(r.Val), "test": m(r.Test)}}
}

func graphEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("graph eval", "--model DIR [--csv FILE --smiles-col C --target-col C] [--out FILE.csv]", stderr)
	model := fs.String("model", "", "a `loom graph train` run directory or its model/ directory (required)")
	csvPath := fs.String("csv", "", "CSV with a header row (default: the embedded ESOL)")
	smilesCol := fs.String("smiles-col", "", "column holding the SMILES (ESOL's: smiles)")
	targetCol := fs.String("target-col", "", "column holding the target: the errors are reported (default with the embedded ESOL: its target)")
	out := fs.String("out", "", "write the predictions as CSV (smiles, prediction[, target])")
	force := fs.Bool("force", false, "replace an existing --out")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *model == "" {
		fmt.Fprintln(stderr, "loom graph eval: --model is required")
		fs.Usage()
		return errUsage
	}
	if *out != "" {
		if err := checkOut(*out, false, *force, source{"--csv", *csvPath}, source{"--model", *model}); err != nil {
			return err
		}
	}
	m, err := molgraph.Load(*model)
	if err != nil {
		return err
	}
	d, err := readGraphCSV(*csvPath, *smilesCol, *targetCol, *csvPath == "")
	if err != nil {
		return err
	}
	pred, err := m.Predict(d)
	if err != nil {
		return err
	}
	if d.Targets != nil {
		var abs, sq float64
		for i, p := range pred {
			e := p - d.Targets[i]
			abs += math.Abs(e)
			sq += e * e
		}
		n := float64(len(pred))
		fmt.Fprintf(stdout, "%s: %d molecules, %s: MAE %.4f, RMSE %.4f\n", d.Name, d.Len(), d.TargetCol, abs/n, math.Sqrt(sq/n))
	} else {
		fmt.Fprintf(stdout, "%s: %d molecules predicted\n", d.Name, d.Len())
	}
	if *out != "" {
		err := fsutil.WriteAtomic(*out, func(w io.Writer) error {
			cw := csv.NewWriter(w)
			head := []string{"smiles", "prediction"}
			if d.Targets != nil {
				head = append(head, d.TargetCol)
			}
			cw.Write(head)
			for i, p := range pred {
				row := []string{d.Smiles[i], strconv.FormatFloat(p, 'g', 8, 64)}
				if d.Targets != nil {
					row = append(row, strconv.FormatFloat(d.Targets[i], 'g', -1, 64))
				}
				cw.Write(row)
			}
			cw.Flush()
			return cw.Error()
		})
		if err != nil {
			return outError(err)
		}
		fmt.Fprintf(stdout, "predictions: %s\n", *out)
	}
	return nil
}
