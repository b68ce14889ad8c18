package main

import (
	"fmt"
	"io"

	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/nn"
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
	return fs.String("adapter", "", "apply this LoRA adapter (a PEFT-layout directory: adapter_config.json + adapter_model.safetensors) without merging it")
}

// applyAdapter loads the --adapter directory onto the loaded model, if
// one is given, and says what it applied.
func applyAdapter(m nn.Module, dir string, stderr io.Writer) error {
	if dir == "" {
		return nil
	}
	cfg, err := petl.LoadPEFT(dir, m)
	if err != nil {
		return fmt.Errorf("--adapter: %w", err)
	}
	fmt.Fprintf(stderr, "applied LoRA adapter %s: rank %d, alpha %g, targets %v, %d modules\n", dir, cfg.Rank, cfg.Alpha, cfg.Targets, len(petl.Adapters(m)))
	return nil
}
