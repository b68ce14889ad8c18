package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/loomml/loom/data"
	"github.com/loomml/loom/eval"
	"github.com/loomml/loom/petl"
	"github.com/loomml/loom/train"
)

func init() {
	register("finetune", "Fine-tune a model with a parameter-efficient method (LoRA, bottleneck, conformer or SNNK adapters, prompts, prefixes, BitFit), a linear probe or fully: a language model on text, an encoder on labelled text or audio.", runFinetune)
}

func runFinetune(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("finetune", "--model PATH --method lora|houlsby|pfeiffer|conformer|snnk|prompt|prefix|bitfit|linear|full [--task lm|classify] --data FILE [--eval FILE] --out DIR [--steps N] [--rank R] [--bottleneck B] [--adapter-mode seq|par] [--features M]", stderr)
	model := fs.String("model", "", "the model to adapt: a training run's directory, a model directory or a .gguf file; for --task classify an encoder directory (BERT or AST config.json) (required)")
	method := choice(fs, "method", "lora", "lora: low-rank updates of --targets (PEFT layout); houlsby: bottleneck adapters after attention and FFN; pfeiffer: after the FFN only; conformer: PETL-AST's convolution adapter beside/after the FFN; snnk: ReLU-SNNK adapters after the FFN, the down-projection replaced by --features random features (arXiv 2310.13225); prompt: --tokens deep prompts per layer (encoders); prefix: --tokens key/value prefixes per layer; bitfit: biases only; linear: the output head only (a linear probe; a tied head trains the embedding with it); full: every parameter", petl.Methods...)
	task := choice(fs, "task", "lm", "lm: next-token prediction on a text file (decoders); classify: labels of texts or clips (encoders, with a new task head that trains with every method)", "lm", "classify")
	dataPath := fs.String("data", "", "lm: a UTF-8 text file, its last 10% held out; classify: a CSV file with text and label columns (BERT) or a directory of class folders of WAV files (AST) (required)")
	evalPath := fs.String("eval", "", "classify: held-out examples in --data's form (default: 10% of --data, stratified)")
	tokens := intFlag(fs, "tokens", 16, "prompt and prefix tuning: tokens per layer", atLeast(1))
	kernel := intFlag(fs, "kernel", 31, "conformer adapter: depthwise convolution kernel (odd)", atLeast(1))
	out := fs.String("out", "", "output directory: data/, checkpoint/, metrics.jsonl, loss.png and adapter/ (required; new or empty)")
	steps := intFlag(fs, "steps", 200, "optimizer steps", atLeast(1))
	batch := intFlag(fs, "batch", 8, "sequences per step", atLeast(1))
	seqLen := intFlag(fs, "seq-len", 0, "tokens per sequence", atLeast(2), sp{0, "the model's context, at most 128"})
	lr := floatFlag(fs, "lr", 1e-3, "peak learning rate (warmup then cosine to a tenth)", above(0))
	seed := fs.Uint64("seed", 1, "seed of the injected parameters and the batch order")
	rank := intFlag(fs, "rank", 8, "LoRA rank", atLeast(1))
	alpha := floatFlag(fs, "alpha", 16, "LoRA alpha (the update is scaled by alpha/rank)", above(0))
	targets := fs.String("targets", "q_proj,v_proj", "LoRA target modules, by the last part of their names (encoders: query,value)")
	bottleneck := intFlag(fs, "bottleneck", 16, "adapter bottleneck width", atLeast(1), sp{0, "snnk only: the official GLUE adapter, a modulating vector instead of an up-projection"})
	features := intFlag(fs, "features", 16, "SNNK adapter: random features m (the down-projection has bottleneck × m parameters)", atLeast(1))
	orthogonal := fs.Bool("orthogonal", false, "SNNK adapter: block-orthogonal random projections instead of iid Gaussian ones")
	mode := choice(fs, "adapter-mode", "seq", "adapters after their sublayer (seq) or beside it on its input (par)", "seq", "par")
	trainNorms := fs.Bool("train-norms", false, "also train the norms' gains (and biases), as PETL-AST's code does for every method; they are counted apart")
	threads := intFlag(fs, "threads", 0, "threads", atLeast(1), sp{0, "all cores"})
	if err := parse(fs, args); err != nil {
		return err
	}
	if *model == "" || *dataPath == "" || *out == "" {
		fmt.Fprintln(stderr, "loom finetune: --model, --data and --out are required")
		fs.Usage()
		return errUsage
	}
	spec := petl.Spec{Method: *method, Rank: *rank, Alpha: *alpha, Bottleneck: *bottleneck, Parallel: *mode == "par", Kernel: *kernel, Tokens: *tokens}
	if *method == "snnk" {
		spec.Features, spec.Orthogonal, spec.FeatureSeed = *features, *orthogonal, *seed
	}
	if *method == "lora" {
		spec.Targets = strings.Split(*targets, ",")
	}
	if err := checkOut(*out, true, false, source{"--model", *model}); err != nil {
		return err
	}
	if kind, _ := modelKind(*model); kind == kindEncoder || *task == "classify" {
		if kind != kindEncoder {
			return fmt.Errorf("--task classify: %s is not an encoder (a BERT or AST directory with config.json)", *model)
		}
		if *task != "classify" {
			return fmt.Errorf("--task %s: %s is an encoder; it fine-tunes with --task classify", *task, *model)
		}
		if !flagSet(fs, "targets") && *method == "lora" {
			spec.Targets = []string{"query", "value"} // BERT's and AST's names (PEFT's default for them)
		}
		if err := setThreads(*threads); err != nil {
			return err
		}
		return runFinetuneEncoder(encoderJob{model: *model, data: *dataPath, eval: *evalPath, out: *out, spec: spec,
			steps: *steps, batch: *batch, lr: *lr, seed: *seed, trainNorms: *trainNorms}, stdout, stderr)
	}
	if *evalPath != "" {
		return fmt.Errorf("--eval: --task lm holds out the last 10%% of --data; --eval is for --task classify")
	}
	text, err := os.ReadFile(*dataPath)
	if err != nil {
		return fmt.Errorf("--data: %w", err)
	}
	l, err := loadModel("finetune", *model, *threads, "", stderr)
	if err != nil {
		return err
	}
	m := l.Model
	T := *seqLen
	if T == 0 {
		T = min(128, m.MaxPositions())
	}
	if T > m.MaxPositions() {
		return fmt.Errorf("--seq-len %d: the model has %d positions", T, m.MaxPositions())
	}
	spec.Causal = true // a conformer adapter in a decoder sees no later token
	if err := spec.Apply(m, m.Config.HiddenSize, *seed); err != nil {
		return err
	}
	// Until training starts, a failure leaves nothing behind.
	keep, release := guardOut(*out)
	defer release()
	norms := 0
	if *trainNorms {
		norms = petl.TrainNorms(m)
		spec.TrainNorms = true // saved with the adapter
	}
	total, trainable := 0, 0
	for _, p := range m.Params() {
		total += p.Value.Numel()
		if !p.Frozen() {
			trainable += p.Value.Numel()
		}
	}
	normNote := "norms frozen"
	if *trainNorms {
		normNote = fmt.Sprintf("%d of them in norms", norms)
	}
	fmt.Fprintf(stdout, "%s: %d trainable parameters of %d (%.2f %%; %s)\n", *method, trainable, total, 100*float64(trainable)/float64(total), normNote)
	trainPath, valPath, err := data.Prepare(text, l.Tok, 0.1, filepath.Join(*out, "data"))
	if err != nil {
		return fmt.Errorf("--data %s: %w", *dataPath, err)
	}
	trainShard, err := data.OpenShard(trainPath)
	if err != nil {
		return err
	}
	defer trainShard.Close()
	valShard, err := data.OpenShard(valPath)
	if err != nil {
		return err
	}
	defer valShard.Close()
	if trainShard.Len() < T+1 || valShard.Len() < T+1 {
		return fmt.Errorf("--data %s: %d training and %d held-out tokens, fewer than one window of %d (give more text or a smaller --seq-len)", *dataPath, trainShard.Len(), valShard.Len(), T+1)
	}
	sampler, err := data.NewSampler(trainShard, *batch, T, *seed)
	if err != nil {
		return err
	}
	score := func() (float64, error) {
		r, err := eval.Shard(m, valShard, l.Tok, eval.Options{SeqLen: T, Stride: T})
		return r.Loss, err
	}
	before, err := score()
	if err != nil {
		return err
	}
	h := train.Hyper{Steps: *steps, BatchSize: *batch, SeqLen: T, LR: *lr, Warmup: max(1, *steps/20), MinLRFactor: 0.1,
		Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Clip: 1}
	loop := &train.Loop[data.Batch]{Model: m, Data: sampler, Hyper: h, OutDir: *out, Progress: stderr,
		Meta: map[string]string{"model": *model, "method": *method, "data": *dataPath}}
	keep()
	if err := loop.Train(); err != nil {
		return err
	}
	after, err := score()
	if err != nil {
		return err
	}
	adapter := filepath.Join(*out, "adapter")
	if err := petl.SaveAdapter(adapter, m, spec, *model); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "held-out loss %.4f → %.4f after %d steps; adapter: %s\n", before, after, *steps, adapter)
	return nil
}
