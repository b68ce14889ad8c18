package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/loomml/loom/data"
	"github.com/loomml/loom/distill"
	"github.com/loomml/loom/eval"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/train"
)

func init() {
	register("distill", "Distil a teacher into a student (a config to build, or a model to start from): KL at temperature T on the logits (Hinton et al., arXiv 1503.02531), optional hidden-state matching through a layer map (TinyBERT, arXiv 1909.10351) and the data's cross-entropy: a decoder on any text, or (--task classify) an encoder classifier on labelled examples.", runDistill)
}

func runDistill(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("distill", "--teacher PATH --student CONFIG.json|PATH --out DIR [--data FILE] [flags]\n       loom distill --task classify --teacher ENCODER --student CONFIG.json|ENCODER --data TRAIN [--eval TEST] --out DIR [flags]", stderr)
	task := choice(fs, "task", "lm", "lm: a decoder on text; classify: an encoder classifier (BERT or AST) on labelled examples, its class logits distilled", "lm", "classify")
	teacherPath := fs.String("teacher", "", "the teacher: a training run's directory, a model directory or a .gguf file; with --task classify an encoder classifier's directory (required)")
	studentPath := fs.String("student", "", "the student: a config.json to build at random (its vocab_size must be the teacher's, or 0 to take it; with --task classify its keys override the teacher's config, labels and inputs the teacher's) or a model to start from (required)")
	dataPath := fs.String("data", "", "a UTF-8 text file: its first 90% of tokens train, the last 10% score the held-out loss (default: the embedded tinyshakespeare); with --task classify the training examples: a CSV file of text,label rows (BERT) or class folders of WAV files (AST) (required)")
	evalPath := fs.String("eval", "", "--task classify: the held-out examples scored for accuracy (default: 10 % of --data per class, held out)")
	out := fs.String("out", "", "output directory: checkpoint/ (the student, loadable by every command), metrics.jsonl, loss.png (required; new or empty)")
	steps := intFlag(fs, "steps", 300, "optimizer steps", atLeast(1))
	batch := intFlag(fs, "batch", 16, "windows (--task classify: examples) per step", atLeast(1))
	seqLen := intFlag(fs, "seq-len", 0, "tokens per window (--task lm)", atLeast(2), sp{0, "the smaller context of the two models, at most 128"})
	lr := floatFlag(fs, "lr", 1e-3, "peak learning rate (AdamW, warmup steps/10, cosine to 0.1×)", above(0))
	temp := floatFlag(fs, "temperature", 2, "softmax temperature τ of the KL term (weighted τ²)", above(0))
	kl := floatFlag(fs, "kl", 1, "weight of the KL term", atLeast(0))
	ce := floatFlag(fs, "ce", 0, "weight of the data's cross-entropy (next tokens; with --task classify the labels)", atLeast(0))
	hidden := floatFlag(fs, "hidden", 0, "weight of the hidden-state MSE (needs the same width)", atLeast(0))
	layerMap := fs.String("layers", "", "hidden-state layer map student:teacher,… (e.g. 0:1,1:3), or all (same depth, layer i to i) (default: all)")
	seed := fs.Uint64("seed", 0, "seed of a config student's initialisation and of the batch order")
	threads := intFlag(fs, "threads", 0, "threads", atLeast(1), sp{0, "all cores"})
	evalTokens := intFlag(fs, "eval-tokens", 20000, "score at most about this many held-out tokens (--task lm)", atLeast(1))
	if err := parse(fs, args); err != nil {
		return err
	}
	if *teacherPath == "" || *studentPath == "" || *out == "" {
		fmt.Fprintln(stderr, "loom distill: --teacher, --student and --out are required")
		fs.Usage()
		return errUsage
	}
	if *kl+*ce+*hidden == 0 {
		return fmt.Errorf("--kl, --ce and --hidden are all 0: give one a positive weight")
	}
	if *layerMap != "" && *hidden == 0 {
		return fmt.Errorf("--layers maps hidden states; give --hidden a positive weight")
	}
	if *task == "lm" && *evalPath != "" {
		return fmt.Errorf("--eval is for --task classify; --task lm holds out the last 10 %% of --data")
	}
	if *task == "classify" && *dataPath == "" {
		return fmt.Errorf("--task classify needs --data (the labelled training examples)")
	}
	if err := refuseOutInModel(*teacherPath, *out); err != nil {
		return err
	}
	if err := checkOut(*out, true, false, source{"--teacher", *teacherPath}, source{"--student", *studentPath}, source{"--data", *dataPath}, source{"--eval", *evalPath}); err != nil {
		return err
	}
	if *task == "classify" {
		cfg := distill.Config{CE: *ce, KL: *kl, Hidden: *hidden, Temperature: *temp}
		var err error
		if cfg.Layers, cfg.TeacherLayers, err = parseLayerMap(*layerMap); err != nil {
			return err
		}
		if err := setThreads(*threads); err != nil {
			return err
		}
		return runDistillClassify(distillClassify{teacher: *teacherPath, student: *studentPath, data: *dataPath, eval: *evalPath, out: *out,
			cfg: cfg, steps: *steps, batch: *batch, lr: *lr, seed: *seed}, stdout, stderr)
	}
	tl, err := loadModel("distill", *teacherPath, *threads, "", stderr)
	if err != nil {
		return fmt.Errorf("--teacher: %w", err)
	}
	teacher, tok := tl.Model, tl.Tok
	student, err := loadStudent(*studentPath, teacher, *threads, *seed, stderr)
	if err != nil {
		return err
	}
	cfg := distill.Config{CE: *ce, KL: *kl, Hidden: *hidden, Temperature: *temp}
	if cfg.Layers, cfg.TeacherLayers, err = parseLayerMap(*layerMap); err != nil {
		return err
	}
	d, err := distill.New(student, teacher, cfg)
	if err != nil {
		return fmt.Errorf("--student %s: %w", *studentPath, err)
	}
	text, name, err := readCorpus(*dataPath)
	if err != nil {
		return fmt.Errorf("--data: %w", err)
	}
	ids := tok.Encode(string(text))
	nTrain := data.TrainTokens(len(ids), 0.1)
	trainIDs, held := ids[:nTrain], ids[nTrain:]
	T := *seqLen
	if T == 0 {
		T = min(128, teacher.MaxPositions(), student.MaxPositions())
	}
	if T > student.MaxPositions() || T > teacher.MaxPositions() {
		return fmt.Errorf("--seq-len %d exceeds a model's context (teacher %d, student %d)", T, teacher.MaxPositions(), student.MaxPositions())
	}
	if len(trainIDs) < T+1 || len(held) < 2 {
		return fmt.Errorf("--data %s: %d tokens, too few for a training window of %d and a held-out split", name, len(ids), T+1)
	}
	eo := eval.Options{SeqLen: T, MaxTokens: *evalTokens}
	score := func(m *decoder.Model) (float64, error) {
		r, err := eval.Tokens(m, held, tok, eo)
		return r.Loss, err
	}
	tLoss, err := score(teacher)
	if err != nil {
		return err
	}
	sLoss, err := score(student)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "held-out loss: teacher %.4f, student before %.4f (%d of the teacher's %d parameters)\n", tLoss, sLoss, countParams(student), countParams(teacher))
	h := train.Hyper{Steps: *steps, BatchSize: *batch, SeqLen: T, LR: *lr, Warmup: max(1, *steps/10), MinLRFactor: 0.1,
		Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, Clip: 1, WeightDecay: 0.1}
	ctx, stop := interruptible(stderr)
	loop := &train.Loop[data.Batch]{Model: d, Data: data.NewMemSampler(trainIDs, *batch, T, *seed), Hyper: h, Progress: stderr,
		OutDir: *out, Context: ctx, EvalEvery: max(1, *steps/5),
		Validate:  func() (float64, error) { return score(student) },
		SaveModel: func(dir string) error { return saveDerived(student, tl, dir) },
		Meta: map[string]string{"teacher": *teacherPath, "student": *studentPath, "data": name,
			"kl": fmt.Sprint(*kl), "ce": fmt.Sprint(*ce), "hidden": fmt.Sprint(*hidden), "temperature": fmt.Sprint(*temp), "layers": *layerMap}}
	err = loop.Train()
	stop()
	if err != nil {
		return err
	}
	after, err := score(student)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "distilled %d steps: held-out loss %.4f → %.4f (teacher %.4f) on %s\n", *steps, sLoss, after, tLoss, name)
	fmt.Fprintf(stdout, "model: %s (load with loom generate --model %s)\n", filepath.Join(*out, train.CheckpointDir), *out)
	return nil
}

