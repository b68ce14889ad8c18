package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/loomml/loom/data"
	"github.com/loomml/loom/dtype"
	"github.com/loomml/loom/eval"
	"github.com/loomml/loom/internal/progress"
)

func init() {
	register("eval", "Measure a language model's held-out loss, perplexity and bits per byte, and zero-shot task accuracy;\n"+
		"or an encoder classifier's accuracy, cross-entropy and per-class recall on a labelled --data set.\n\n"+
		"Weights holding a NaN or an infinity are refused at load, naming the file, tensor and element. A loss that is\n"+
		"NaN or infinite (the model's activations overflow on the data) is printed as such, then eval\n"+
		"exits with status 1 naming the cause. With --json, a non-finite loss, perplexity or bits_per_byte is null,\n"+
		"and non_finite maps each such field to \"NaN\", \"+Inf\" or \"-Inf\" (a perplexity beyond float64 from a finite\n"+
		"loss is null there too, without failing).", runEval)
}

func runEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval", "--model DIR [--data FILE | --shard FILE] [--seq-len N] [--stride N] [--tasks continuation,lastword [--task-items N]] [--json]", stderr)
	model := fs.String("model", "", "a training run's directory, a model directory or a .gguf file; or an encoder classifier's directory (required)")
	dtype := choice(fs, "dtype", "f32", "in-memory precision of the weights: f32, bf16, f16 or q8_0 (a GGUF file's q8_0/q4_K/q5_K/q6_K matrices stay in their blocks)", "f32", "bf16", "f16", "q8_0")
	dataPath := fs.String("data", "", "a text file to score (default: the held-out 10% of the embedded corpus); for an encoder classifier, its labelled set: a CSV of text,label (BERT) or class folders of WAVs (AST), required")
	shardPath := fs.String("shard", "", "a token shard to score instead (e.g. runs/x/data/val.bin)")
	seqLen := intFlag(fs, "seq-len", 0, "window length, at most the model's context", atLeast(2), sp{0, "the model's context"})
	stride := intFlag(fs, "stride", 0, "distance between windows, at most the window", atLeast(1), sp{0, "half the window"})
	maxTokens := intFlag(fs, "max-tokens", 0, "score only about this many tokens", atLeast(1), sp{0, "all"})
	threads := intFlag(fs, "threads", 0, "threads", atLeast(1), sp{0, "all cores"})
	ffnWidths := fs.String("ffn-widths", "", "MatFormer Mix'n'Match: FFN width per layer, comma-separated, or one for all (default: full widths)")
	adapter := adapterFlag(fs)
	tasks := fs.String("tasks", "", "zero-shot multiple-choice tasks built from the scored text, comma-separated: "+strings.Join(eval.TaskNames(), ", ")+"; accuracy picks the choice of highest total log-probability (default none)")
	taskItems := intFlag(fs, "task-items", 200, "items per zero-shot task", atLeast(1))
	taskSeed := fs.Uint64("task-seed", 1, "seed that picks the zero-shot items")
	asJSON := fs.Bool("json", false, "print JSON (a non-finite number is null, named in non_finite)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if kind, _ := modelKind(*model); kind == kindEncoder {
		return runEvalEncoder(fs, *model, *dataPath, *threads, *asJSON, stdout)
	}
	taskNames, err := eval.ParseTasks(*tasks)
	if err != nil {
		return fmt.Errorf("--tasks: %w", err)
	}
	if len(taskNames) > 0 && *taskItems < 1 {
		return fmt.Errorf("--task-items %d: want at least 1", *taskItems)
	}
	l, err := loadModel("eval", *model, *threads, *dtype, stderr)
	if err != nil {
		return err
	}
	if err := applyAdapter(l.Model, *adapter, stderr); err != nil {
		return err
	}
	if err := setWidths(l.Model, *ffnWidths); err != nil {
		return err
	}
	m, tok := l.Model, l.Tok
	if *seqLen > m.MaxPositions() {
		return fmt.Errorf("--seq-len %d: want 2 to the model's %d positions (0: all of them)", *seqLen, m.MaxPositions())
	}
	if window := cmp.Or(*seqLen, m.MaxPositions()); *stride > window {
		return fmt.Errorf("--stride %d: want 1 to the window length %d (0: half the window)", *stride, window)
	}
	var ids []int
	name := *shardPath
	if name != "" {
		s, err := data.OpenShard(name)
		if err != nil {
			return err
		}
		ids = s.Slice(0, s.Len())
		s.Close()
	} else {
		text, n, err := readCorpus(*dataPath)
		if err != nil {
			return err
		}
		ids, name = tok.Encode(string(text)), n
		if *dataPath == "" { // the held-out tail, as training splits it
			ids = ids[data.TrainTokens(len(ids), 0.1):]
			name += ", held-out 10%"
		}
	}
	// Zero-shot tasks come from the text scored: the held-out tail, the
	// --data file or the --shard's text (built first: a text too short
	// for them fails before any scoring).
	var taskSet []eval.Task
	if len(taskNames) > 0 {
		text := []byte(tok.Decode(ids))
		for _, name := range taskNames {
			task, err := eval.BuildTask(name, text, tok, *taskItems, *taskSeed)
			if err != nil {
				return err
			}
			taskSet = append(taskSet, task)
		}
	}
	bar := progress.New(stderr, "eval", len(ids)-1)
	res, err := eval.Tokens(m, ids, tok, eval.Options{SeqLen: *seqLen, Stride: *stride, MaxTokens: *maxTokens, Progress: bar})
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	bar.Done()
	var taskRes []eval.TaskResult
	for _, task := range taskSet {
		seqs := 0
		for _, it := range task.Items {
			seqs += len(it.Choices)
		}
		tbar := progress.New(stderr, task.Name, seqs)
		r, err := task.Evaluate(m, eval.TaskOptions{Progress: tbar})
		if err != nil {
			return err
		}
		tbar.Done()
		taskRes = append(taskRes, r)
	}
	if err := writeEvalReport(stdout, res, taskRes, *asJSON); err != nil {
		return err
	}
	return evalLossErr(name, res)
}

