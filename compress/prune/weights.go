package prune

import (
	"cmp"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/loomml/loom/compress/sparse"
	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/models/decoder"
)

// Weight-pruning methods (compress/sparse), which zero individual weights
// instead of removing sublayers.
const (
	MethodMagnitude = "magnitude" // unstructured, arXiv 1506.02626
	Method24        = "2:4"       // semi-structured, arXiv 2104.08378
)

// WeightMethods lists the weight-pruning methods.
var WeightMethods = []string{MethodMagnitude, Method24}

// IsWeightMethod reports whether name is a weight-pruning method.
func IsWeightMethod(name string) bool { return name == MethodMagnitude || name == Method24 }

// WeightJob zeroes weights of a model's block linears by magnitude or the
// 2:4 pattern and measures the model before and after.
type WeightJob struct {
	Model  *decoder.Model
	Method string  // MethodMagnitude or Method24
	Ratio  float64 // magnitude: the fraction of weights zeroed (2:4: 0.5)
	Scope  string  // magnitude: sparse.ScopeLayer or sparse.ScopeGlobal
	Bench  Bench
	// ModelName describes the input in the report.
	ModelName string
	// Measured, when set, is called with "unpruned" or "pruned" and each
	// measurement.
	Measured func(label string, m Measurement)
}

// WeightReport is what a WeightJob found; it is prune-report.json.
type WeightReport struct {
	Method        string             `json:"method"`
	Model         string             `json:"model"`
	Stats         sparse.Stats       `json:"weights"`
	PruneS        float64            `json:"prune_s"`
	Before        Measurement        `json:"before"`
	After         Measurement        `json:"after"`
	LossRetention float64            `json:"loss_retention"`
	TaskRetention map[string]float64 `json:"task_retention,omitempty"`
	// Kernel24 is the 2:4-pruned model measured again with its block
	// weights packed for the 2:4 kernel (decoder.Model.Pack24Weights);
	// Packed24Bytes is what the packed copies hold.
	Kernel24      *Measurement `json:"after_with_2_4_kernel,omitempty"`
	Packed24Bytes int64        `json:"packed_2_4_bytes,omitempty"`
}

// Run measures the model, prunes its weights in place and measures again.
// It checks the model can be pruned before measuring it.
func (j *WeightJob) Run() (*WeightReport, error) {
	ts, err := sparse.Targets(j.Model)
	if err != nil {
		return nil, fmt.Errorf("prune --method %s: %w", j.Method, err)
	}
	switch j.Method {
	case MethodMagnitude:
		if !(j.Ratio > 0 && j.Ratio < 1) {
			return nil, fmt.Errorf("ratio %v: want a fraction strictly between 0 and 1", j.Ratio)
		}
	case Method24:
		for _, t := range ts {
			if t.In%4 != 0 {
				return nil, fmt.Errorf("prune --method 2:4: %s has %d inputs, not a multiple of 4", t.Name, t.In)
			}
		}
	default:
		return nil, fmt.Errorf("weight pruning method %q: want %s", j.Method, strings.Join(WeightMethods, " or "))
	}
	rep := &WeightReport{Method: j.Method, Model: j.ModelName}
	measure := func(label string) (Measurement, error) {
		r, err := j.Bench.Measure(j.Model)
		if err == nil && j.Measured != nil {
			j.Measured(label, r)
		}
		return r, err
	}
	if rep.Before, err = measure("unpruned"); err != nil {
		return nil, err
	}
	t0 := time.Now()
	if j.Method == Method24 {
		rep.Stats, err = sparse.TwoFour(ts)
	} else {
		rep.Stats, err = sparse.Magnitude(ts, j.Ratio, cmp.Or(j.Scope, sparse.ScopeLayer))
	}
	if err != nil {
		return nil, err
	}
	rep.PruneS = time.Since(t0).Seconds()
	if rep.After, err = measure("pruned"); err != nil {
		return nil, err
	}
	rep.LossRetention, rep.TaskRetention = Retention(rep.Before, rep.After)
	if j.Method == Method24 {
		if rep.Packed24Bytes, err = j.Model.Pack24Weights(); err != nil {
			return nil, err
		}
		k, err := measure("pruned, 2:4 kernel")
		j.Model.Unpack24Weights()
		if err != nil {
			return nil, err
		}
		rep.Kernel24 = &k
	}
	return rep, nil
}

// Markdown renders the report.
func (r *WeightReport) Markdown() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "# Pruning report: %s\n\nModel %s.\n\n", r.Method, r.Model)
	fmt.Fprintf(&sb, "| | unpruned | pruned |\n| --- | --- | --- |\n")
	fmt.Fprintf(&sb, "| held-out loss (nats/token) | %.4f | %.4f |\n", r.Before.Loss, r.After.Loss)
	if r.Before.DecodeCtx > 0 {
		fmt.Fprintf(&sb, "| decode tokens/s (context %d, dense kernels) | %.1f | %.1f |\n", r.Before.DecodeCtx, r.Before.DecodeTokS, r.After.DecodeTokS)
	}
	for i, b := range r.Before.Tasks {
		fmt.Fprintf(&sb, "| zero-shot %s (chance %.2f, %d items) | %.3f | %.3f |\n", b.Task, b.Chance, b.Items, b.Accuracy, r.After.Tasks[i].Accuracy)
	}
	if k := r.Kernel24; k != nil {
		fmt.Fprintf(&sb, "| with the 2:4 kernel: held-out loss | | %.4f |\n", k.Loss)
		if k.DecodeCtx > 0 {
			fmt.Fprintf(&sb, "| with the 2:4 kernel: decode tokens/s | | %.1f |\n", k.DecodeTokS)
		}
	}
	fmt.Fprintf(&sb, "\nLoss retention (unpruned / pruned loss): %.3f. Pruning took %.2f s.\n\n", r.LossRetention, r.PruneS)
	sb.WriteString(r.Stats.Markdown())
	return sb.String()
}

// WriteFiles writes prune-report.json and prune-report.md into dir.
func (r *WeightReport) WriteFiles(dir string) error {
	b, _ := json.MarshalIndent(r, "", "  ")
	if err := fsutil.WriteFile(filepath.Join(dir, ReportJSON), append(b, '\n')); err != nil {
		return err
	}
	return fsutil.WriteFile(filepath.Join(dir, ReportMarkdown), []byte(r.Markdown()))
}
