package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/loomml/loom/format/safetensors"
	"github.com/loomml/loom/models/decoder"
)

func init() {
	register("export", "Write a model as a GGUF file for llama.cpp/ollama or as a Hugging Face directory.", runExport)
}

func runExport(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("export", "--format gguf|hf --model PATH --out PATH [--type T] [--name NAME]", stderr)
	format := fs.String("format", "", "gguf (a llama.cpp file) or hf (a directory LlamaForCausalLM.from_pretrained loads) (required)")
	model := fs.String("model", "", "model directory or .gguf file to export (required)")
	out := fs.String("out", "", "output: a .gguf file, or a directory for hf (required)")
	typ := fs.String("type", "", "weight type: gguf f32, f16 or q8_0 (default f16; q8_0 needs rows of 32·k, others fall back to f16); hf f32, f16 or bf16 (default f32)")
	name := fs.String("name", "", "general.name in GGUF metadata (default: the model's directory name)")
	dtype := fs.String("dtype", "f32", "precision the model is loaded in before export: f32, or bf16/f16 for models too large for float32 (exact when the checkpoint is stored in that type)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *format == "" || *model == "" || *out == "" {
		fmt.Fprintln(stderr, "loom export: --format, --model and --out are required")
		fs.Usage()
		return errUsage
	}
	l, err := loadModel("export", *model, 0, *dtype, stderr)
	if err != nil {
		return err
	}
	switch *format {
	case "gguf":
		t, ok := decoder.GGUFTypes[orDefault(*typ, "f16")]
		if !ok {
			return fmt.Errorf("--type %q: GGUF weights are f32, f16 or q8_0", *typ)
		}
		if *name == "" {
			*name = filepath.Base(filepath.Clean(*model))
			*name = strings.TrimSuffix(*name, filepath.Ext(*name))
		}
		if err := l.Model.ExportGGUF(*out, l.Tok, t, *name); err != nil {
			return err
		}
	case "hf":
		dt, ok := hfDTypes[orDefault(*typ, "f32")]
		if !ok {
			return fmt.Errorf("--type %q: Hugging Face weights are f32, f16 or bf16", *typ)
		}
		if err := l.Model.ExportHF(*out, l.Tok, dt); err != nil {
			return err
		}
	default:
		return fmt.Errorf("--format %q: want gguf or hf", *format)
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

// hfDTypes are the safetensors weight types loom writes, by flag value.
var hfDTypes = map[string]safetensors.DType{"f32": safetensors.F32, "f16": safetensors.F16, "bf16": safetensors.BF16}
