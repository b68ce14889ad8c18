package main

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/loomml/loom/compress/prune"
	"github.com/loomml/loom/compress/vtrans"
	"github.com/loomml/loom/convert"
	"github.com/loomml/loom/data"
	"github.com/loomml/loom/format/gguf"
	"github.com/loomml/loom/internal/fsutil"
)

// runPruneStructure is `loom prune --method structured|vtrans`: remove
// whole heads, FFN neurons, hidden dims or layers of a decoder to the
// --ratio budget of its parameters (compress/structured; VTrans chooses by
// trained VIB masks, compress/vtrans), measure before and after, and save
// the smaller model.
func runPruneStructure(o *pruneOpts, l *convert.Loaded, stdout, stderr io.Writer) error {
	if o.given["data"] {
		return fmt.Errorf("--data applies to --method axformer, not --method %s on a decoder: a decoder's %s reads --calib (--data is an encoder classifier's labelled training split)", o.method, o.method)
	}
	m, tok := l.Model, l.Tok
	job := &prune.StructureJob{Model: m, Method: o.method, Ratio: o.ratio, ModelName: o.model, Measured: printMeasured(stderr)}
	switch o.method {
	case prune.MethodStructured:
		job.Score, job.Kinds = o.score, o.kinds
		if o.score == prune.ScoreMagnitude {
			for _, f := range []string{"calib", "windows", "seq-len"} {
				if o.given[f] {
					return fmt.Errorf("--%s: --score magnitude reads no data (the calibration windows are for taylor and activation)", f)
				}
			}
			break
		}
		cal, name, err := calibWindows(o, m, tok, cmp.Or(o.windows, defaultCalibWindows))
		if err != nil {
			return err
		}
		job.Calib, job.DataName = cal, name
	case prune.MethodVTrans:
		T, err := windowLen(o, m)
		if err != nil {
			return err
		}
		ids, name, err := calibText(o, tok)
		if err != nil {
			return err
		}
		if len(ids) <= T {
			return fmt.Errorf("%s: %d tokens, too short for a training window of %d", name, len(ids), T)
		}
		n := o.windows
		if n == 0 {
			n = defaultVTransWindows
		}
		const batch = 8
		sampler := data.NewMemSampler(ids, min(batch, n), T-1, o.seed)
		for i := 0; i < n; i += batch {
			b := sampler.Next()
			if k := min(batch, n-i); k < b.B { // the last, partial batch
				b = data.Batch{IDs: b.IDs[:k*b.T], Targets: b.Targets[:k*b.T], B: k, T: b.T}
			}
			job.Train = append(job.Train, b)
		}
		job.DataName = name
		steps := o.epochs * len(job.Train)
		job.VTrans = vtrans.Options{Variant: o.variant, Epochs: o.epochs, Beta: o.beta, Seed: o.seed, Progress: func(step, _ int, loss float64) {
			if step%10 == 0 || step == steps {
				fmt.Fprintf(stderr, "vtrans: step %d, loss %.4f\n", step, loss)
			}
		}}
	}
	bench, err := pruneBench(o, m, tok)
	if err != nil {
		return err
	}
	job.Bench = bench
	rep, err := job.Run()
	if err != nil {
		return err
	}
	// VTrans folds its masks into the weights (and the full variant trains
	// them): measured again when rounding to the stored type changes them.
	after, err := roundDecoder(rep.Pruned, o.saveType, &job.Bench, job.Measured)
	if err != nil {
		return err
	}
	if after != nil {
		rep.After = *after
		rep.LossRetention, rep.TaskRetention = prune.Retention(rep.Before, rep.After)
	}
	rep.FileBytes[0] = weightBytes(l.Path)
	err = fsutil.ReplaceDir(o.out, fsutil.Options{Force: o.force}, func(tmp string) error {
		if err := saveDerivedAs(rep.Pruned, l, tmp, o.saveType); err != nil {
			return err
		}
		rep.FileBytes[1] = weightBytes(tmp)
		if err := rep.WriteFiles(tmp); err != nil {
			return err
		}
		return noteSavedType(tmp, o.saveType, after != nil)
	})
	if err != nil {
		return outError(err)
	}
	how := o.method + ", " + rep.Score
	if o.method == prune.MethodVTrans {
		how = fmt.Sprintf("vtrans %s, %d steps", rep.Variant, rep.Steps)
	}
	fmt.Fprintf(stdout, "removed %.1f %% of the parameters (%d → %d; %s) in %.1fs: held-out loss %.4f → %.4f (retention %.3f), decode %.1f → %.1f tokens/s\n",
		100*rep.RemovedFraction, rep.Before.ParamsCount, rep.After.ParamsCount, how, rep.PruneS, rep.Before.Loss, rep.After.Loss, rep.LossRetention,
		rep.Before.DecodeTokS, rep.After.DecodeTokS)
	k := rep.Kept
	fmt.Fprintf(stdout, "kept %d/%d layers, %d/%d heads, %d/%d FFN neurons, %d/%d hidden dims; weights %.2f → %.2f MB (saved as %s, the source's type)\n", k[1].Layers, k[0].Layers,
		k[1].Heads, k[0].Heads, k[1].Neurons, k[0].Neurons, k[1].Hidden, k[0].Hidden, float64(rep.FileBytes[0])/1e6, float64(rep.FileBytes[1])/1e6, o.saveType)
	fmt.Fprintf(stdout, "model: %s; report: %s, %s\n", o.out, filepath.Join(o.out, prune.ReportMarkdown), filepath.Join(o.out, prune.ReportJSON))
	return nil
}

// weightBytes is the size of a model's weights: a GGUF file's size, or
// the safetensors files in a model directory (a training run's
// checkpoint/ when path is the run).
func weightBytes(path string) int64 {
	if gguf.IsGGUF(path) {
		if st, err := os.Stat(path); err == nil {
			return st.Size()
		}
		return 0
	}
	if d, _, err := convert.ResolvePath(path); err == nil {
		path = d
	}
	es, err := os.ReadDir(path)
	if err != nil {
		return 0
	}
	var n int64
	for _, e := range es {
		if strings.HasSuffix(e.Name(), ".safetensors") {
			if info, err := e.Info(); err == nil {
				n += info.Size()
			}
		}
	}
	return n
}
