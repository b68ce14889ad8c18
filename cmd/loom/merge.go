package main

import (
	"fmt"
	"io"

	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/petl"
)

func init() {
	register("merge", "Merge a LoRA adapter (Hugging Face PEFT layout) into a model's weights and write the result as a standalone model.", runMerge)
}

func runMerge(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("merge", "--model PATH --adapter DIR --out DIR [--force]", stderr)
	model := fs.String("model", "", "the base model: a training run's directory, a model directory or a .gguf file (required)")
	adapter := fs.String("adapter", "", "a LoRA adapter directory in PEFT's layout: adapter_config.json + adapter_model.safetensors (required)")
	out := fs.String("out", "", "directory for the merged model (required; must not exist, or be empty, unless --force)")
	force := fs.Bool("force", false, forceHelp)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *model == "" || *adapter == "" || *out == "" {
		fmt.Fprintln(stderr, "loom merge: --model, --adapter and --out are required")
		fs.Usage()
		return errUsage
	}
	if err := checkOut(*out, true, *force, source{"--model", *model}, source{"--adapter", *adapter}); err != nil {
		return err
	}
	if kind, _ := modelKind(*model); kind == kindEncoder {
		return mergeEncoder(*model, *adapter, *out, *force, stdout)
	}
	l, err := loadModel("merge", *model, 0, "", stderr)
	if err != nil {
		return err
	}
	cfg, err := petl.LoadPEFT(*adapter, l.Model)
	if err != nil {
		return fmt.Errorf("--adapter: %w", err)
	}
	n, err := petl.Merge(l.Model)
	if err != nil {
		return err
	}
	if err := fsutil.ReplaceDir(*out, fsutil.Options{Force: *force}, func(tmp string) error { return saveDerived(l.Model, l, tmp) }); err != nil {
		return outError(err)
	}
	fmt.Fprintf(stdout, "wrote %s: %d LoRA updates (rank %d, alpha %g, targets %v) merged into %s\n", *out, n, cfg.Rank, cfg.Alpha, cfg.Targets, *model)
	return nil
}

// adapterFlag is --adapter of the commands that run a model.
func adapterFlag(fs interface {
	String(name, value, usage string) *string
}) *string {
	return fs.String("adapter", "", "apply this adapter without merging it: a LoRA adapter in PEFT's layout (adapter_config.json + adapter_model.safetensors) or one loom finetune wrote with another method (houlsby, pfeiffer, prefix, bitfit, linear, full)")
}

// applyAdapter loads the --adapter directory onto the loaded model, if
// one is given, and says what it applied. Conformer adapters convolve over
// the whole sequence, which decoding token by token with a cache does not
// give them: refused here.
func applyAdapter(m *decoder.Model, dir string, stderr io.Writer) error {
	if dir == "" {
		return nil
	}
	spec, err := petl.LoadAdapter(dir, m, m.Config.HiddenSize)
	if err != nil {
		return fmt.Errorf("--adapter: %w", err)
	}
	switch spec.Method {
	case "conformer":
		return fmt.Errorf("--adapter %s: a conformer adapter convolves over the whole sequence, which generation with a key/value cache does not give it; evaluate it with loom finetune's held-out loss", dir)
	case "lora":
		fmt.Fprintf(stderr, "applied LoRA adapter %s: rank %d, alpha %g, targets %v, %d modules\n", dir, spec.Rank, spec.Alpha, spec.Targets, len(petl.Adapters(m)))
	default:
		fmt.Fprintf(stderr, "applied %s adapter %s\n", spec.Method, dir)
	}
	return nil
}
