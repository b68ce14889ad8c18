package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"

	"github.com/loomml/loom/models/encoder"
	"github.com/loomml/loom/train"
)

// evalEncoderFlags are the eval flags that apply to an encoder classifier.
var evalEncoderFlags = []string{"model", "data", "threads", "json"}

// encoderEval is the result of scoring an encoder classifier.
type encoderEval struct {
	Model    string       `json:"model"`
	Data     string       `json:"data"`
	Examples int          `json:"examples"`
	Accuracy float64      `json:"accuracy"`
	Loss     float64      `json:"loss"` // mean cross-entropy, nats per example
	Classes  []classScore `json:"classes"`
}

// classScore is one class's share of an evaluation.
type classScore struct {
	Label    string  `json:"label"`
	Examples int     `json:"examples"`
	Recall   float64 `json:"recall"` // fraction of its examples predicted as it
}

// runEvalEncoder is `loom eval` on an encoder classifier (a BERT or an
// AST with a classification head): accuracy, cross-entropy and per-class
// recall on a labelled set.
func runEvalEncoder(fs *flag.FlagSet, model, dataPath string, threads int, asJSON bool, stdout io.Writer) error {
	for f := range givenFlags(fs) {
		if !slices.Contains(evalEncoderFlags, f) {
			return fmt.Errorf("--%s applies to language models; --model %s is an encoder classifier (it takes --data, --threads and --json)", f, model)
		}
	}
	c, err := encoder.LoadConfig(model)
	if err != nil {
		return fmt.Errorf("--model: %w", err)
	}
	switch {
	case c.NumLabels() == 0:
		return fmt.Errorf("--model %s is a %s without a classification head: loom eval scores encoder classifiers (fine-tune one with loom finetune --task classify, then loom merge)", model, c.Architecture())
	case c.Regression():
		return fmt.Errorf("--model %s has a regression head (problem_type regression): loom eval scores classifiers", model)
	case dataPath == "":
		return fmt.Errorf("--data is required for an encoder classifier: a CSV file with text and label columns (a BERT) or a directory of class folders of WAV files (an AST)")
	}
	if err := setThreads(threads); err != nil {
		return err
	}
	in, err := newClassInput("--model", model, c, 0)
	if err != nil {
		return err
	}
	classes := c.Labels()
	ex, err := in.read("--data", dataPath, classes)
	if err != nil {
		return err
	}
	if ex.Len() == 0 {
		return fmt.Errorf("--data %s: no examples", dataPath)
	}
	m, err := encoder.Load(model)
	if err != nil {
		return fmt.Errorf("--model: %w", err)
	}
	r := scoreClassifier(m, ex, classes)
	r.Model, r.Data = model, dataPath
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	fmt.Fprintf(stdout, "accuracy %.2f %%, loss %.4f nats/example over %d examples\n", 100*r.Accuracy, r.Loss, r.Examples)
	for _, s := range r.Classes {
		fmt.Fprintf(stdout, "  %-16s recall %6.2f %% of %d\n", s.Label, 100*s.Recall, s.Examples)
	}
	return nil
}

// scoreClassifier scores m on ex, whose labels index classes.
func scoreClassifier(m *encoder.Model, ex train.Labelled[encoder.Batch], classes []string) encoderEval {
	sc := train.Score[encoder.Batch](encClassifierCLI{m}, ex, 64)
	r := encoderEval{Examples: sc.Examples, Accuracy: sc.Accuracy, Loss: sc.Loss, Classes: make([]classScore, len(classes))}
	for i, l := range classes {
		r.Classes[i].Label = l
		if i < len(sc.Count) && sc.Count[i] > 0 {
			r.Classes[i].Examples = sc.Count[i]
			r.Classes[i].Recall = float64(sc.Right[i]) / float64(sc.Count[i])
		}
	}
	return r
}
