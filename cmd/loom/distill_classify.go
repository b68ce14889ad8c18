package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/data/labeled"
	"github.com/loomml/loom/distill"
	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/models/encoder"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/train"
)

// distillClassify is `loom distill --task classify`: an encoder classifier
// (a BERT on a CSV file of text,label rows, an AST on class folders of WAV
// files) distilled into a student encoder with the same labels
// (distill.Classifier).
type distillClassify struct {
	teacher, student, data, eval, out string
	cfg                               distill.Config
	steps, batch                      int
	lr                                float64
	seed                              uint64
}

// tokenizerFiles are the files a BERT directory's tokenizer may use.
var tokenizerFiles = []string{"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"}

func runDistillClassify(j distillClassify, stdout, stderr io.Writer) error {
	tc, err := encoder.LoadConfig(j.teacher)
	if err != nil {
		return fmt.Errorf("--teacher: --task classify distils an encoder classifier (a directory with a BERT's or an AST's config.json): %w", err)
	}
	switch {
	case tc.NumLabels() == 0:
		return fmt.Errorf("--teacher %s is a %s: --task classify needs a classifier (fine-tune it with loom finetune --task classify, then loom merge)", j.teacher, tc.Architecture())
	case tc.Regression():
		return fmt.Errorf("--teacher %s has a regression head: --task classify needs classes", j.teacher)
	}
	teacher, err := encoder.Load(j.teacher)
	if err != nil {
		return fmt.Errorf("--teacher: %w", err)
	}
	student, err := loadClassStudent(j.student, tc, j.seed)
	if err != nil {
		return err
	}
	d, err := distill.NewClassifier(student, teacher, j.cfg)
	if err != nil {
		return fmt.Errorf("--student %s: %w", j.student, err)
	}
	classes := tc.Labels()
	T := tc.MaxPositionEmbeddings
	if tc.ModelType == encoder.TypeAST {
		sc := student.Config
		if sc.MaxLength != tc.MaxLength || sc.NumMelBins != tc.NumMelBins {
			return fmt.Errorf("--student %s: %d frames of %d mel bins, the teacher's %d of %d: both must read the same clips", j.student, sc.MaxLength, sc.NumMelBins, tc.MaxLength, tc.NumMelBins)
		}
		student.Config.Loom.FeatureMean, student.Config.Loom.FeatureStd = tc.Loom.FeatureMean, tc.Loom.FeatureStd
	} else {
		T = min(T, student.Config.MaxPositionEmbeddings)
	}
	in, err := newClassInput("--teacher", j.teacher, tc, T)
	if err != nil {
		return err
	}
	tr, err := labeled.Read(j.data)
	if err != nil {
		return fmt.Errorf("--data: %w", err)
	}
	evalFlag, evalPath := "--eval", j.eval
	var te *labeled.Set
	if j.eval != "" {
		if te, err = labeled.Read(j.eval); err != nil {
			return fmt.Errorf("--eval: %w", err)
		}
	} else if tr, te = tr.Split(0.1, j.seed); len(te.Items) == 0 {
		return fmt.Errorf("--data %s: too few examples to hold out 10 %% of a class (%d); give held-out examples with --eval", j.data, len(tr.Items))
	} else {
		evalFlag, evalPath = "--data", j.data
	}
	trEx, err := in.examples("--data", j.data, tr, classes)
	if err != nil {
		return err
	}
	teEx, err := in.examples(evalFlag, evalPath, te, classes)
	if err != nil {
		return err
	}
	acc := func(m *encoder.Model) float64 { return train.Accuracy[encoder.Batch](encClassifierCLI{m}, teEx, 64) }
	tAcc, sAcc := acc(teacher), acc(student)
	nt, ns := autograd.NumParams(teacher.Params()), autograd.NumParams(student.Params())
	fmt.Fprintf(stderr, "held-out accuracy: teacher %.2f %%, student before %.2f %% (%d of the teacher's %d parameters, %.1f %%)\n",
		100*tAcc, 100*sAcc, ns, nt, 100*float64(ns)/float64(nt))
	keep, release := guardOut(j.out)
	defer release()
	loop := &train.Loop[encoder.Batch]{Model: d, Data: train.NewEpochSampler[encoder.Batch](trEx, j.batch, j.seed),
		Hyper: train.FineTuneHyper(j.steps, j.batch, j.lr, 0.01), OutDir: j.out, Progress: stderr, RNG: tensor.NewRNG(j.seed + 1),
		StepsPerEpoch: max(1, trEx.Len()/j.batch), EvalEvery: max(1, j.steps/5),
		Validate:  func() (float64, error) { return heldOutCE(student, teEx), nil },
		SaveModel: func(dir string) error { return encoder.Save(student, dir) },
		SaveExtra: func(dir string) error { return copyFiles(j.teacher, dir, tokenizerFiles) },
		Meta: map[string]string{"task": "classify", "teacher": j.teacher, "student": j.student, "data": j.data, "eval": j.eval,
			"kl": fmt.Sprint(j.cfg.KL), "ce": fmt.Sprint(j.cfg.CE), "hidden": fmt.Sprint(j.cfg.Hidden), "temperature": fmt.Sprint(j.cfg.Temperature)}}
	ctx, stop := interruptible(stderr)
	loop.Context = ctx
	keep()
	err = loop.Train()
	stop()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "distilled %d steps: held-out accuracy %.2f %% → %.2f %% (teacher %.2f %%; %d examples), student %d parameters (%.1f %% of the teacher's)\n",
		j.steps, 100*sAcc, 100*acc(student), 100*tAcc, teEx.Len(), ns, 100*float64(ns)/float64(nt))
	fmt.Fprintf(stdout, "model: %s (an encoder directory: loom finetune, prune and distill read it)\n", filepath.Join(j.out, train.CheckpointDir))
	return nil
}

