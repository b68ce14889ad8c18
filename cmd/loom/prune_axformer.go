package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/compress/axformer"
	"github.com/loomml/loom/compress/prune"
	"github.com/loomml/loom/convert"
	"github.com/loomml/loom/eval"
	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/models/encoder"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/train"
)

// runPruneAxFormer is `loom prune --method axformer`: AxFormer's greedy
// search (compress/axformer, arXiv 2010.03688) on the --data split, the
// --eval split scored only after every choice, and the pruned model saved
// (an encoder's checkpoint records its removed sublayers and top-k
// attention; a decoder's its removed sublayers).
func runPruneAxFormer(o *pruneOpts, stdout, stderr io.Writer) error {
	if o.data == "" || o.eval == "" {
		return fmt.Errorf("--method axformer needs --data (the validation split that chooses the removals) and --eval (the test split, scored after the choices)")
	}
	if same, err := sameFile(o.data, o.eval); err != nil {
		return err
	} else if same {
		return fmt.Errorf("--data %s and --eval %s are the same file: AxFormer chooses on --data, so the test split (--eval) must be another", o.data, o.eval)
	}
	if o.task == prune.TaskLM {
		return runAxFormerLM(o, stdout, stderr)
	}
	return runAxFormerClassify(o, stdout, stderr)
}

// sameFile reports whether a and b name the same file.
func sameFile(a, b string) (bool, error) {
	sa, err := os.Stat(a)
	if err != nil {
		return false, fmt.Errorf("--data: %w", err)
	}
	sb, err := os.Stat(b)
	if err != nil {
		return false, fmt.Errorf("--eval: %w", err)
	}
	return os.SameFile(sa, sb), nil
}

func runAxFormerClassify(o *pruneOpts, stdout, stderr io.Writer) error {
	if err := setThreads(o.threads); err != nil {
		return err
	}
	c, err := classifierConfig(o.model, "--method axformer --task classify")
	if err != nil {
		return err
	}
	classes := c.Labels()
	in, err := newClassInput("--model", o.model, c, 0)
	if err != nil {
		return err
	}
	val, err := in.read("--data", o.data, classes)
	if err != nil {
		return err
	}
	test, err := in.read("--eval", o.eval, classes)
	if err != nil {
		return err
	}
	nVal, nTest := val.Len(), test.Len()
	if nVal == 0 || nTest == 0 {
		return fmt.Errorf("--data has %d and --eval %d examples; AxFormer needs both", nVal, nTest)
	}
	m, err := encoder.Load(o.model)
	if err != nil {
		return fmt.Errorf("--model: %w", err)
	}
	if o.saveType, err = pruneSaveType(o.model); err != nil {
		return err
	}
	tg, err := axformer.NewEncoder(m)
	if err != nil {
		return err
	}
	cm := encClassifierCLI{m}
	job := &prune.AxJob{Target: tg, Task: prune.TaskClassify, Model: o.model,
		ValName:  fmt.Sprintf("%s (%d examples)", o.data, nVal),
		TestName: fmt.Sprintf("%s (%d examples)", o.eval, nTest),
		Val:      func() (float64, error) { return train.Accuracy[encoder.Batch](cm, val, 64), nil },
		Test:     func() (float64, error) { return train.Accuracy[encoder.Batch](cm, test, 64), nil },
		Params:   func() int { return autograd.NumParams(m.Params()) },
		Options:  axformer.Options{Tolerance: o.tolerance, Ks: o.ks, Progress: axProgress(stderr, 100)}}
	rep, err := job.Run()
	if err != nil {
		return err
	}
	rounded, err := roundAx(rep, job, m.Params(), o.saveType)
	if err != nil {
		return err
	}
	rep.FileBytes[0] = weightBytes(o.model)
	err = fsutil.ReplaceDir(o.out, fsutil.Options{Force: o.force}, func(tmp string) error {
		if err := encoder.SaveAs(m, tmp, o.saveType); err != nil {
			return err
		}
		if err := copyFiles(o.model, tmp, tokenizerFiles); err != nil {
			return err
		}
		rep.FileBytes[1] = weightBytes(tmp)
		if err := rep.WriteFiles(tmp); err != nil {
			return err
		}
		return noteSavedType(tmp, o.saveType, rounded)
	})
	if err != nil {
		return outError(err)
	}
	printAxReport(stdout, rep, o.out, 100, "%", o.saveType)
	return nil
}

