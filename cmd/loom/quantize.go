package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/loomml/loom/convert"
	"github.com/loomml/loom/format/gguf"
)

func init() {
	register("quantize", "Write a model as a quantised GGUF file, choosing each tensor's type and its blocks as llama.cpp's quantiser does.", runQuantize)
}

func runQuantize(args []string, stdout, stderr io.Writer) error {
	var mixes []string
	for _, q := range convert.QuantMixes {
		mixes = append(mixes, strings.ToLower(q.Name))
	}
	fs := newFlags("quantize", "--type "+strings.Join(mixes, "|")+" --model PATH --out FILE.gguf [--name NAME] [--force]", stderr)
	typ := fs.String("type", "", "the mix, as llama-quantize names it: "+strings.Join(mixes, ", ")+" (required)")
	model := fs.String("model", "", "model to quantise: a training run's directory, a model directory or a .gguf file (required)")
	out := fs.String("out", "", "the .gguf file to write (required; must not exist unless --force)")
	name := fs.String("name", "", "general.name in GGUF metadata (default: the training run's or model directory's name)")
	force := fs.Bool("force", false, forceHelp)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *typ == "" || *model == "" || *out == "" {
		fmt.Fprintln(stderr, "loom quantize: --type, --model and --out are required")
		fs.Usage()
		return errUsage
	}
	mix, err := convert.ParseQuantMix(*typ)
	if err != nil {
		return fmt.Errorf("--type: %w", err)
	}
	if err := checkOut(*out, false, *force, source{"--model", *model}); err != nil {
		return err
	}
	l, err := loadModel("quantize", *model, 0, "", stderr)
	if err != nil {
		return err
	}
	if *name == "" {
		*name = l.Name
	}
	ctx, stop := interruptible(stderr)
	defer stop()
	if err := convert.ExportGGUFMix(l.Model, *out, l.Tok, mix, *name, convert.WriteOptions{Force: *force, Context: ctx}); err != nil {
		return writeError(ctx, *out, err)
	}
	// What went where, as llama-quantize's summary.
	f, err := gguf.Open(*out)
	if err != nil {
		return err
	}
	defer f.Close()
	counts := map[string]int{}
	var order []string
	for _, t := range f.Tensors {
		k := t.Type.String()
		if counts[k] == 0 {
			order = append(order, k)
		}
		counts[k]++
	}
	var parts []string
	for _, k := range order {
		parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
	}
	st, err := os.Stat(*out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%s, %.1f MB, %d parameters; tensors: %s)\n", *out, mix.Name, float64(st.Size())/1e6, l.Model.NumParams(), strings.Join(parts, ", "))
	return nil
}