// loadClassStudent builds the student of a config.json — its keys over
// the teacher's config, so that a file of sizes alone
// ({"num_hidden_layers": 2}) is a whole config; labels, vocabulary and
// inputs are the teacher's — initialised with seed, or loads an encoder
// directory.
func loadClassStudent(path string, tc *encoder.Config, seed uint64) (*encoder.Model, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("--student: %w", err)
	}
	if st.IsDir() {
		m, err := encoder.Load(path)
		if err != nil {
			return nil, fmt.Errorf("--student: %w", err)
		}
		return m, nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--student: %w", err)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		return nil, fmt.Errorf("--student %s: %w", path, err)
	}
	var over encoder.Config
	if err := json.Unmarshal(raw, &over); err != nil {
		return nil, fmt.Errorf("--student %s: %w", path, err)
	}
	if _, ok := keys["model_type"]; ok && over.ModelType != tc.ModelType {
		return nil, fmt.Errorf("--student %s: model_type %q, the teacher's is %q", path, over.ModelType, tc.ModelType)
	}
	if over.VocabSize != 0 && over.VocabSize != tc.VocabSize {
		return nil, fmt.Errorf("--student %s: vocab_size %d differs from the teacher's %d; a student must share the teacher's vocabulary", path, over.VocabSize, tc.VocabSize)
	}
	if _, ok := keys["id2label"]; ok {
		if over.NumLabels() != tc.NumLabels() {
			return nil, fmt.Errorf("--student %s: %d labels, the teacher's %d; a student must have the teacher's label set", path, over.NumLabels(), tc.NumLabels())
		}
		if sl, tl := over.Labels(), tc.Labels(); !slices.Equal(sl, tl) {
			return nil, fmt.Errorf("--student %s: labels %q, the teacher's %q (the same labels in the same order, or leave id2label out)", path, sl, tl)
		}
	}
	if v, ok := keys["num_labels"]; ok {
		var n int
		if json.Unmarshal(v, &n) != nil || n != tc.NumLabels() {
			return nil, fmt.Errorf("--student %s: num_labels %s, the teacher's %d; a student must have the teacher's label set", path, v, tc.NumLabels())
		}
	}
	for _, k := range []string{"architectures", "problem_type"} {
		if v, ok := keys[k]; ok {
			return nil, fmt.Errorf("--student %s: %s %s: the student's task is the teacher's (leave the key out)", path, k, v)
		}
	}
	var merged map[string]json.RawMessage
	if err := json.Unmarshal(tc.JSON(), &merged); err != nil {
		return nil, err
	}
	delete(merged, "loom") // the teacher's removed sublayers are not the student's
	for k, v := range keys {
		merged[k] = v
	}
	for _, k := range []string{"architectures", "id2label", "label2id", "num_labels", "problem_type"} {
		delete(merged, k) // set from the teacher below
	}
	b, err := json.Marshal(merged)
	if err != nil {
		return nil, err
	}
	c, err := encoder.ParseConfig(path, b)
	if err != nil {
		return nil, fmt.Errorf("--student: %w", err)
	}
	c.Architectures = []string{tc.Architecture()}
	c.SetLabels(tc.Labels())
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("--student %s: %w", path, err)
	}
	m, err := encoder.New(c, seed)
	if err != nil {
		return nil, fmt.Errorf("--student %s: %w", path, err)
	}
	return m, nil
}

// copyFiles copies the named files of directory from that exist into dir.
func copyFiles(from, dir string, names []string) error {
	for _, f := range names {
		b, err := os.ReadFile(filepath.Join(from, f))
		if err != nil {
			continue
		}
		if err := fsutil.WriteFile(filepath.Join(dir, f), b); err != nil {
			return err
		}
	}
	return nil
}

// heldOutCE is m's mean cross-entropy on ex (nats per example).
func heldOutCE(m *encoder.Model, ex train.Labelled[encoder.Batch]) float64 {
	return scoreClassifier(m, ex, m.Config.Labels()).Loss
}
