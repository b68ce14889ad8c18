package prune

import (
	"cmp"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/loomml/loom/compress/structured"
	"github.com/loomml/loom/compress/vtrans"
	"github.com/loomml/loom/data"
	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/models/decoder"
)

// Structure-pruning methods: whole heads, FFN neurons, hidden dims and
// layers removed physically (compress/structured), so the saved model is
// smaller and faster.
const (
	// MethodStructured scores structures by importance (first-order
	// Taylor, Molchanov et al. arXiv 1906.10771; activations; or weight
	// magnitude) and removes the lowest-scored ones to the budget.
	MethodStructured = "structured"
	// MethodVTrans trains variational-information-bottleneck masks
	// (VTrans, arXiv 2406.05276; compress/vtrans) and removes the
	// structures of lowest α = μ²/σ².
	MethodVTrans = "vtrans"
)

// StructureMethods lists them.
var StructureMethods = []string{MethodStructured, MethodVTrans}

// IsStructureMethod reports whether name is a structure-pruning method.
func IsStructureMethod(name string) bool { return slices.Contains(StructureMethods, name) }

// Importance scores of MethodStructured.
const (
	ScoreTaylor     = "taylor"
	ScoreActivation = "activation"
	ScoreMagnitude  = "magnitude"
)

// Scores lists the importance scores.
var Scores = []string{ScoreTaylor, ScoreActivation, ScoreMagnitude}

// StructureJob prunes structures of a decoder to a budget and measures the
// model before and after. Model is left unchanged; the report holds the
// pruned model.
type StructureJob struct {
	Model  *decoder.Model
	Method string  // MethodStructured or MethodVTrans
	Ratio  float64 // fraction of the parameters removed, in (0, 1)
	// Kinds are the structure kinds that may be removed (structured.Kinds'
	// names; nil: all).
	Kinds []string
	// MethodStructured: Score names the importance (ScoreTaylor by
	// default); Calib are the windows the Taylor and activation scores
	// are computed on (equal length).
	Score string
	Calib [][]int
	// MethodVTrans: the training batches and the run's options (Ratio is
	// the job's).
	Train  []data.Batch
	VTrans vtrans.Options
	Bench  Bench
	// ModelName and DataName describe the input and the calibration or
	// training text in the report.
	ModelName, DataName string
	// Measured, when set, is called with "unpruned" or "pruned" and each
	// measurement.
	Measured func(label string, m Measurement)
}

// Structures counts a model's structures by kind.
type Structures struct {
	Heads   int `json:"heads"`
	Neurons int `json:"ffn_neurons"`
	Hidden  int `json:"hidden_dims"`
	Layers  int `json:"layers"`
}

// StructureReport is what a StructureJob found; it is prune-report.json.
type StructureReport struct {
	Method    string   `json:"method"`
	Model     string   `json:"model"`
	Score     string   `json:"score,omitempty"`
	Variant   string   `json:"variant,omitempty"`
	Kinds     []string `json:"kinds"`
	Ratio     float64  `json:"ratio"`
	Data      string   `json:"data"`
	Windows   int      `json:"windows"`
	WindowLen int      `json:"window_tokens"`
	// VTrans: epochs, β and optimizer steps.
	Epochs int     `json:"epochs,omitempty"`
	Beta   float64 `json:"beta,omitempty"`
	Steps  int     `json:"steps,omitempty"`
	// RemovedFraction is the fraction of the parameters actually removed
	// (at least Ratio: whole structures go).
	RemovedFraction float64            `json:"removed_fraction"`
	Kept            [2]Structures      `json:"structures"` // before, after
	PruneS          float64            `json:"prune_s"`
	Before          Measurement        `json:"before"`
	After           Measurement        `json:"after"`
	LossRetention   float64            `json:"loss_retention"`
	TaskRetention   map[string]float64 `json:"task_retention,omitempty"`
	// FileBytes are the saved weights' sizes before and after, when the
	// caller knows them (loom prune fills them in after saving).
	FileBytes [2]int64 `json:"file_bytes,omitzero"`
	// Pruned is the smaller model.
	Pruned *decoder.Model `json:"-"`
}

// CalibBatches makes language-model batches of windows (inputs all but the
// last token, targets all but the first), at most size windows each.
func CalibBatches(windows [][]int, size int) []data.Batch {
	var out []data.Batch
	for i := 0; i < len(windows); i += size {
		ws := windows[i:min(i+size, len(windows))]
		T := len(ws[0]) - 1
		b := data.Batch{B: len(ws), T: T}
		for _, w := range ws {
			b.IDs = append(b.IDs, w[:T]...)
			b.Targets = append(b.Targets, w[1:T+1]...)
		}
		out = append(out, b)
	}
	return out
}

