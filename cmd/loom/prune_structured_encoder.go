package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/loomml/loom/compress/prune"
	"github.com/loomml/loom/compress/structured"
	"github.com/loomml/loom/compress/vtrans"
	"github.com/loomml/loom/convert"
	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/models/encoder"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/train"
)

// encoderPruneBatch is the batch size of the training split's passes.
const encoderPruneBatch = 16

// encoderStructureReport is prune-report.json of structured or VTrans
// pruning of an encoder classifier.
type encoderStructureReport struct {
	Method   string   `json:"method"`
	Model    string   `json:"model"`
	Score    string   `json:"score,omitempty"`
	Variant  string   `json:"variant,omitempty"`
	Epochs   int      `json:"epochs,omitempty"`
	Beta     float64  `json:"beta,omitempty"`
	Steps    int      `json:"steps,omitempty"`
	Kinds    []string `json:"kinds"`
	Ratio    float64  `json:"ratio"`
	Data     string   `json:"data,omitempty"`
	Test     string   `json:"test"`
	Examples [2]int   `json:"examples"` // training, test
	// RemovedFraction is the fraction of the parameters removed (at
	// least Ratio: whole structures go).
	RemovedFraction float64             `json:"removed_fraction"`
	Kept            [2]prune.Structures `json:"structures"` // before, after
	PruneS          float64             `json:"prune_s"`
	Accuracy        [2]float64          `json:"test_accuracy"` // before, after
	// Loss is the mean test cross-entropy (nats per example, as loom
	// eval's), before and after.
	Loss      [2]float64 `json:"test_loss"`
	Params    [2]int     `json:"params"`
	FileBytes [2]int64   `json:"file_bytes"`
	// WeightsDType is the type the pruned model's weights were saved in
	// (the source's); Rounded says its values changed when rounded to it
	// (the after accuracy is measured after the rounding).
	WeightsDType string         `json:"weights_dtype"`
	Rounded      bool           `json:"rounded_to_weights_dtype,omitempty"`
	Pruned       *encoder.Model `json:"-"`
}

