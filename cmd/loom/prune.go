package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/loomml/loom/chart"
	"github.com/loomml/loom/compress/finercut"
	"github.com/loomml/loom/compress/prune"
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
	register("prune", "Remove attention/FFN sublayers (FinerCut and baselines); write the pruned model and a report.", runPrune)
}

// pruneReport is prune-report.json.
type pruneReport struct {
	Method       string          `json:"method"`
	Model        string          `json:"model"`
	Removed      int             `json:"removed_sublayers"`
	Total        int             `json:"total_sublayers"`
	Order        []prune.Removal `json:"order"`
	Calib        string          `json:"calibration"`
	CalibWindows int             `json:"calibration_windows"`
	CalibLen     int             `json:"calibration_window_tokens"`
	Distance     string          `json:"distance,omitempty"`
	SearchS      float64         `json:"search_s"`
	Before       pruneEval       `json:"before"`
	After        pruneEval       `json:"after"`
	// LossRetention is the unpruned held-out loss over the pruned one.
	LossRetention float64 `json:"loss_retention"`
	// TaskRetention is (pruned − chance) / (unpruned − chance) per zero-shot
	// task, for tasks where the unpruned model beats chance by ≥ 10 points.
	TaskRetention map[string]float64 `json:"task_retention,omitempty"`
}

type pruneEval struct {
	Loss        float64           `json:"heldout_loss"`
	Tokens      int               `json:"heldout_tokens"`
	DecodeTokS  float64           `json:"decode_tokens_per_s"`
	DecodeCtx   int               `json:"decode_context"`
	ParamsCount int               `json:"params"`
	Tasks       []eval.TaskResult `json:"tasks,omitempty"`
}