// Run checks the job, measures the model, prunes a copy and measures it.
func (j *StructureJob) Run() (*StructureReport, error) {
	m := j.Model
	if !(j.Ratio > 0 && j.Ratio < 1) {
		return nil, fmt.Errorf("ratio %v: want a fraction strictly between 0 and 1", j.Ratio)
	}
	kinds := j.Kinds
	if len(kinds) == 0 {
		kinds = structured.Kinds
	}
	for _, k := range kinds {
		if !slices.Contains(structured.Kinds, k) {
			return nil, fmt.Errorf("structure kind %q: want %s", k, strings.Join(structured.Kinds, ", "))
		}
	}
	// Refused before the measurement: a model structured pruning cannot
	// take (grouped-query attention, MoE, shared layers, …).
	full, err := structured.Full(m)
	if err != nil {
		return nil, fmt.Errorf("prune --method %s: %w", j.Method, err)
	}
	rep := &StructureReport{Method: j.Method, Model: j.ModelName, Kinds: kinds, Ratio: j.Ratio, Data: j.DataName}
	switch j.Method {
	case MethodStructured:
		rep.Score = cmp.Or(j.Score, ScoreTaylor)
		if !slices.Contains(Scores, rep.Score) {
			return nil, fmt.Errorf("score %q: want %s", rep.Score, strings.Join(Scores, ", "))
		}
		if rep.Score != ScoreMagnitude {
			if len(j.Calib) == 0 {
				return nil, fmt.Errorf("prune --method structured --score %s needs calibration windows", rep.Score)
			}
			rep.Windows, rep.WindowLen = len(j.Calib), len(j.Calib[0])
		} else {
			rep.Data = ""
		}
	case MethodVTrans:
		if len(j.Train) == 0 {
			return nil, fmt.Errorf("prune --method vtrans needs training batches")
		}
		if !slices.Equal(kinds, structured.Kinds) {
			return nil, fmt.Errorf("prune --method vtrans masks every kind of structure (%s); it takes no kinds", strings.Join(structured.Kinds, ", "))
		}
		o := j.VTrans
		o.Ratio = j.Ratio
		if err := o.Validate(); err != nil {
			return nil, err
		}
		rep.Variant, rep.Epochs, rep.Beta = cmp.Or(o.Variant, vtrans.Full), max(o.Epochs, 1), cmp.Or(o.Beta, vtrans.DefaultBeta)
		for _, b := range j.Train {
			rep.Windows += b.B
		}
		rep.WindowLen = j.Train[0].T + 1
	default:
		return nil, fmt.Errorf("structure pruning method %q: want %s", j.Method, strings.Join(StructureMethods, " or "))
	}
	measure := func(label string, m *decoder.Model) (Measurement, error) {
		r, err := j.Bench.Measure(m)
		if err == nil && j.Measured != nil {
			j.Measured(label, r)
		}
		return r, err
	}
	if rep.Before, err = measure("unpruned", m); err != nil {
		return nil, err
	}
	t0 := time.Now()
	var mask *structured.Mask
	if j.Method == MethodVTrans {
		o := j.VTrans
		o.Ratio = j.Ratio
		res, err := vtrans.Run(m, j.Train, o)
		if err != nil {
			return nil, err
		}
		rep.Pruned, mask, rep.RemovedFraction, rep.Steps = res.Model, res.Mask, res.Removed, res.Steps
	} else {
		sc, err := j.scores(rep.Score)
		if err != nil {
			return nil, err
		}
		cands, err := structured.Candidates(m, sc, kinds, true)
		if err != nil {
			return nil, err
		}
		if mask, rep.RemovedFraction, err = structured.Select(m, cands, j.Ratio); err != nil {
			return nil, fmt.Errorf("prune --method structured --kinds %s: %w", strings.Join(kinds, ","), err)
		}
		if rep.Pruned, err = structured.Remove(m, mask); err != nil {
			return nil, err
		}
	}
	rep.PruneS = time.Since(t0).Seconds()
	rep.Kept = [2]Structures{CountStructures(full), CountStructures(mask)}
	if rep.After, err = measure("pruned", rep.Pruned); err != nil {
		return nil, err
	}
	rep.LossRetention, rep.TaskRetention = Retention(rep.Before, rep.After)
	return rep, nil
}

