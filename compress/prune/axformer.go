package prune

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/loomml/loom/compress/axformer"
	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/nn"
)

// MethodAxFormer is AxFormer (arXiv 2010.03688, compress/axformer):
// greedy accuracy-driven removal of layers, attention and FFN blocks on a
// validation split, then top-k hard attention per layer, scored once on
// a separate test split.
const MethodAxFormer = "axformer"

// AxFormer tasks.
const (
	TaskClassify = "classify" // an encoder classifier; the score is accuracy
	TaskLM       = "lm"       // a decoder; the score is minus the loss
)

// AxJob runs AxFormer on a model through its Target. The test split is
// read only after every choice is made: once for the pruned model, and
// once for the unpruned one (rebuilt from the recorded removals), so the
// report compares both on it.
type AxJob struct {
	Target axformer.Target
	// Val and Test score the current model on the validation and test
	// splits (higher is better); Params counts its parameters.
	Val, Test axformer.Score
	Params    func() int
	Options   axformer.Options
	// Task is TaskClassify or TaskLM; Model, ValName and TestName describe
	// the inputs in the report.
	Task, Model, ValName, TestName string
}

// AxReport is what an AxJob found; it is prune-report.json.
type AxReport struct {
	Method    string  `json:"method"`
	Task      string  `json:"task"`
	Model     string  `json:"model"`
	Val       string  `json:"validation"`
	Test      string  `json:"test"`
	Metric    string  `json:"metric"` // "accuracy" or "loss"
	Tolerance float64 `json:"tolerance"`
	Ks        []int   `json:"ks,omitempty"`
	// Scores on the metric (loss for TaskLM, not minus the loss).
	BaseVal   float64 `json:"base_validation"`
	FinalVal  float64 `json:"final_validation"`
	BaseTest  float64 `json:"base_test"`
	FinalTest float64 `json:"final_test"`
	// Sublayers and Params are before and after.
	Sublayers [2]int          `json:"sublayers"`
	Params    [2]int          `json:"params"`
	Layers    int             `json:"layers"`
	Removed   []string        `json:"removed"` // in the order removed
	TopK      []int           `json:"top_k"`   // per layer, 0: dense
	Steps     []axformer.Step `json:"steps"`
	Evals     int             `json:"validation_evals"`
	SearchS   float64         `json:"search_s"`
	FileBytes [2]int64        `json:"file_bytes,omitzero"`
}

// recordingTarget passes calls to a Target and remembers the removals the
// search kept (those never restored), so the unpruned model can be
// rebuilt for its test score after the search.
type recordingTarget struct {
	axformer.Target
	kept []removal
}

type removal struct {
	u        axformer.Unit
	restore  func()
	restored bool
}

func (r *recordingTarget) Remove(u axformer.Unit) (func(), error) {
	restore, err := r.Target.Remove(u)
	if err != nil {
		return nil, err
	}
	r.kept = append(r.kept, removal{u: u, restore: restore})
	i := len(r.kept) - 1
	return func() { restore(); r.kept[i].restored = true }, nil
}

// accepted returns the removals still in place, in order.
func (r *recordingTarget) accepted() []removal {
	var out []removal
	for _, x := range r.kept {
		if !x.restored {
			out = append(out, x)
		}
	}
	return out
}

// Run searches on the validation split, then scores the pruned model and
// the unpruned one on the test split, and leaves the target pruned.
func (j *AxJob) Run() (*AxReport, error) {
	if j.Target == nil || j.Val == nil || j.Test == nil || j.Params == nil {
		return nil, errors.New("prune: an AxFormer job needs a target, validation and test scores and a parameter count")
	}
	rt := &recordingTarget{Target: j.Target}
	n := j.Target.NumLayers()
	rep := &AxReport{Method: MethodAxFormer, Task: j.Task, Model: j.Model, Val: j.ValName, Test: j.TestName, Metric: "accuracy",
		Tolerance: j.Options.Tolerance, Ks: j.Options.Ks, Layers: n}
	sign := 1.0
	if j.Task == TaskLM {
		rep.Metric, sign = "loss", -1
	}
	rep.Sublayers[0], rep.Params[0] = axformer.Sublayers(j.Target), j.Params()
	t0 := time.Now()
	// The test split is scored by Run only after Prune has chosen.
	res, err := axformer.Run(rt, j.Val, j.Test, j.Options)
	if err != nil {
		return nil, err
	}
	rep.SearchS = time.Since(t0).Seconds()
	rep.BaseVal, rep.FinalVal, rep.FinalTest = sign*res.Base, sign*res.Final, sign*res.Test
	rep.TopK, rep.Steps, rep.Evals = res.TopK, res.Steps, res.Evals
	for i := range rep.Steps {
		rep.Steps[i].Score *= sign
	}
	for _, u := range res.Removed {
		rep.Removed = append(rep.Removed, u.String())
	}
	rep.Sublayers[1], rep.Params[1] = axformer.Sublayers(j.Target), j.Params()
	// The unpruned model on the test split: undo the removals and top-k,
	// score, and redo them.
	kept := rt.accepted()
	if len(kept) != len(res.Removed) {
		return nil, fmt.Errorf("prune: axformer kept %d removals, the target shows %d", len(res.Removed), len(kept))
	}
	for l, k := range res.TopK {
		if k > 0 {
			if err := j.Target.SetTopK(l, 0); err != nil {
				return nil, err
			}
		}
	}
	for i := len(kept) - 1; i >= 0; i-- {
		kept[i].restore()
	}
	base, err := j.Test()
	if err != nil {
		return nil, err
	}
	rep.BaseTest = sign * base
	for _, x := range kept {
		if _, err := j.Target.Remove(x.u); err != nil {
			return nil, err
		}
	}
	for l, k := range res.TopK {
		if k > 0 {
			if err := j.Target.SetTopK(l, k); err != nil {
				return nil, err
			}
		}
	}
	return rep, nil
}

