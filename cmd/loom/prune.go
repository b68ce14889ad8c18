package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/loomml/loom/compress/finercut"
	"github.com/loomml/loom/compress/prune"
	"github.com/loomml/loom/compress/sparse"
	"github.com/loomml/loom/convert"
	"github.com/loomml/loom/data"
	"github.com/loomml/loom/eval"
	"github.com/loomml/loom/format/gguf"
	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/internal/progress"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/tokenizer"
)

func init() {
	register("prune", "Remove attention/FFN sublayers (FinerCut and baselines) or zero weights (magnitude, 2:4); write the pruned model and a report.", runPrune)
}

func runPrune(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("prune", "--method M --ratio R --model DIR --out DIR [--calib FILE] [--force] [flags]", stderr)
	method := choice(fs, "method", "finercut", "sublayers: finercut, oneshot, shortgpt, lastn or random; weights: magnitude (unstructured) or 2:4 (semi-structured)",
		append(prune.Names(), prune.WeightMethods...)...)
	ratio := floatFlag(fs, "ratio", 0, "fraction to remove: of all attention and FFN sublayers, or for magnitude of the block weights (required; 2:4 fixes it at 0.5)", span{lo: 0, hi: 1, loOpen: true, hiOpen: true})
	scope := choice(fs, "scope", sparse.ScopeLayer, "magnitude: the ratio in each layer (layer) or one threshold over all layers (global)", sparse.ScopeLayer, sparse.ScopeGlobal)
	model := fs.String("model", "", "model to prune: a training run's directory, a model directory or a .gguf file (required)")
	out := fs.String("out", "", "directory for the pruned model and its report (required; must not exist, or be empty, unless --force)")
	force := fs.Bool("force", false, forceHelp)
	calib := fs.String("calib", "", "calibration text (default: the first 90% of the embedded corpus)")
	evalPath := fs.String("eval", "", "held-out text for the before/after loss (default: the embedded corpus's last 10%)")
	windows := intFlag(fs, "windows", 32, "calibration windows", atLeast(1))
	seqLen := intFlag(fs, "seq-len", 0, "calibration window length in tokens, at most the model's context", atLeast(2), sp{0, "the model's context, at most 128"})
	distance := choice(fs, "distance", "js", "FinerCut's distance: js, kl, angular or dissect (the paper code's logit-difference norm)", finercut.Distances...)
	protect := intFlag(fs, "protect", 0, "FinerCut: never remove sublayers of the first N layers, fewer than the model has", atLeast(0))
	seed := fs.Uint64("seed", 0, "seed of the random baseline")
	threads := intFlag(fs, "threads", 0, "threads", atLeast(1), sp{0, "all cores"})
	evalTokens := intFlag(fs, "eval-tokens", 0, "score at most about this many held-out tokens", atLeast(1), sp{0, "all"})
	taskList := fs.String("tasks", "continuation,lastword", "zero-shot tasks built from the held-out text, scored before and after (\"\": none)")
	taskItems := intFlag(fs, "task-items", 200, "items per zero-shot task", atLeast(1))
	if err := parse(fs, args); err != nil {
		return err
	}
	if *model == "" || *out == "" {
		fmt.Fprintln(stderr, "loom prune: --model and --out are required")
		fs.Usage()
		return errUsage
	}
	if err := refuseOutInModel(*model, *out); err != nil {
		return err
	}
	if err := checkOut(*out, true, *force, source{"--model", *model}, source{"--calib", *calib}, source{"--eval", *evalPath}); err != nil {
		return err
	}
	if usesFinerCut := *method == "finercut" || *method == "oneshot"; !usesFinerCut && givenFlags(fs)["distance"] {
		return fmt.Errorf("--distance applies to --method finercut and oneshot, not %s", *method)
	}
	given := givenFlags(fs)
	weights := prune.IsWeightMethod(*method)
	if given["scope"] && *method != prune.MethodMagnitude {
		return fmt.Errorf("--scope applies to --method magnitude, not %s", *method)
	}
	if weights {
		for _, f := range []string{"calib", "windows", "seq-len", "protect", "seed"} {
			if given[f] {
				return fmt.Errorf("--%s applies to the sublayer methods, not --method %s", f, *method)
			}
		}
		if *method == prune.Method24 {
			if *ratio != 0 && *ratio != 0.5 {
				return fmt.Errorf("--ratio %v: --method 2:4 keeps 2 of every 4 weights, a fixed ratio of 0.5; omit --ratio or give 0.5 (for another ratio, --method magnitude)", *ratio)
			}
			*ratio = 0.5
		}
	}
	if *ratio == 0 {
		if weights {
			return fmt.Errorf("--ratio is required: the fraction of the block weights to zero, 0 < x < 1")
		}
		return fmt.Errorf("--ratio is required: the fraction of sublayers to remove, 0 < x < 1")
	}
	var taskNames []string
	if *taskList != "" {
		var err error
		if taskNames, err = eval.ParseTasks(*taskList); err != nil {
			return fmt.Errorf("--tasks: %w", err)
		}
	}
	l, err := loadModel("prune", *model, *threads, "", stderr)
	if err != nil {
		return err
	}
	m, tok := l.Model, l.Tok
	if weights {
		return runWeightPrune(m, l, *method, *ratio, *scope, *model, *out, *force, *evalPath, *evalTokens, taskNames, *taskItems, stdout, stderr)
	}
	count, err := prune.Count(*ratio, len(m.Layers))
	if err != nil {
		return fmt.Errorf("--ratio: %w", err)
	}
	// Checked before the search, not after the long evaluation before it.
	if L := len(m.Layers); *protect > 0 {
		switch {
		case *method != "finercut" && *method != "oneshot":
			return fmt.Errorf("--protect applies to --method finercut and oneshot, not %s", *method)
		case *protect >= L:
			return fmt.Errorf("--protect %d: want 0 to %d (the model has %d layers)", *protect, L-1, L)
		case 2*(L-*protect) < count:
			return fmt.Errorf("--protect %d leaves %d removable sublayers, fewer than the %d that --ratio %v removes", *protect, 2*(L-*protect), count, *ratio)
		}
	}
	T := *seqLen
	if T == 0 {
		T = min(m.MaxPositions(), 128)
	}
	if T < 2 || T > m.MaxPositions() {
		return fmt.Errorf("--seq-len %d: want 2 to the model's %d positions", T, m.MaxPositions())
	}
	// By default, calibrate on the training split of the embedded corpus
	// and score on its held-out split, as `loom train` splits it.
	corpus := tok.Encode(string(data.TinyShakespeare()))
	nTrain := data.TrainTokens(len(corpus), 0.1)
	ids, calibName := corpus[:nTrain], "tinyshakespeare (embedded), training split (first 90% of tokens)"
	if *calib != "" {
		text, err := os.ReadFile(*calib)
		if err != nil {
			return err
		}
		ids, calibName = tok.Encode(string(text)), *calib
	}
	if len(ids) < T {
		return fmt.Errorf("%s: %d tokens, shorter than one calibration window of %d", calibName, len(ids), T)
	}
	cal := data.EvenWindows(ids, T, *windows)
	heldText, heldName := []byte(tok.Decode(corpus[nTrain:])), "tinyshakespeare (embedded), held-out split (last 10% of tokens)"
	if *evalPath != "" {
		if heldText, err = os.ReadFile(*evalPath); err != nil {
			return err
		}
		heldName = *evalPath
	}
	var tasks []eval.Task
	for _, name := range taskNames {
		task, err := eval.BuildTask(name, heldText, tok, *taskItems, 1)
		if err != nil {
			return fmt.Errorf("%s: %w", heldName, err)
		}
		tasks = append(tasks, task)
	}
	bar := progress.New(stderr, "prune "+*method, count)
	job := &prune.Job{Model: m, Method: *method, Count: count, Calib: cal, Seed: *seed, ModelName: *model, CalibName: calibName,
		FinerCut: finercut.Options{Distance: *distance, Protect: *protect, Progress: func(done, _ int) { bar.Update(done) }},
		Bench: prune.Bench{Tok: tok, Held: tok.Encode(string(heldText)), HeldName: heldName, MaxTokens: *evalTokens, Tasks: tasks,
			DecodeContext: min(m.MaxPositions(), 128)},
		Measured: func(label string, r prune.Measurement) {
			fmt.Fprintf(stderr, "%s: held-out loss %.4f over %d tokens, decode %.1f tokens/s\n", label, r.Loss, r.Tokens, r.DecodeTokS)
		}}
	rep, err := job.Run()
	if err != nil {
		return err
	}
	bar.Done()
	err = fsutil.ReplaceDir(*out, fsutil.Options{Force: *force}, func(tmp string) error {
		if err := saveDerived(m, l, tmp); err != nil {
			return err
		}
		return rep.WriteFiles(tmp)
	})
	if err != nil {
		return outError(err)
	}
	fmt.Fprintf(stdout, "removed %d of %d sublayers (%s) in %.1fs: held-out loss %.4f → %.4f (retention %.3f), decode %.1f → %.1f tokens/s\n",
		count, rep.Total, *method, rep.SearchS, rep.Before.Loss, rep.After.Loss, rep.LossRetention, rep.Before.DecodeTokS, rep.After.DecodeTokS)
	fmt.Fprintf(stdout, "model: %s; report: %s, %s, %s\n", *out, filepath.Join(*out, prune.ReportMarkdown),
		filepath.Join(*out, prune.ReportJSON), filepath.Join(*out, prune.ReportMap))
	return nil
}