// scores computes the importance of every structure of j.Model: Taylor
// from the gradients of the loss summed over the calibration windows,
// activations from forward passes over them, or weight magnitudes.
func (j *StructureJob) scores(score string) (*structured.Scores, error) {
	m := j.Model
	sc, err := structured.NewScores(m)
	if err != nil {
		return nil, err
	}
	batches := CalibBatches(j.Calib, 8)
	switch score {
	case ScoreMagnitude:
		err = sc.AddMagnitude(m)
	case ScoreActivation:
		err = sc.AddActivation(m, func() {
			for _, b := range batches {
				m.Forward(nil, b.IDs, b.B, b.T)
			}
		})
	default:
		err = sc.AddTaylorOf(m, func() {
			for _, b := range batches {
				m.Loss(nil, b).Backward()
			}
		})
	}
	return sc, err
}

// CountStructures counts what a mask keeps (heads and neurons of layers
// whose attention or FFN is gone count as none).
func CountStructures(k *structured.Mask) Structures {
	var s Structures
	for l, keep := range k.Layers {
		if !keep {
			continue
		}
		s.Layers++
		s.Heads += countTrue(k.Heads[l])
		s.Neurons += countTrue(k.Neurons[l])
	}
	s.Hidden = countTrue(k.Hidden)
	return s
}

func countTrue(b []bool) int {
	n := 0
	for _, v := range b {
		if v {
			n++
		}
	}
	return n
}

// Markdown renders the report.
func (r *StructureReport) Markdown() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "# Pruning report: %s\n\nModel %s. ", r.Method, r.Model)
	switch r.Method {
	case MethodVTrans:
		fmt.Fprintf(&sb, "VTrans (arXiv 2406.05276), variant %s: VIB masks trained for %d epoch(s), %d steps, β %g, on %d windows of %d tokens of %s; the structures of lowest α = μ²/σ² removed.\n\n",
			r.Variant, r.Epochs, r.Steps, r.Beta, r.Windows, r.WindowLen, r.Data)
	default:
		fmt.Fprintf(&sb, "Importance %s", r.Score)
		if r.Windows > 0 {
			fmt.Fprintf(&sb, " on %d windows of %d tokens of %s", r.Windows, r.WindowLen, r.Data)
		}
		sb.WriteString("; each kind's scores divided by their mean; the lowest removed, without retraining.\n\n")
	}
	fmt.Fprintf(&sb, "Kinds that may go: %s. Budget: %.3f of the parameters; removed: %.3f. Pruning took %.1f s.\n\n", strings.Join(r.Kinds, ", "), r.Ratio, r.RemovedFraction, r.PruneS)
	fmt.Fprintf(&sb, "| | unpruned | pruned |\n| --- | --- | --- |\n")
	fmt.Fprintf(&sb, "| held-out loss (nats/token) | %.4f | %.4f |\n", r.Before.Loss, r.After.Loss)
	if r.Before.DecodeCtx > 0 {
		fmt.Fprintf(&sb, "| decode tokens/s (context %d) | %.1f | %.1f |\n", r.Before.DecodeCtx, r.Before.DecodeTokS, r.After.DecodeTokS)
	}
	fmt.Fprintf(&sb, "| parameters | %d | %d |\n", r.Before.ParamsCount, r.After.ParamsCount)
	if r.FileBytes[0] > 0 {
		fmt.Fprintf(&sb, "| weights file (MB) | %.2f | %.2f |\n", float64(r.FileBytes[0])/1e6, float64(r.FileBytes[1])/1e6)
	}
	k := r.Kept
	fmt.Fprintf(&sb, "| layers | %d | %d |\n| attention heads | %d | %d |\n| FFN neurons | %d | %d |\n| hidden dims | %d | %d |\n",
		k[0].Layers, k[1].Layers, k[0].Heads, k[1].Heads, k[0].Neurons, k[1].Neurons, k[0].Hidden, k[1].Hidden)
	for i, b := range r.Before.Tasks {
		fmt.Fprintf(&sb, "| zero-shot %s (chance %.2f, %d items) | %.3f | %.3f |\n", b.Task, b.Chance, b.Items, b.Accuracy, r.After.Tasks[i].Accuracy)
	}
	fmt.Fprintf(&sb, "\nLoss retention (unpruned / pruned loss): %.3f.\n", r.LossRetention)
	return sb.String()
}

// WriteFiles writes prune-report.json and prune-report.md into dir.
func (r *StructureReport) WriteFiles(dir string) error {
	b, _ := json.MarshalIndent(r, "", "  ")
	if err := fsutil.WriteFile(filepath.Join(dir, ReportJSON), append(b, '\n')); err != nil {
		return err
	}
	return fsutil.WriteFile(filepath.Join(dir, ReportMarkdown), []byte(r.Markdown()))
}