func runPrune(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("prune", "--method M --ratio R --model DIR --out DIR [--calib FILE] [flags]", stderr)
	method := fs.String("method", "finercut", "finercut, oneshot, shortgpt, lastn or random")
	ratio := fs.Float64("ratio", 0, "fraction of all attention and FFN sublayers to remove, in (0, 1) (required)")
	model := fs.String("model", "", "model directory or .gguf file (required)")
	out := fs.String("out", "", "directory for the pruned model and its report (required)")
	calib := fs.String("calib", "", "calibration text (default: the first 90% of the embedded corpus)")
	evalPath := fs.String("eval", "", "held-out text for the before/after loss (default: the embedded corpus's last 10%)")
	windows := fs.Int("windows", 32, "calibration windows")
	seqLen := fs.Int("seq-len", 0, "calibration window length in tokens (0: the model's context, at most 128)")
	distance := fs.String("distance", "js", "FinerCut's distance: js, kl, angular or dissect (the paper code's logit-difference norm)")
	protect := fs.Int("protect", 0, "FinerCut: never remove sublayers of the first N layers")
	seed := fs.Uint64("seed", 0, "seed of the random baseline")
	threads := fs.Int("threads", 0, "threads (0: all cores)")
	evalTokens := fs.Int("eval-tokens", 0, "score at most about this many held-out tokens (0: all)")
	taskList := fs.String("tasks", "continuation,lastword", "zero-shot tasks built from the held-out text, scored before and after (\"\": none)")
	taskItems := fs.Int("task-items", 200, "items per zero-shot task")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *model == "" || *out == "" {
		fmt.Fprintln(stderr, "loom prune: --model and --out are required")
		fs.Usage()
		return errUsage
	}
	if !(*ratio > 0 && *ratio < 1) {
		return fmt.Errorf("--ratio %v: want a fraction strictly between 0 and 1", *ratio)
	}
	if !slices.Contains(prune.Names(), *method) {
		return fmt.Errorf("--method %q: want one of %s", *method, strings.Join(prune.Names(), ", "))
	}
	var taskNames []string
	if *taskList != "" {
		var err error
		if taskNames, err = eval.ParseTasks(*taskList); err != nil {
			return fmt.Errorf("--tasks: %w", err)
		}
	}
	if *windows < 1 {
		return fmt.Errorf("--windows %d: want at least 1", *windows)
	}
	l, err := loadModel("prune", *model, *threads, "", stderr)
	if err != nil {
		return err
	}
	m, tok := l.Model, l.Tok
	total := 2 * len(m.Layers)
	count := int(math.Round(*ratio * float64(total)))
	if count < 1 || count >= total {
		return fmt.Errorf("--ratio %v of %d sublayers removes %d: want 1 to %d", *ratio, total, count, total-1)
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
	tmp, err := os.MkdirTemp("", "loom-prune-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	shardPath := filepath.Join(tmp, "heldout.bin")
	if err := data.WriteShard(shardPath, tok.Encode(string(heldText)), tok.VocabSize(), tok.Name()); err != nil {
		return fmt.Errorf("%s: %w", heldName, err)
	}
	measure := func(label string) (pruneEval, error) {
		s, err := data.OpenShard(shardPath)
		if err != nil {
			return pruneEval{}, err
		}
		defer s.Close()
		r, err := eval.Shard(m, s, tok, eval.Options{MaxTokens: *evalTokens})
		if err != nil {
			return pruneEval{}, fmt.Errorf("%s: %w", heldName, err)
		}
		ctx := min(m.MaxPositions(), 128)
		d := runDecode(m, ctx, min(32, ctx/2))
		pe := pruneEval{Loss: r.Loss, Tokens: r.Tokens, DecodeTokS: d.TokensPerS, DecodeCtx: ctx, ParamsCount: m.NumParams()}
		for _, task := range tasks {
			tr, err := task.Evaluate(m, eval.TaskOptions{})
			if err != nil {
				return pruneEval{}, err
			}
			pe.Tasks = append(pe.Tasks, tr)
		}
		fmt.Fprintf(stderr, "%s: held-out loss %.4f over %d tokens, decode %.1f tokens/s\n", label, r.Loss, r.Tokens, d.TokensPerS)
		return pe, nil
	}
	rep := pruneReport{Method: *method, Model: *model, Removed: count, Total: total, Calib: calibName,
		CalibWindows: len(cal), CalibLen: T}
	if rep.Before, err = measure("unpruned"); err != nil {
		return err
	}
	if *method == "finercut" || *method == "oneshot" {
		rep.Distance = *distance
	}
	bar := progress.New(stderr, "prune "+*method, count)
	t0 := time.Now()
	rep.Order, err = prune.Run(*method, prune.Request{Model: m, Calib: cal, Count: count, Seed: *seed,
		FinerCut: finercut.Options{Distance: *distance, Protect: *protect, Progress: func(done, _ int) { bar.Update(done) }}})
	if err != nil {
		return err
	}
	bar.Done()
	rep.SearchS = time.Since(t0).Seconds()
	if rep.After, err = measure("pruned"); err != nil {
		return err
	}
	rep.LossRetention = rep.Before.Loss / rep.After.Loss
	for i, b := range rep.Before.Tasks {
		if b.Accuracy-b.Chance >= 0.10 {
			if rep.TaskRetention == nil {
				rep.TaskRetention = map[string]float64{}
			}
			rep.TaskRetention[b.Task] = (rep.After.Tasks[i].Accuracy - b.Chance) / (b.Accuracy - b.Chance)
		}
	}
	if err := saveDerived(m, l, *out); err != nil {
		return err
	}
	if err := writePruneReport(*out, &rep, len(m.Layers)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "removed %d of %d sublayers (%s) in %.1fs: held-out loss %.4f → %.4f (retention %.3f), decode %.1f → %.1f tokens/s\n",
		count, total, *method, rep.SearchS, rep.Before.Loss, rep.After.Loss, rep.LossRetention, rep.Before.DecodeTokS, rep.After.DecodeTokS)
	fmt.Fprintf(stdout, "model: %s; report: %s, %s, %s\n", *out, filepath.Join(*out, "prune-report.md"),
		filepath.Join(*out, "prune-report.json"), filepath.Join(*out, "prune-map.png"))
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

func writePruneReport(dir string, r *pruneReport, layers int) error {
	b, _ := json.MarshalIndent(r, "", "  ")
	if err := fsutil.WriteFile(filepath.Join(dir, "prune-report.json"), append(b, '\n')); err != nil {
		return err
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "# Pruning report: %s\n\n", r.Method)
	fmt.Fprintf(&sb, "Model %s: removed %d of %d sublayers. Calibration: %s, %d windows of %d tokens.\n\n", r.Model, r.Removed, r.Total, r.Calib, r.CalibWindows, r.CalibLen)
	fmt.Fprintf(&sb, "| | unpruned | pruned |\n| --- | --- | --- |\n")
	fmt.Fprintf(&sb, "| held-out loss (nats/token) | %.4f | %.4f |\n", r.Before.Loss, r.After.Loss)
	fmt.Fprintf(&sb, "| decode tokens/s (context %d) | %.1f | %.1f |\n", r.Before.DecodeCtx, r.Before.DecodeTokS, r.After.DecodeTokS)
	fmt.Fprintf(&sb, "| parameters | %d | %d |\n", r.Before.ParamsCount, r.After.ParamsCount)
	for i, b := range r.Before.Tasks {
		a := r.After.Tasks[i]
		ret := "n/a (unpruned < chance + 10 points)"
		if v, ok := r.TaskRetention[b.Task]; ok {
			ret = fmt.Sprintf("%.3f", v)
		}
		fmt.Fprintf(&sb, "| zero-shot %s (chance %.2f, %d items) | %.3f | %.3f (retention %s) |\n", b.Task, b.Chance, b.Items, b.Accuracy, a.Accuracy, ret)
	}
	fmt.Fprintf(&sb, "\nLoss retention (unpruned / pruned loss): %.3f. Task retention: (pruned − chance) / (unpruned − chance). Search took %.1f s.\n\n", r.LossRetention, r.SearchS)
	fmt.Fprintf(&sb, "| step | layer | sublayer | score |\n| --- | --- | --- | --- |\n")
	for i, x := range r.Order {
		fmt.Fprintf(&sb, "| %d | %d | %s | %.5g |\n", i+1, x.Layer, x.Kind, x.Score)
	}
	sb.WriteString("\n![map](prune-map.png)\n")
	if err := fsutil.WriteFile(filepath.Join(dir, "prune-report.md"), []byte(sb.String())); err != nil {
		return err
	}
	g := &chart.Grid{Title: fmt.Sprintf("%s: %d of %d sublayers removed", r.Method, r.Removed, r.Total),
		ColLabels: []string{"attention", "FFN"}, Note: "numbers: removal order"}
	cells := make([][]string, layers)
	filled := make([][]bool, layers)
	for l := range layers {
		g.RowLabels = append(g.RowLabels, fmt.Sprintf("layer %d", l))
		cells[l] = make([]string, 2)
		filled[l] = make([]bool, 2)
	}
	for i, x := range r.Order {
		c := 0
		if x.Kind == decoder.SublayerFFN {
			c = 1
		}
		cells[x.Layer][c] = fmt.Sprint(i + 1)
		filled[x.Layer][c] = true
	}
	g.Cells, g.Filled = cells, filled
	return g.WritePNG(filepath.Join(dir, "prune-map.png"))
}
