package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/loomml/loom/data"
	"github.com/loomml/loom/internal/kernels"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/tokenizer"
	"github.com/loomml/loom/train"
)

func init() {
	var list []string
	for _, p := range train.Presets() {
		list = append(list, fmt.Sprintf("  %-11s %s", p.Name, p.Summary))
	}
	register("train", "Train a decoder language model from a preset or a spec file.\n\npresets:\n"+strings.Join(list, "\n"), runTrain)
}

// setThreads applies a --threads setting (0: all cores) to the kernels and
// the Go scheduler.
func setThreads(n int) error {
	if n < 0 {
		return fmt.Errorf("--threads is %d, want 0 (all cores) or a positive number", n)
	}
	if n == 0 {
		n = runtime.NumCPU()
	}
	runtime.GOMAXPROCS(n)
	kernels.SetThreads(n)
	return nil
}

// serverThreads is what --threads (already checked by setThreads) means for
// the commands that stream tokens (serve, chat, bench serve): the kernels
// run on n threads, and the Go scheduler keeps a processor more, so that the
// goroutines that write tokens to clients run while a forward pass is under
// way. With GOMAXPROCS equal to the kernel threads they ran only when the
// compute goroutine was next preempted: tokens went out in bursts every
// ~20 ms, and each request's first token waited for one.
func serverThreads(n int) {
	if n == 0 {
		n = runtime.NumCPU()
	}
	kernels.SetThreads(n)
	runtime.GOMAXPROCS(max(runtime.NumCPU(), n+1))
}

func runTrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("train", "--preset NAME | --config FILE [--data FILE] [--steps N] [--threads N] --out DIR", stderr)
	preset := fs.String("preset", "", "start from this preset (see the list above)")
	config := fs.String("config", "", "a spec JSON file with \"model\" (an HF config.json) and \"train\" objects, or a bare config.json (trained with the quickstart preset's settings)")
	dataPath := fs.String("data", "", "a UTF-8 text file to train on (default: the embedded tinyshakespeare)")
	steps := intFlag(fs, "steps", 0, "override the number of optimizer steps (default: the preset's or spec's)", atLeast(1))
	threads := intFlag(fs, "threads", 0, "threads for the kernels", atLeast(1), sp{0, "all cores"})
	out := fs.String("out", "", "output directory: data/, checkpoint/, metrics.jsonl, loss.png (required): a new or empty directory, or a run of its own to resume")
	resume := fs.Bool("resume", true, "continue from OUT/checkpoint when it exists")
	seed := int64Flag(fs, "seed", 0, "override the seed of model init and batch order (default: the preset's or spec's)", atLeast(0))
	tokName := fs.String("tokenizer", "", "use this tokenizer (a name or a tokenizer.json, e.g. from 'loom tokenizer train'); the model's vocabulary is sized to it")
	precision := precisionFlag(fs)
	initFrom := fs.String("init", "", "start from this model's weights (a model directory, a training run's directory or a .gguf file; e.g. a `loom grow` output): its config replaces the spec's model section; the training settings come from --preset/--config (default: the "+train.DefaultPreset+" preset's)")
	printSpec := fs.Bool("print-spec", false, "print the resolved spec as JSON (to start a --config file) and exit")
	progressEvery := progressEveryFlag(fs)
	ssa := ssaFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	given := givenFlags(fs)
	if *initFrom != "" && *preset == "" && *config == "" {
		*preset = train.DefaultPreset
	}
	spec, err := resolveSpec(*preset, *config)
	if err != nil {
		return err
	}
	var initModel *decoder.Model
	if *initFrom != "" {
		if *tokName != "" {
			return fmt.Errorf("--tokenizer: the model of --init has its own (%s)", cmp.Or(spec.Model.Loom.Tokenizer, "byte"))
		}
		l, err := loadModel("train", *initFrom, *threads, "", stderr)
		if err != nil {
			return fmt.Errorf("--init: %w", err)
		}
		initModel = l.Model
		spec.Model, spec.BareConfig = l.Model.Config, false
	}
	if given["steps"] {
		spec.Train.Steps = *steps
	}
	if given["seed"] {
		spec.Train.Seed = uint64(*seed)
	}
	if spec.BareConfig {
		t := spec.Train
		fmt.Fprintf(stderr, "%s is a model config.json without training settings: training it with the %s preset's settings and the flags given: %d steps, batch %d, sequence length %d, learning rate %g; --print-spec prints a {\"model\", \"train\"} spec to change them\n",
			*config, train.DefaultPreset, t.Steps, t.BatchSize, t.SeqLen, t.LR)
	}
	if *tokName != "" {
		tok, err := tokenizer.Load(*tokName, "")
		if err != nil {
			return fmt.Errorf("--tokenizer: %w", err)
		}
		spec.Model.Loom.Tokenizer, spec.Model.VocabSize = *tokName, tok.VocabSize()
	}
	if err := applyPrecision(spec.Model, *precision, given["precision"], stderr); err != nil {
		return err
	}
	applySSA(spec.Model, initModel, *ssa, given["ssa"])
	if err := spec.Validate(); err != nil {
		return fmt.Errorf("spec: %w", err)
	}
	if *printSpec {
		b, _ := json.MarshalIndent(spec, "", "  ")
		fmt.Fprintln(stdout, string(b))
		return nil
	}
	if *out == "" {
		fmt.Fprintln(stderr, "loom train: --out DIR is required")
		return errUsage
	}
	if err := checkTrainOut(*out); err != nil {
		return err
	}
	if *resume {
		what := fmt.Sprintf("--steps %d", *steps)
		switch {
		case given["steps"]:
		case *preset != "":
			what = fmt.Sprintf("--preset %s (%d steps)", *preset, spec.Train.Steps)
		default:
			what = fmt.Sprintf("--config %s (train.steps %d)", *config, spec.Train.Steps)
		}
		if done, err := checkResume(stdout, *out, spec.Train.Steps, what, "nothing to do"); done || err != nil {
			return err
		}
	}
	if err := setThreads(*threads); err != nil {
		return err
	}
	text, name, err := readCorpus(*dataPath)
	if err != nil {
		return err
	}
	if ph := spec.Model.Loom.PHM; ph != nil {
		in := spec.Model.HiddenSize
		fmt.Fprintf(stderr, "PHM projections (n = %d, %v): batches of %d tokens assemble W = Σ Aᵢ ⊗ Sᵢ once per step; decoding fewer than in_features/n rows at a time (%d for the projections that read the residual stream) uses the direct product, which skips assembling W\n",
			ph.N, ph.Layers, spec.Train.BatchSize*spec.Train.SeqLen, in/ph.N)
	}
	ctx, stop := interruptible(stderr)
	o, err := (&train.Job{Spec: spec, Text: text, OutDir: *out, Resume: *resume, Progress: stderr, Context: ctx, ProgressEvery: *progressEvery, Init: initModel,
		Meta: map[string]string{"preset": *preset, "config": *config, "init": *initFrom, "data": name}}).Run()
	stop() // a Ctrl-C from here on quits at once: the checkpoint is whole
	if err != nil {
		// Resuming needs the same command, except --resume=false.
		return interruptedRun(err, resumeCommand("train", args, func(a string) bool {
			return strings.HasPrefix(a, "-") && strings.HasPrefix(strings.TrimLeft(a, "-"), "resume=")
		}))
	}
	trained := fmt.Sprintf("trained %d steps", o.Steps)
	if o.Resumed {
		fmt.Fprintf(stdout, "resumed from %s at step %d\n", filepath.Join(*out, train.CheckpointDir), o.StartStep)
		trained = fmt.Sprintf("trained %d more steps (%d to %d)", o.Steps-o.StartStep, o.StartStep, o.Steps)
	}
	fmt.Fprintf(stdout, "%s in %s; validation: %.4f nats/token, perplexity %.3f, %.4f bits/byte over %d tokens\n",
		trained, o.Elapsed.Round(1e9), o.Val.Loss, o.Val.Perplexity, o.Val.BitsPerByte, o.Val.Tokens)
	fmt.Fprintf(stdout, "model: %s (load with loom generate --model %s)\n", filepath.Join(*out, train.CheckpointDir), *out)
	return nil
}

func resolveSpec(preset, config string) (*train.Spec, error) {
	switch {
	case preset != "" && config != "":
		return nil, fmt.Errorf("give --preset or --config, not both")
	case config != "":
		return train.LoadSpec(config)
	case preset != "":
		return train.LookupPreset(preset)
	}
	return nil, fmt.Errorf("give --preset NAME (one of %v) or --config FILE", train.PresetNames())
}

// readCorpus returns the text of path, or the embedded corpus when path is
// empty, with a name for the records.
func readCorpus(path string) ([]byte, string, error) {
	if path == "" {
		return data.TinyShakespeare(), "tinyshakespeare (embedded)", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	if len(b) == 0 {
		return nil, "", fmt.Errorf("%s is empty", path)
	}
	return b, path, nil
}
