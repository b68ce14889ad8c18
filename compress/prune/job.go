package prune

import (
	"cmp"
	"fmt"
	"math"
	"time"

	"github.com/loomml/loom/compress/finercut"
	"github.com/loomml/loom/eval"
	"github.com/loomml/loom/generate"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/tokenizer"
)

// Bench is what a pruned model is measured on, before and after: the loss
// on held-out tokens, zero-shot tasks, the parameter count and optionally
// the decoding speed.
type Bench struct {
	Tok      tokenizer.Tokenizer
	Held     []int  // held-out token ids
	HeldName string // for errors
	// MaxTokens, when positive, scores only about this many held-out
	// tokens.
	MaxTokens int
	Tasks     []eval.Task
	// DecodeContext, when positive, times greedy decoding with the cache
	// at that context (generate.Time, 32 tokens or half the context).
	DecodeContext int
}

// Measurement is a model's scores on a Bench.
type Measurement struct {
	Loss        float64           `json:"heldout_loss"`
	Tokens      int               `json:"heldout_tokens"`
	DecodeTokS  float64           `json:"decode_tokens_per_s,omitempty"`
	DecodeCtx   int               `json:"decode_context,omitempty"`
	ParamsCount int               `json:"params"`
	Tasks       []eval.TaskResult `json:"tasks,omitempty"`
}

// Measure scores m on the bench.
func (b *Bench) Measure(m *decoder.Model) (Measurement, error) {
	r, err := eval.Tokens(m, b.Held, b.Tok, eval.Options{MaxTokens: b.MaxTokens})
	if err != nil {
		return Measurement{}, fmt.Errorf("%s: %w", cmp.Or(b.HeldName, "held-out text"), err)
	}
	out := Measurement{Loss: r.Loss, Tokens: r.Tokens, ParamsCount: m.NumParams()}
	if ctx := b.DecodeContext; ctx > 0 {
		t, err := generate.Time(m, ctx, min(32, ctx/2))
		if err != nil {
			return Measurement{}, err
		}
		out.DecodeTokS, out.DecodeCtx = t.TokensPerS, ctx
	}
	for _, task := range b.Tasks {
		tr, err := task.Evaluate(m, eval.TaskOptions{})
		if err != nil {
			return Measurement{}, err
		}
		out.Tasks = append(out.Tasks, tr)
	}
	return out, nil
}

// TaskMargin is how far above chance the unpruned model must score on a
// task for the task's retention to count.
const TaskMargin = 0.10

// Counted returns the tasks of ts whose unpruned result (in before) beats
// chance by at least TaskMargin.
func Counted(ts []eval.Task, before Measurement) []eval.Task {
	var out []eval.Task
	for _, t := range ts {
		for _, r := range before.Tasks {
			if r.Task == t.Name && r.Accuracy-r.Chance >= TaskMargin {
				out = append(out, t)
			}
		}
	}
	return out
}

// Retention compares the pruned model's scores with the unpruned one's:
// the loss retention (unpruned loss / pruned loss: 1 is no change) and, for
// each task the unpruned model beats chance on by TaskMargin, (pruned −
// chance) / (unpruned − chance).
func Retention(before, after Measurement) (loss float64, tasks map[string]float64) {
	loss = before.Loss / after.Loss
	for _, b := range before.Tasks {
		if b.Accuracy-b.Chance < TaskMargin {
			continue
		}
		for _, a := range after.Tasks {
			if a.Task == b.Task {
				if tasks == nil {
					tasks = map[string]float64{}
				}
				tasks[b.Task] = (a.Accuracy - b.Chance) / (b.Accuracy - b.Chance)
			}
		}
	}
	return loss, tasks
}

// Job prunes a model by one method and measures it before and after.
type Job struct {
	Model  *decoder.Model
	Method string
	// Count sublayers are removed; when 0, Ratio of all of them (rounded).
	Count int
	Ratio float64
	Calib [][]int // calibration windows of equal length
	Seed  uint64  // of the random baseline
	// FinerCut's options (Distance, Protect, Progress).
	FinerCut finercut.Options
	Bench    Bench
	// ModelName and CalibName describe the inputs in the report.
	ModelName, CalibName string
	// Measured, when set, is called with "unpruned" or "pruned" and each
	// measurement as it is made (for progress messages).
	Measured func(label string, m Measurement)
}

// Report is what a Job found; it is prune-report.json.
type Report struct {
	Method       string          `json:"method"`
	Model        string          `json:"model"`
	Removed      int             `json:"removed_sublayers"`
	Total        int             `json:"total_sublayers"`
	Layers       int             `json:"layers"`
	Order        []finercut.Step `json:"order"`
	Calib        string          `json:"calibration"`
	CalibWindows int             `json:"calibration_windows"`
	CalibLen     int             `json:"calibration_window_tokens"`
	Distance     string          `json:"distance,omitempty"`
	SearchS      float64         `json:"search_s"`
	Before       Measurement     `json:"before"`
	After        Measurement     `json:"after"`
	// LossRetention is the unpruned held-out loss over the pruned one.
	LossRetention float64 `json:"loss_retention"`
	// TaskRetention is (pruned − chance) / (unpruned − chance) per zero-shot
	// task, for tasks where the unpruned model beats chance by ≥ 10 points.
	TaskRetention map[string]float64 `json:"task_retention,omitempty"`
}

// Count returns the number of sublayers a ratio removes from a model of
// layers blocks (2·layers sublayers), or an error when that is not 1 to
// 2·layers−1.
func Count(ratio float64, layers int) (int, error) {
	total := 2 * layers
	if !(ratio > 0 && ratio < 1) {
		return 0, fmt.Errorf("ratio %v: want a fraction strictly between 0 and 1", ratio)
	}
	n := int(math.Round(ratio * float64(total)))
	if n < 1 || n >= total {
		return 0, fmt.Errorf("ratio %v of %d sublayers removes %d: want 1 to %d", ratio, total, n, total-1)
	}
	return n, nil
}

// Run measures the model, prunes it in place and measures it again.
func (j *Job) Run() (*Report, error) {
	m := j.Model
	count := j.Count
	if count == 0 {
		var err error
		if count, err = Count(j.Ratio, len(m.Layers)); err != nil {
			return nil, err
		}
	}
	rep := &Report{Method: j.Method, Model: j.ModelName, Removed: count, Total: 2 * len(m.Layers), Layers: len(m.Layers),
		Calib: j.CalibName, CalibWindows: len(j.Calib)}
	if len(j.Calib) > 0 {
		rep.CalibLen = len(j.Calib[0])
	}
	if j.Method == "finercut" || j.Method == "oneshot" {
		rep.Distance = cmp.Or(j.FinerCut.Distance, "js")
	}
	var err error
	measure := func(label string) (Measurement, error) {
		r, err := j.Bench.Measure(m)
		if err == nil && j.Measured != nil {
			j.Measured(label, r)
		}
		return r, err
	}
	if rep.Before, err = measure("unpruned"); err != nil {
		return nil, err
	}
	t0 := time.Now()
	if rep.Order, err = Run(j.Method, Request{Model: m, Calib: j.Calib, Count: count, Seed: j.Seed, FinerCut: j.FinerCut}); err != nil {
		return nil, err
	}
	rep.SearchS = time.Since(t0).Seconds()
	if rep.After, err = measure("pruned"); err != nil {
		return nil, err
	}
	rep.LossRetention, rep.TaskRetention = Retention(rep.Before, rep.After)
	return rep, nil
}