// loadStudent builds the student of a config.json (initialised with seed,
// the teacher's tokenizer) or loads a model to start from.
func loadStudent(path string, teacher *decoder.Model, threads int, seed uint64, stderr io.Writer) (*decoder.Model, error) {
	if st, err := os.Stat(path); err == nil && !st.IsDir() && strings.HasSuffix(path, ".json") {
		c, err := decoder.LoadConfig(path)
		if err != nil {
			return nil, fmt.Errorf("--student: %w", err)
		}
		if c.VocabSize == 0 {
			c.VocabSize = teacher.Config.VocabSize
		}
		if c.VocabSize != teacher.Config.VocabSize {
			return nil, fmt.Errorf("--student %s: vocab_size %d differs from the teacher's %d; a student must share the teacher's vocabulary", path, c.VocabSize, teacher.Config.VocabSize)
		}
		c.Loom.Tokenizer = teacher.Config.Loom.Tokenizer
		m, err := decoder.New(c, seed)
		if err != nil {
			return nil, fmt.Errorf("--student %s: %w", path, err)
		}
		return m, nil
	}
	l, err := loadModel("distill", path, threads, "", stderr)
	if err != nil {
		return nil, fmt.Errorf("--student: %w", err)
	}
	if l.Model.Config.VocabSize != teacher.Config.VocabSize {
		return nil, fmt.Errorf("--student %s: vocabulary of %d differs from the teacher's %d; a student must share the teacher's vocabulary", path, l.Model.Config.VocabSize, teacher.Config.VocabSize)
	}
	return l.Model, nil
}

// parseLayerMap reads --layers: "" or all (nil maps), or student:teacher
// pairs separated by commas.
func parseLayerMap(s string) (student, teacher []int, err error) {
	if s == "" || s == "all" {
		return nil, nil, nil
	}
	for _, f := range strings.Split(s, ",") {
		a, b, ok := strings.Cut(strings.TrimSpace(f), ":")
		i, err1 := strconv.Atoi(a)
		j, err2 := strconv.Atoi(b)
		if !ok || err1 != nil || err2 != nil {
			return nil, nil, fmt.Errorf("--layers %q: want student:teacher layer pairs separated by commas (e.g. 0:1,1:3), or all", s)
		}
		student, teacher = append(student, i), append(teacher, j)
	}
	return student, teacher, nil
}

func countParams(m *decoder.Model) int64 {
	var n int64
	for _, p := range m.Params() {
		n += int64(p.Value.Numel())
	}
	return n
}