// evalLossErr is the error of an evaluation whose loss is not finite (nil
// if it is): the report is printed, and eval exits with status 1.
func evalLossErr(name string, res eval.Result) error {
	if !isNonFinite(res.Loss) {
		return nil
	}
	return fmt.Errorf("%s: the loss is %s over %d tokens: the model produces NaN or infinite values on this data (its weights are finite, so its activations overflow)",
		name, dtype.Describe(res.Loss), res.Tokens)
}

func isNonFinite(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }

// writeEvalReport prints res and the task results as text or JSON. A
// non-finite loss is printed as such ("loss NaN (non-finite: ...)"); in
// JSON, non-finite numbers are null and non_finite names them.
func writeEvalReport(w io.Writer, res eval.Result, taskRes []eval.TaskResult, asJSON bool) error {
	if asJSON {
		out := struct {
			eval.Result
			// These shadow Result's, so that a non-finite one is null.
			Loss        *float64          `json:"loss"`
			Perplexity  *float64          `json:"perplexity"`
			BitsPerByte *float64          `json:"bits_per_byte"`
			NonFinite   map[string]string `json:"non_finite,omitempty"`
			Tasks       []eval.TaskResult `json:"tasks,omitempty"`
		}{Result: res, Tasks: taskRes}
		for _, f := range []struct {
			name string
			v    float64
			dst  **float64
		}{{"loss", res.Loss, &out.Loss}, {"perplexity", res.Perplexity, &out.Perplexity}, {"bits_per_byte", res.BitsPerByte, &out.BitsPerByte}} {
			if isNonFinite(f.v) {
				if out.NonFinite == nil {
					out.NonFinite = map[string]string{}
				}
				out.NonFinite[f.name] = dtype.Describe(f.v)
				continue
			}
			v := f.v
			*f.dst = &v
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	loss := fmt.Sprintf("%.4f nats/token", res.Loss)
	if isNonFinite(res.Loss) {
		loss = dtype.Describe(res.Loss) + " (non-finite: the model produces NaN or infinite values on this data)"
	}
	fmt.Fprintf(w, "loss %s, perplexity %.3f, %.4f bits/byte over %d tokens (window %d, stride %d)\n",
		loss, res.Perplexity, res.BitsPerByte, res.Tokens, res.SeqLen, res.Stride)
	for _, r := range taskRes {
		fmt.Fprintf(w, "%-12s accuracy %.3f ± %.3f (per-byte normalised %.3f), chance %.3f, %d items\n",
			r.Task, r.Accuracy, r.StdErr, r.AccuracyNorm, r.Chance, r.Items)
	}
	return nil
}