// runPruneStructureEncoder is `loom prune --method structured|vtrans` on
// an encoder classifier (a BERT): heads, FFN neurons and layers scored on
// the --data split (Taylor, activations, magnitudes) or masked by VIB
// masks trained on it (VTrans, with distillation to the unpruned
// classifier), removed physically to the --ratio budget, and the accuracy
// on the --eval split measured before and after.
func runPruneStructureEncoder(o *pruneOpts, stdout, stderr io.Writer) error {
	for _, f := range []string{"calib", "windows", "seq-len", "eval-tokens", "tasks", "task-items"} {
		if o.given[f] {
			return fmt.Errorf("--%s applies to a decoder; --model %s is an encoder classifier, scored or trained on --data and tested on --eval", f, o.model)
		}
	}
	if o.method == prune.MethodStructured && slices.Contains(o.kinds, structured.KindHidden) {
		return fmt.Errorf("--kinds hidden: an encoder's hidden dims cannot be removed (LayerNorm's mean and variance over fewer dims are not what masking them computes); want heads, neurons and layers")
	}
	needData := o.method == prune.MethodVTrans || o.score != prune.ScoreMagnitude
	switch {
	case o.eval == "":
		return fmt.Errorf("--eval is required for --method %s on an encoder classifier: the test split (a CSV file of text,label rows) scored before and after", o.method)
	case needData && o.data == "":
		what := "scores the structures"
		if o.method == prune.MethodVTrans {
			what = "trains the VIB masks"
		}
		return fmt.Errorf("--data is required for --method %s on an encoder classifier: the labelled training split (a CSV file of text,label rows) that %s", o.method, what)
	case !needData && o.data != "":
		return fmt.Errorf("--data: --score magnitude reads no data (the training split is for taylor and activation)")
	}
	if o.data != "" {
		if same, err := sameFile(o.data, o.eval); err != nil {
			return err
		} else if same {
			return fmt.Errorf("--data %s and --eval %s are the same file: the structures are chosen on --data, so the test split (--eval) must be another", o.data, o.eval)
		}
	}
	if err := setThreads(o.threads); err != nil {
		return err
	}
	c, err := classifierConfig(o.model, "--method "+o.method+" on an encoder")
	if err != nil {
		return err
	}
	switch {
	case c.ModelType != encoder.TypeBERT:
		return fmt.Errorf("--method %s on an encoder needs a BERT; --model %s is a %s (model_type %s)", o.method, o.model, c.Architecture(), c.ModelType)
	}
	classes := c.Labels()
	in, err := newClassInput("--model", o.model, c, 0)
	if err != nil {
		return err
	}
	test, err := in.read("--eval", o.eval, classes)
	if err != nil {
		return err
	}
	var trainEx train.Labelled[encoder.Batch]
	if needData {
		if trainEx, err = in.read("--data", o.data, classes); err != nil {
			return err
		}
		if trainEx.Len() == 0 {
			return fmt.Errorf("--data %s has no examples", o.data)
		}
	}
	if test.Len() == 0 {
		return fmt.Errorf("--eval %s has no examples", o.eval)
	}
	m, err := encoder.Load(o.model)
	if err != nil {
		return fmt.Errorf("--model: %w", err)
	}
	if o.saveType, err = pruneSaveType(o.model); err != nil {
		return err
	}
	full, err := structured.Full(m)
	if err != nil {
		return fmt.Errorf("--method %s: --model %s: %w", o.method, o.model, err)
	}
	rep := &encoderStructureReport{Method: o.method, Model: o.model, Ratio: o.ratio, Data: o.data, Test: o.eval, Kinds: o.kinds}
	rep.Examples[1] = test.Len()
	if trainEx != nil {
		rep.Examples[0] = trainEx.Len()
	}
	acc := func(m *encoder.Model) float64 { return train.Accuracy[encoder.Batch](encClassifierCLI{m}, test, 64) }
	rep.Accuracy[0], rep.Params[0] = acc(m), structured.NumParams(m)
	rep.Loss[0] = scoreClassifier(m, test, classes).Loss
	fmt.Fprintf(stderr, "unpruned: test accuracy %.2f %%, %d parameters\n", 100*rep.Accuracy[0], rep.Params[0])
	batches := encoderBatches(trainEx, o.seed)
	t0 := time.Now()
	var mask *structured.Mask
	if o.method == prune.MethodVTrans {
		rep.Kinds = []string{structured.KindHead, structured.KindNeuron, structured.KindLayer}
		rep.Variant, rep.Epochs, rep.Beta = o.variant, o.epochs, o.beta
		steps := o.epochs * len(batches)
		res, err := vtrans.RunEncoder(m, batches, vtrans.Options{Ratio: o.ratio, Variant: o.variant, Epochs: o.epochs, Beta: o.beta, Seed: o.seed,
			Progress: func(step, n int, loss float64) {
				if step%10 == 0 || step == n {
					fmt.Fprintf(stderr, "vtrans: step %d of %d, loss %.4f\n", step, steps, loss)
				}
			}})
		if err != nil {
			return err
		}
		rep.Pruned, mask, rep.RemovedFraction, rep.Steps = res.Encoder, res.Mask, res.Removed, res.Steps
	} else {
		rep.Score = o.score
		sc, err := encoderScores(m, o.score, batches)
		if err != nil {
			return err
		}
		cands, err := structured.Candidates(m, sc, o.kinds, true)
		if err != nil {
			return err
		}
		if mask, rep.RemovedFraction, err = structured.Select(m, cands, o.ratio); err != nil {
			return fmt.Errorf("--kinds %s: %w", strings.Join(o.kinds, ","), err)
		}
		if rep.Pruned, err = structured.RemoveEncoder(m, mask); err != nil {
			return err
		}
	}
	rep.PruneS = time.Since(t0).Seconds()
	rep.Kept = [2]prune.Structures{prune.CountStructures(full), prune.CountStructures(mask)}
	// Measured as saved: VTrans folds its masks into the weights (and the
	// full variant trains them), so round them to the stored type first.
	rep.WeightsDType = o.saveType.Info().Torch
	if rep.Rounded, err = convert.RoundTo(rep.Pruned.Params(), o.saveType); err != nil {
		return err
	}
	rep.Accuracy[1], rep.Params[1] = acc(rep.Pruned), structured.NumParams(rep.Pruned)
	rep.Loss[1] = scoreClassifier(rep.Pruned, test, classes).Loss
	rep.FileBytes[0] = weightBytes(o.model)
	err = fsutil.ReplaceDir(o.out, fsutil.Options{Force: o.force}, func(tmp string) error {
		if err := encoder.SaveAs(rep.Pruned, tmp, o.saveType); err != nil {
			return err
		}
		if err := copyFiles(o.model, tmp, tokenizerFiles); err != nil {
			return err
		}
		rep.FileBytes[1] = weightBytes(tmp)
		return rep.writeFiles(tmp)
	})
	if err != nil {
		return outError(err)
	}
	how := o.method + ", " + rep.Score
	if o.method == prune.MethodVTrans {
		how = fmt.Sprintf("vtrans %s, %d steps", rep.Variant, rep.Steps)
	}
	k := rep.Kept
	fmt.Fprintf(stdout, "removed %.1f %% of the parameters (%d → %d; %s) in %.1fs: test accuracy %.2f → %.2f %% (%s, %d examples)\n",
		100*rep.RemovedFraction, rep.Params[0], rep.Params[1], how, rep.PruneS, 100*rep.Accuracy[0], 100*rep.Accuracy[1], o.eval, rep.Examples[1])
	fmt.Fprintf(stdout, "kept %d/%d layers, %d/%d heads, %d/%d FFN neurons; weights %.2f → %.2f MB (saved as %s, the source's type)\n", k[1].Layers, k[0].Layers,
		k[1].Heads, k[0].Heads, k[1].Neurons, k[0].Neurons, float64(rep.FileBytes[0])/1e6, float64(rep.FileBytes[1])/1e6, o.saveType)
	fmt.Fprintf(stdout, "model: %s; report: %s, %s\n", o.out, filepath.Join(o.out, prune.ReportMarkdown), filepath.Join(o.out, prune.ReportJSON))
	return nil
}