func runAxFormerLM(o *pruneOpts, stdout, stderr io.Writer) error {
	l, err := loadModel("prune", o.model, o.threads, "", stderr)
	if err != nil {
		return err
	}
	if o.saveType, err = pruneSaveType(o.model); err != nil {
		return err
	}
	m, tok := l.Model, l.Tok
	read := func(flag, path string) ([]int, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", flag, err)
		}
		return tok.Encode(string(b)), nil
	}
	valIDs, err := read("--data", o.data)
	if err != nil {
		return err
	}
	testIDs, err := read("--eval", o.eval)
	if err != nil {
		return err
	}
	score := func(flag string, ids []int) axformer.Score {
		return func() (float64, error) {
			r, err := eval.Tokens(m, ids, tok, eval.Options{MaxTokens: o.evalTokens})
			if err != nil {
				return 0, fmt.Errorf("%s: %w", flag, err)
			}
			return -r.Loss, nil
		}
	}
	orig := prune.Snapshot(m)
	tg, err := axformer.NewDecoder(m)
	if err != nil {
		return fmt.Errorf("--method axformer --task lm: %w", err)
	}
	job := &prune.AxJob{Target: tg, Task: prune.TaskLM, Model: o.model,
		ValName: fmt.Sprintf("%s (%d tokens)", o.data, len(valIDs)), TestName: fmt.Sprintf("%s (%d tokens)", o.eval, len(testIDs)),
		Val: score("--data", valIDs), Test: score("--eval", testIDs), Params: m.NumParams,
		Options: axformer.Options{Tolerance: o.tolerance, Progress: axProgress(stderr, -1)}}
	rep, err := job.Run()
	if err != nil {
		return err
	}
	if err := prune.CommitDecoder(m, orig); err != nil {
		return err
	}
	rounded, err := roundAx(rep, job, m.Params(), o.saveType)
	if err != nil {
		return err
	}
	rep.FileBytes[0] = weightBytes(l.Path)
	err = fsutil.ReplaceDir(o.out, fsutil.Options{Force: o.force}, func(tmp string) error {
		if err := saveDerivedAs(m, l, tmp, o.saveType); err != nil {
			return err
		}
		rep.FileBytes[1] = weightBytes(tmp)
		if err := rep.WriteFiles(tmp); err != nil {
			return err
		}
		return noteSavedType(tmp, o.saveType, rounded)
	})
	if err != nil {
		return outError(err)
	}
	printAxReport(stdout, rep, o.out, 1, "nats", o.saveType)
	return nil
}

// axProgress prints each removal or top-k the search keeps (scale turns
// the score into the printed metric: 100 for accuracy %, −1 for loss).
func axProgress(stderr io.Writer, scale float64) func(axformer.Step) {
	return func(s axformer.Step) {
		switch {
		case s.Stage == "base":
			fmt.Fprintf(stderr, "axformer: unpruned validation %.4g\n", scale*s.Score)
		case s.Accepted && s.Stage == "top-k":
			fmt.Fprintf(stderr, "axformer: top-%d attention in layer %d kept: validation %.4g\n", s.K, s.Unit.Layer, scale*s.Score)
		case s.Accepted:
			fmt.Fprintf(stderr, "axformer: removed %s: validation %.4g\n", s.Unit, scale*s.Score)
		}
	}
}

// roundAx rounds the pruned model's params to dt, as the saved file will
// hold them, and when that changed a value scores the validation and
// test splits again (the report's final scores are the saved model's).
func roundAx(rep *prune.AxReport, job *prune.AxJob, params []*autograd.Var, dt tensor.DType) (bool, error) {
	changed, err := convert.RoundTo(params, dt)
	if err != nil || !changed {
		return false, err
	}
	sign := 1.0 // the report's scores: accuracy, or loss = −score
	if job.Task == prune.TaskLM {
		sign = -1
	}
	val, err := job.Val()
	if err != nil {
		return false, err
	}
	test, err := job.Test()
	if err != nil {
		return false, err
	}
	rep.FinalVal, rep.FinalTest = sign*val, sign*test
	return true, nil
}

func printAxReport(stdout io.Writer, r *prune.AxReport, out string, scale float64, unit string, saved tensor.DType) {
	fmt.Fprintf(stdout, "axformer (--task %s) removed %d of %d sublayers in %.1fs (%d validation evaluations): validation %s %.4g → %.4g %s, test %s %.4g → %.4g %s\n",
		r.Task, r.Sublayers[0]-r.Sublayers[1], r.Sublayers[0], r.SearchS, r.Evals, r.Metric, scale*r.BaseVal, scale*r.FinalVal, unit,
		r.Metric, scale*r.BaseTest, scale*r.FinalTest, unit)
	topk := ""
	if len(r.Ks) > 0 {
		topk = fmt.Sprintf("; top-k per layer (0: dense): %v", r.TopK)
	}
	removed := "nothing"
	if len(r.Removed) > 0 {
		removed = strings.Join(r.Removed, ", ")
	}
	fmt.Fprintf(stdout, "removed: %s%s; parameters %d → %d; weights %.2f → %.2f MB (saved as %s, the source's type)\n", removed, topk,
		r.Params[0], r.Params[1], float64(r.FileBytes[0])/1e6, float64(r.FileBytes[1])/1e6, saved)
	fmt.Fprintf(stdout, "model: %s; report: %s, %s\n", out, filepath.Join(out, prune.ReportMarkdown), filepath.Join(out, prune.ReportJSON))
}
