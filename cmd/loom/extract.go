package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/models/decoder"
)

func init() {
	register("extract", "Write a MatFormer Mix'n'Match submodel (FFN width per layer) as a standalone model.", runExtract)
}

func runExtract(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("extract", "--model DIR --ffn-widths W1,W2,… --out DIR [--force]", stderr)
	model := fs.String("model", "", "a training run's directory, a model directory or a .gguf file (a MatFormer, or any model to slice) (required)")
	widths := fs.String("ffn-widths", "", "FFN width of each layer, comma-separated; one value applies to every layer (required)")
	out := fs.String("out", "", "directory for the extracted model (required; must not exist, or be empty, unless --force)")
	force := fs.Bool("force", false, forceHelp)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *model == "" || *widths == "" || *out == "" {
		fmt.Fprintln(stderr, "loom extract: --model, --ffn-widths and --out are required")
		fs.Usage()
		return errUsage
	}
	if err := checkOut(*out, true, *force, source{"--model", *model}); err != nil {
		return err
	}
	l, err := loadModel("extract", *model, 0, "", stderr)
	if err != nil {
		return err
	}
	ws, err := parseWidths(*widths, len(l.Model.Layers))
	if err != nil {
		return err
	}
	sub, err := decoder.Extract(l.Model, ws)
	if err != nil {
		return err
	}
	if err := fsutil.ReplaceDir(*out, fsutil.Options{Force: *force}, func(tmp string) error { return saveDerived(sub, l, tmp) }); err != nil {
		return outError(err)
	}
	fmt.Fprintf(stdout, "wrote %s: FFN widths %v, %d parameters (the source has %d)\n", *out, ws, sub.NumParams(), l.Model.NumParams())
	return nil
}

// parseWidths reads --ffn-widths: one width per layer, or one for all.
func parseWidths(s string, layers int) ([]int, error) {
	parts := strings.Split(s, ",")
	var ws []int
	for _, p := range parts {
		w, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || w <= 0 {
			return nil, fmt.Errorf("--ffn-widths: %q is not a positive integer", p)
		}
		ws = append(ws, w)
	}
	if len(ws) == 1 {
		for len(ws) < layers {
			ws = append(ws, ws[0])
		}
	}
	if len(ws) != layers {
		return nil, fmt.Errorf("--ffn-widths: %d widths for a model of %d layers (give one per layer, or one for all)", len(ws), layers)
	}
	return ws, nil
}

// setWidths applies --ffn-widths (Mix'n'Match) to a MatFormer; "" keeps
// full widths.
func setWidths(m *decoder.Model, s string) error {
	if s == "" {
		return nil
	}
	ws, err := parseWidths(s, len(m.Layers))
	if err != nil {
		return err
	}
	if err := m.SetFFNWidths(ws); err != nil {
		return fmt.Errorf("--ffn-widths: %w", err)
	}
	return nil
}