// saveDerived writes a model derived from the loaded one (pruned,
// extracted) into out, with the source's tokenizer and generation files (a
// GGUF source's tokenizer as tokenizer.json).
func saveDerived(m *decoder.Model, l *convert.Loaded, out string) error {
	if err := convert.Save(m, out); err != nil {
		return err
	}
	if gguf.IsGGUF(l.Path) {
		// A GGUF model: keep its tokenizer as tokenizer.json.
		if b, ok := l.Tok.(*tokenizer.BPE); ok {
			if err := b.SaveHF(filepath.Join(out, convert.TokenizerFile)); err != nil {
				return err
			}
			m.Config.Loom.Tokenizer = convert.TokenizerFile
			return fsutil.WriteFile(filepath.Join(out, convert.ConfigFile), m.Config.JSON())
		}
		return nil
	}
	for _, f := range []string{convert.TokenizerFile, convert.TokenizerConfigFile, convert.GenerationConfigFile} {
		b, err := os.ReadFile(filepath.Join(l.Path, f))
		if err != nil {
			continue
		}
		if err := fsutil.WriteFile(filepath.Join(out, f), b); err != nil {
			return err
		}
	}
	return nil
}

// refuseOutInModel refuses an --out that is --model, or the model directory
// it names, or lies inside either: writing there would overwrite the source
// and leave its optimizer state and trainer state beside a model they do not
// fit.
func refuseOutInModel(model, out string) error {
	dirs := []string{model}
	if d, _, err := convert.ResolvePath(model); err == nil && d != model {
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		in, err := fsutil.Contains(d, out)
		if err != nil {
			return err
		}
		if in {
			return fmt.Errorf("--out %s is inside --model %s: it would overwrite the source model; give a new directory outside it", out, model)
		}
	}
	return nil
}

