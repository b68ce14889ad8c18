package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/data"
	"github.com/loomml/loom/eval"
	"github.com/loomml/loom/format/safetensors"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/petl"
	"github.com/loomml/loom/train"
)

func init() {
	register("finetune", "Fine-tune a language model with a parameter-efficient method (LoRA, bottleneck adapters, BitFit) or fully, on a text file.", runFinetune)
}

// finetuneMethods are --method's values.
var finetuneMethods = []string{"lora", "houlsby", "pfeiffer", "bitfit", "linear", "full"}

func runFinetune(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("finetune", "--model PATH --method lora|houlsby|pfeiffer|bitfit|linear|full --data FILE --out DIR [--steps N] [--rank R] [--bottleneck B] [--adapter-mode seq|par]", stderr)
	model := fs.String("model", "", "the model to adapt: a training run's directory, a model directory or a .gguf file (required)")
	method := choice(fs, "method", "lora", "lora: low-rank updates of --targets (PEFT layout); houlsby: bottleneck adapters after attention and FFN; pfeiffer: after the FFN only; bitfit: biases only; linear: the output head only (a linear probe; a tied head trains the embedding with it); full: every parameter", finetuneMethods...)
	dataPath := fs.String("data", "", "a UTF-8 text file to fine-tune on; its last 10% is held out (required)")
	out := fs.String("out", "", "output directory: data/, checkpoint/, metrics.jsonl, loss.png and adapter/ (required; new or empty)")
	steps := intFlag(fs, "steps", 200, "optimizer steps", atLeast(1))
	batch := intFlag(fs, "batch", 8, "sequences per step", atLeast(1))
	seqLen := intFlag(fs, "seq-len", 0, "tokens per sequence", atLeast(2), sp{0, "the model's context, at most 128"})
	lr := floatFlag(fs, "lr", 1e-3, "peak learning rate (warmup then cosine to a tenth)", above(0))
	seed := fs.Uint64("seed", 1, "seed of the injected parameters and the batch order")
	rank := intFlag(fs, "rank", 8, "LoRA rank", atLeast(1))
	alpha := floatFlag(fs, "alpha", 16, "LoRA alpha (the update is scaled by alpha/rank)", above(0))
	targets := fs.String("targets", "q_proj,v_proj", "LoRA target modules, by the last part of their names")
	bottleneck := intFlag(fs, "bottleneck", 16, "adapter bottleneck width", atLeast(1))
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
	if *trainNorms && *method == "lora" {
		return fmt.Errorf("--train-norms with --method lora: the PEFT adapter would not hold the trained norms (PEFT's modules_to_save is not written yet); use --train-norms with houlsby, pfeiffer, bitfit or linear")
	}
	if err := checkOut(*out, true, false, source{"--model", *model}); err != nil {
		return err
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
	if err := applyMethod(m, *method, *rank, *alpha, *targets, *bottleneck, *mode == "par", *seed); err != nil {
		return err
	}
	// Until training starts, a failure leaves nothing behind.
	_, statErr := os.Stat(*out)
	created, started := os.IsNotExist(statErr), false
	defer func() {
		if !started && created {
			os.RemoveAll(*out)
		}
	}()
	norms := 0
	if *trainNorms {
		// A norm's gain has the norm role; a LayerNorm's bias sits beside it.
		gains := map[string]bool{}
		for _, p := range m.Params() {
			if p.Role == autograd.RoleNorm {
				gains[strings.TrimSuffix(p.Name, ".weight")] = true
			}
		}
		for _, p := range m.Params() {
			isNorm := p.Role == autograd.RoleNorm || p.Role == autograd.RoleBias && gains[strings.TrimSuffix(p.Name, ".bias")]
			if isNorm && p.Frozen() {
				p.SetRequiresGrad(true)
				norms += p.Value.Numel()
			}
		}
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
	started = true
	if err := loop.Train(); err != nil {
		return err
	}
	after, err := score()
	if err != nil {
		return err
	}
	adapter := filepath.Join(*out, "adapter")
	if err := saveAdapter(adapter, m, *method, *model); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "held-out loss %.4f → %.4f after %d steps; adapter: %s\n", before, after, *steps, adapter)
	return nil
}

// applyMethod freezes what the method does not train and injects its
// modules.
func applyMethod(m *decoder.Model, method string, rank int, alpha float64, targets string, bottleneck int, parallel bool, seed uint64) error {
	switch method {
	case "lora":
		_, err := petl.Apply(m, petl.LoRAConfig{Rank: rank, Alpha: alpha, Targets: strings.Split(targets, ",")}, seed)
		if err != nil {
			return fmt.Errorf("--method lora: %w", err)
		}
	case "houlsby", "pfeiffer":
		_, err := petl.ApplyAdapters(m, m.Config.HiddenSize, petl.AdapterConfig{Bottleneck: bottleneck, Parallel: parallel, Attention: method == "houlsby"}, seed)
		if err != nil {
			return fmt.Errorf("--method %s: %w", method, err)
		}
	case "bitfit":
		nn.Freeze(m)
		n := 0
		for _, p := range m.Params() {
			if p.Role == autograd.RoleBias {
				p.SetRequiresGrad(true)
				n++
			}
		}
		if n == 0 {
			return fmt.Errorf("--method bitfit: the model has no bias parameters (Llama-style models have none); choose another method")
		}
	case "linear":
		nn.Freeze(m)
		n := 0
		for _, p := range m.Params() {
			if p.Role == autograd.RoleHead || (m.Config.TieWordEmbeddings && p.Role == autograd.RoleEmbedding && strings.HasSuffix(p.Name, "embed_tokens.weight")) {
				p.SetRequiresGrad(true)
				n++
			}
		}
		if n == 0 {
			return fmt.Errorf("--method linear: the model has no output head parameter")
		}
	case "full":
	}
	return nil
}

// saveAdapter writes what fine-tuning trained: a LoRA adapter in PEFT's
// layout, or the trained parameters of the other methods (loom's layout,
// adapter_model.safetensors with the method in its metadata).
func saveAdapter(dir string, m *decoder.Model, method, base string) error {
	if method == "lora" {
		return petl.SavePEFT(dir, m, base)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return nn.SaveParams(filepath.Join(dir, petl.PEFTWeightsFile), nn.Trainable(m.Params()), safetensors.F32,
		map[string]string{"format": "pt", "loom_method": method, "base_model": base})
}