// encoderBatches cuts ex into batches of a seeded permutation (nil for
// nil ex).
func encoderBatches(ex train.Labelled[encoder.Batch], seed uint64) []encoder.Batch {
	if ex == nil {
		return nil
	}
	perm := tensor.NewRNG(seed).Perm(ex.Len())
	var out []encoder.Batch
	for i := 0; i < len(perm); i += encoderPruneBatch {
		out = append(out, ex.Batch(perm[i:min(i+encoderPruneBatch, len(perm))]))
	}
	return out
}

// encoderScores scores m's structures: Taylor from the gradients of the
// classification loss summed over the batches, mean activations over
// them, or weight magnitudes.
func encoderScores(m *encoder.Model, score string, batches []encoder.Batch) (*structured.Scores, error) {
	sc, err := structured.NewScores(m)
	if err != nil {
		return nil, err
	}
	switch score {
	case prune.ScoreMagnitude:
		return sc, sc.AddMagnitude(m)
	case prune.ScoreActivation:
		return sc, sc.AddActivation(m, func() {
			for i := range batches {
				m.Logits(nil, &batches[i])
			}
		})
	}
	return sc, sc.AddTaylorOf(m, func() {
		for _, b := range batches {
			m.Loss(nil, b).Backward()
		}
	})
}

// writeFiles writes prune-report.json and prune-report.md into dir.
func (r *encoderStructureReport) writeFiles(dir string) error {
	b, _ := json.MarshalIndent(r, "", "  ")
	if err := fsutil.WriteFile(filepath.Join(dir, prune.ReportJSON), append(b, '\n')); err != nil {
		return err
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "# Pruning report: %s on an encoder classifier\n\nModel %s. ", r.Method, r.Model)
	if r.Method == prune.MethodVTrans {
		fmt.Fprintf(&sb, "VTrans (arXiv 2406.05276), variant %s: VIB masks on heads, FFN neurons and layers trained for %d epoch(s), %d steps, β %g, "+
			"on %d examples of %s with cross-entropy and distillation to the unpruned classifier; the structures of lowest α = μ²/σ² removed.\n\n",
			r.Variant, r.Epochs, r.Steps, r.Beta, r.Examples[0], r.Data)
	} else {
		fmt.Fprintf(&sb, "Importance %s", r.Score)
		if r.Data != "" {
			fmt.Fprintf(&sb, " on %d examples of %s", r.Examples[0], r.Data)
		}
		sb.WriteString("; each kind's scores divided by their mean; the lowest removed, without retraining.\n\n")
	}
	fmt.Fprintf(&sb, "Kinds that may go: %s (an encoder's hidden dims stay). Budget: %.3f of the parameters; removed: %.3f. Pruning took %.1f s.\n\n",
		strings.Join(r.Kinds, ", "), r.Ratio, r.RemovedFraction, r.PruneS)
	k := r.Kept
	fmt.Fprintf(&sb, "| | unpruned | pruned |\n| --- | --- | --- |\n")
	fmt.Fprintf(&sb, "| test accuracy (%s, %d examples) | %.4f | %.4f |\n", r.Test, r.Examples[1], r.Accuracy[0], r.Accuracy[1])
	fmt.Fprintf(&sb, "| test cross-entropy (nats/example) | %.4f | %.4f |\n", r.Loss[0], r.Loss[1])
	fmt.Fprintf(&sb, "| parameters | %d | %d |\n| weights file (MB) | %.2f | %.2f |\n", r.Params[0], r.Params[1], float64(r.FileBytes[0])/1e6, float64(r.FileBytes[1])/1e6)
	fmt.Fprintf(&sb, "| layers | %d | %d |\n| attention heads | %d | %d |\n| FFN neurons | %d | %d |\n", k[0].Layers, k[1].Layers, k[0].Heads, k[1].Heads, k[0].Neurons, k[1].Neurons)
	if d, err := tensor.ParseDType(r.WeightsDType); err == nil {
		sb.WriteString("\n" + savedTypeSentence(d, r.Rounded))
	}
	return fsutil.WriteFile(filepath.Join(dir, prune.ReportMarkdown), []byte(sb.String()))
}