// runWeightPrune is `loom prune --method magnitude|2:4`: zero weights of
// the block linears (compress/sparse), measure before and after, and save
// the model with the zeros in its dense weights, so it loads everywhere.
func runWeightPrune(m *decoder.Model, l *convert.Loaded, method string, ratio float64, scope, model, out string, force bool,
	evalPath string, evalTokens int, taskNames []string, taskItems int, stdout, stderr io.Writer) error {
	tok := l.Tok
	corpus := tok.Encode(string(data.TinyShakespeare()))
	nTrain := data.TrainTokens(len(corpus), 0.1)
	heldText, heldName := []byte(tok.Decode(corpus[nTrain:])), "tinyshakespeare (embedded), held-out split (last 10% of tokens)"
	if evalPath != "" {
		var err error
		if heldText, err = os.ReadFile(evalPath); err != nil {
			return err
		}
		heldName = evalPath
	}
	var tasks []eval.Task
	for _, name := range taskNames {
		task, err := eval.BuildTask(name, heldText, tok, taskItems, 1)
		if err != nil {
			return fmt.Errorf("%s: %w", heldName, err)
		}
		tasks = append(tasks, task)
	}
	job := &prune.WeightJob{Model: m, Method: method, Ratio: ratio, Scope: scope, ModelName: model,
		Bench: prune.Bench{Tok: tok, Held: tok.Encode(string(heldText)), HeldName: heldName, MaxTokens: evalTokens, Tasks: tasks,
			DecodeContext: min(m.MaxPositions(), 128)},
		Measured: func(label string, r prune.Measurement) {
			fmt.Fprintf(stderr, "%s: held-out loss %.4f over %d tokens, decode %.1f tokens/s\n", label, r.Loss, r.Tokens, r.DecodeTokS)
		}}
	rep, err := job.Run()
	if err != nil {
		return err
	}
	err = fsutil.ReplaceDir(out, fsutil.Options{Force: force}, func(tmp string) error {
		if err := saveDerived(m, l, tmp); err != nil {
			return err
		}
		return rep.WriteFiles(tmp)
	})
	if err != nil {
		return outError(err)
	}
	s := rep.Stats
	fmt.Fprintf(stdout, "zeroed %d of %d block weights (%s, sparsity %.3f) in %.2fs: held-out loss %.4f → %.4f (retention %.3f)\n",
		s.Zeros, s.Weights, method, s.Sparsity, rep.PruneS, rep.Before.Loss, rep.After.Loss, rep.LossRetention)
	if method == prune.Method24 {
		fmt.Fprintf(stdout, "2:4 packed size of those weights: %.2f MB of %.2f MB dense (the saved model keeps dense weights with zeros)\n",
			float64(s.SparseBytes)/1e6, float64(s.DenseBytes)/1e6)
		if k := rep.Kernel24; k != nil {
			fmt.Fprintf(stdout, "with the 2:4 kernel: held-out loss %.4f, decode %.1f tokens/s (dense kernels: %.1f)\n", k.Loss, k.DecodeTokS, rep.After.DecodeTokS)
		}
	} else {
		fmt.Fprintln(stdout, "unstructured sparsity: no sparse kernel, so no speed-up; the saved model is as large (size gain only under a sparse or compressed encoding)")
	}
	fmt.Fprintf(stdout, "model: %s; report: %s, %s\n", out, filepath.Join(out, prune.ReportMarkdown), filepath.Join(out, prune.ReportJSON))
	return nil
}
