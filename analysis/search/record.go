package search

import (
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/loomml/loom/internal/fsutil"
)

// Record is a training run as result.json holds it (`loom search train
// --out DIR`; the reproduction keeps one per model in its work directory
// and reuses a matching one).
type Record struct {
	Paper         string    `json:"paper"`
	Distribution  string    `json:"distribution"`
	Vertices      int       `json:"vertices"`
	Lookahead     int       `json:"lookahead"`
	Layers        int       `json:"layers"`
	Dim           int       `json:"dim"`
	Heads         int       `json:"heads"`
	Steps         int       `json:"steps"`
	Batch         int       `json:"batch"`
	LR            float64   `json:"lr"`
	Seed          uint64    `json:"seed"`
	EvalSeed      uint64    `json:"eval_seed"`
	EvalCount     int       `json:"eval_count"`
	Params        int       `json:"params"`
	Seconds       float64   `json:"seconds"`
	FinalLoss     float64   `json:"final_loss"`
	TrainAccuracy float64   `json:"train_accuracy"`
	Accuracy      []float64 `json:"test_accuracy_by_lookahead"`
	ChildRate     []float64 `json:"test_child_rate_by_lookahead"`
	GoalRate      []float64 `json:"test_goal_rate_by_lookahead"`
	Loss          []float64 `json:"loss"`
}

// NewRecord describes the run c that gave r in secs seconds.
func NewRecord(c TrainConfig, r *Result, secs float64) Record {
	c.defaults()
	return Record{Paper: "arXiv 2412.04703", Distribution: c.Data.Dist, Vertices: c.Data.Vertices, Lookahead: c.Data.Lookahead,
		Layers: c.Layers, Dim: c.Dim, Heads: c.Heads, Steps: c.Steps, Batch: c.Batch, LR: c.LR, Seed: c.Seed,
		EvalSeed: c.EvalSeed, EvalCount: c.EvalCount, Params: r.Params, Seconds: secs, FinalLoss: r.Loss[len(r.Loss)-1],
		TrainAccuracy: r.TrainAccuracy, Accuracy: r.Accuracy, ChildRate: r.ChildRate, GoalRate: r.GoalRate, Loss: r.Loss}
}

// Matches reports whether the record is a run of c (test lookaheads 1…
// c.EvalLookahead at least: each lookahead's test set depends only on the
// seed, the count and the lookahead).
func (rec Record) Matches(c TrainConfig) bool {
	c.defaults()
	return rec.Distribution == c.Data.Dist && rec.Vertices == c.Data.Vertices && rec.Lookahead == c.Data.Lookahead &&
		rec.Layers == c.Layers && rec.Dim == c.Dim && rec.Heads == c.Heads && rec.Steps == c.Steps && rec.Batch == c.Batch &&
		rec.LR == c.LR && rec.Seed == c.Seed && rec.EvalSeed == c.EvalSeed && rec.EvalCount == c.EvalCount &&
		len(rec.Accuracy) >= c.EvalLookahead && len(rec.ChildRate) >= c.EvalLookahead && len(rec.GoalRate) >= c.EvalLookahead && len(rec.Loss) == c.Steps
}

// Result returns the record's measurements at test lookaheads 1…maxLook.
func (rec Record) Result(maxLook int) *Result {
	return &Result{Params: rec.Params, Loss: rec.Loss, Accuracy: rec.Accuracy[:maxLook], ChildRate: rec.ChildRate[:maxLook],
		GoalRate: rec.GoalRate[:maxLook], TrainAccuracy: rec.TrainAccuracy}
}

// Save writes the record as dir/result.json.
func (rec Record) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	return fsutil.WriteFile(filepath.Join(dir, "result.json"), append(js, '\n'))
}

// LoadRecord reads dir/result.json.
func LoadRecord(dir string) (Record, error) {
	var rec Record
	b, err := os.ReadFile(filepath.Join(dir, "result.json"))
	if err != nil {
		return rec, err
	}
	return rec, json.Unmarshal(b, &rec)
}
