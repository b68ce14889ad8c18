package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/loomml/loom/convert"
)

func init() {
	register("export", "Write a model as a GGUF file for llama.cpp/ollama or as a Hugging Face directory.", runExport)
}

func runExport(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("export", "--format gguf|hf --model PATH --out PATH [--type T] [--name NAME] [--force]", stderr)
	format := fs.String("format", "", "gguf (a llama.cpp file) or hf (a directory LlamaForCausalLM.from_pretrained loads) (required)")
	model := fs.String("model", "", "model to export: a training run's directory, a model directory or a .gguf file (required)")
	out := fs.String("out", "", "output: a .gguf file, or a directory for hf (required; must not exist, or be an empty directory, unless --force)")
	typ := fs.String("type", "", "weight type: gguf f32, f16 or q8_0 (default f16; q8_0 needs rows of 32·k, others fall back to f16); hf f32, f16 or bf16 (default f32)")
	name := fs.String("name", "", "general.name in GGUF metadata (default: the training run's or model directory's name)")
	force := fs.Bool("force", false, forceHelp)
	dtype := fs.String("dtype", "f32", "precision the model is loaded in before export: f32, or bf16/f16 for models too large for float32 (exact when the checkpoint is stored in that type)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *format == "" || *model == "" || *out == "" {
		fmt.Fprintln(stderr, "loom export: --format, --model and --out are required")
		fs.Usage()
		return errUsage
	}
	if *format != "gguf" && *format != "hf" {
		return fmt.Errorf("--format %q: want gguf or hf", *format)
	}
	if err := checkOut(*out, *format == "hf", *force, source{"--model", *model}); err != nil {
		return err
	}
	l, err := loadModel("export", *model, 0, *dtype, stderr)
	if err != nil {
		return err
	}
	ctx, stop := interruptible(stderr)
	defer stop()
	o := convert.WriteOptions{Force: *force, Context: ctx}
	switch *format {
	case "gguf":
		t, err := parseType("type", *typ, "f16", convert.GGUFTypes)
		if err != nil {
			return err
		}
		if *name == "" {
			*name = l.Name // the training run's name for RUN or RUN/checkpoint
		}
		if err := convert.ExportGGUFWith(l.Model, *out, l.Tok, t, *name, o); err != nil {
			return writeError(ctx, *out, err)
		}
	case "hf":
		dt, err := parseType("type", *typ, "f32", convert.HFTypes)
		if err != nil {
			return err
		}
		if err := convert.ExportHFWith(l.Model, *out, l.Tok, dt, o); err != nil {
			return writeError(ctx, *out, err)
		}
	}
	size := int64(0)
	filepath.Walk(*out, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			size += info.Size()
		}
		return nil
	})
	fmt.Fprintf(stdout, "wrote %s (%s, %.1f MB, %d parameters)\n", *out, *format, float64(size)/1e6, l.Model.NumParams())
	if n := l.Model.Config.Loom.Removed.Count(); n > 0 {
		fmt.Fprintf(stdout, "note: %d removed sublayers are written as zero weights (%s cannot skip them); the exported model computes the same function but not faster\n", n, *format)
	}
	return nil
}