// CommitDecoder records in m's config the sublayers an AxFormer search
// left nil in m's PreNorm blocks (the decoder target clears a sublayer
// without its norm), by putting back each from orig and removing it with
// decoder.Model.RemoveSublayer, so the model saves and loads pruned. orig
// holds each layer's attention and FFN before the search (Snapshot).
func CommitDecoder(m *decoder.Model, orig []DecoderSublayers) error {
	for l, b := range m.Layers {
		p, ok := b.(*decoder.PreNorm)
		if !ok || l >= len(orig) {
			continue
		}
		if p.Attn == nil && orig[l].Attn != nil {
			p.Attn = orig[l].Attn
			if err := m.RemoveSublayer(l, decoder.SublayerAttention); err != nil {
				return err
			}
		}
		if _, top := p.Attn.(*nn.TopKAttention); top {
			return fmt.Errorf("prune: layer %d has top-k attention, which decoder checkpoints cannot record", l)
		}
		if p.FFN == nil && orig[l].FFN != nil {
			p.FFN = orig[l].FFN
			if err := m.RemoveSublayer(l, decoder.SublayerFFN); err != nil {
				return err
			}
		}
	}
	return nil
}

// DecoderSublayers are one PreNorm block's attention and FFN.
type DecoderSublayers struct {
	Attn nn.Mixer
	FFN  nn.FFN
}

// Snapshot returns each PreNorm block's sublayers (for CommitDecoder).
func Snapshot(m *decoder.Model) []DecoderSublayers {
	out := make([]DecoderSublayers, len(m.Layers))
	for l, b := range m.Layers {
		if p, ok := b.(*decoder.PreNorm); ok {
			out[l] = DecoderSublayers{p.Attn, p.FFN}
		}
	}
	return out
}

// Markdown renders the report.
func (r *AxReport) Markdown() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "# Pruning report: axformer (--task %s)\n\nModel %s. AxFormer (arXiv 2010.03688): whole layers, then attention and FFN blocks, removed greedily while the validation %s does not get worse by more than %g", r.Task, r.Model, r.Metric, r.Tolerance)
	if len(r.Ks) > 0 {
		fmt.Fprintf(&sb, "; then per layer the smallest k of %v whose top-k hard attention passes the same rule", r.Ks)
	}
	fmt.Fprintf(&sb, ". Validation: %s (%d evaluations, %.1f s). Test: %s, read only after every choice was made.\n\n", r.Val, r.Evals, r.SearchS, r.Test)
	unit, scale := "", 1.0
	if r.Metric == "accuracy" {
		unit, scale = " %", 100
	}
	fmt.Fprintf(&sb, "| | unpruned | pruned |\n| --- | --- | --- |\n")
	fmt.Fprintf(&sb, "| validation %s%s | %.4g | %.4g |\n", r.Metric, unit, scale*r.BaseVal, scale*r.FinalVal)
	fmt.Fprintf(&sb, "| test %s%s | %.4g | %.4g |\n", r.Metric, unit, scale*r.BaseTest, scale*r.FinalTest)
	fmt.Fprintf(&sb, "| attention and FFN sublayers | %d | %d |\n", r.Sublayers[0], r.Sublayers[1])
	fmt.Fprintf(&sb, "| parameters | %d | %d |\n", r.Params[0], r.Params[1])
	if r.FileBytes[0] > 0 {
		fmt.Fprintf(&sb, "| weights file (MB) | %.2f | %.2f |\n", float64(r.FileBytes[0])/1e6, float64(r.FileBytes[1])/1e6)
	}
	removed := "none"
	if len(r.Removed) > 0 {
		removed = strings.Join(r.Removed, ", ")
	}
	fmt.Fprintf(&sb, "\nRemoved, in order: %s.", removed)
	if len(r.Ks) > 0 {
		fmt.Fprintf(&sb, " Top-k per layer (0: dense): %v. Top-k attention masks all but the k largest scores, so it changes what the model computes, not its speed here.", r.TopK)
	}
	sb.WriteString("\n\n")
	sb.WriteString("| step | stage | element | k | validation | kept |\n| --- | --- | --- | --- | --- | --- |\n")
	for i, s := range r.Steps {
		el, k := s.Unit.String(), ""
		if s.Stage == "base" {
			el = "(unpruned)"
		}
		if s.K > 0 {
			k = fmt.Sprint(s.K)
		}
		fmt.Fprintf(&sb, "| %d | %s | %s | %s | %.4g | %v |\n", i+1, s.Stage, el, k, scale*s.Score, s.Accepted)
	}
	return sb.String()
}

// WriteFiles writes prune-report.json and prune-report.md into dir.
func (r *AxReport) WriteFiles(dir string) error {
	b, _ := json.MarshalIndent(r, "", "  ")
	if err := fsutil.WriteFile(filepath.Join(dir, ReportJSON), append(b, '\n')); err != nil {
		return err
	}
	return fsutil.WriteFile(filepath.Join(dir, ReportMarkdown), []byte(r.Markdown()))
}
