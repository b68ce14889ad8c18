package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/loomml/loom/data"
	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/mup"
	"github.com/loomml/loom/tokenizer"
)

func init() {
	register("mup", "μP tools: `loom mup coord-check` plots each layer's mean |activation| against width after a few steps, standard parametrisation vs μP.", runMuP)
}

const mupUsage = `usage: loom mup coord-check --out DIR [--base-width 32] [--widths 1,2,4,8,16] [--steps 5] [--lr 0.01]`

func runMuP(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "coord-check" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprintln(stdout, mupUsage)
			return nil
		}
		fmt.Fprintln(stderr, mupUsage)
		return errUsage
	}
	fs := newFlags("mup coord-check", "--out DIR [flags]", stderr)
	out := fs.String("out", "", "directory for coord-sp.png, coord-mup.png and coord.json (required)")
	force := fs.Bool("force", false, forceHelp)
	baseWidth := intFlag(fs, "base-width", 32, "hidden size of the base model (2 layers, 4 heads, SwiGLU of twice the width, byte vocabulary)", atLeast(4))
	widths := fs.String("widths", "1,2,4,8,16", "width multipliers")
	steps := intFlag(fs, "steps", 5, "Adam steps on 8×64-byte windows of the embedded corpus", atLeast(1))
	lr := floatFlag(fs, "lr", 1e-2, "Adam's learning rate", above(0))
	seed := fs.Uint64("seed", 1, "seed of the weights and windows")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *out == "" {
		fmt.Fprintln(stderr, "loom mup coord-check: --out is required")
		fs.Usage()
		return errUsage
	}
	var mults []int
	for _, f := range strings.Split(*widths, ",") {
		k, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || k < 1 {
			return fmt.Errorf("--widths %q: want positive integers separated by commas", *widths)
		}
		mults = append(mults, k)
	}
	if *baseWidth%4 != 0 {
		return fmt.Errorf("--base-width %d: want a multiple of the 4 heads", *baseWidth)
	}
	if err := checkOut(*out, true, *force); err != nil {
		return err
	}
	base := &decoder.Config{HiddenSize: *baseWidth, IntermediateSize: 2 * *baseWidth, NumHiddenLayers: 2, NumAttentionHeads: 4, NumKeyValueHeads: 4,
		HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 10000, VocabSize: 256, MaxPositionEmbeddings: 64, InitializerRange: 0.02}
	ids := tokenizer.Byte{}.Encode(string(data.TinyShakespeare()))
	sampler := data.NewMemSampler(ids, 8, 64, *seed)
	batches := make([]data.Batch, *steps)
	for i := range batches {
		batches[i] = sampler.Next()
	}
	r, err := mup.CoordCheck(mup.Options{Base: base, Mults: mults, Steps: *steps, LR: *lr, Batch: func(s int) data.Batch { return batches[s] }, Seed: *seed})
	if err != nil {
		return err
	}
	js, _ := json.MarshalIndent(r, "", "  ")
	err = fsutil.ReplaceDir(*out, fsutil.Options{Force: *force}, func(tmp string) error {
		for _, p := range []string{decoder.ParamSP, decoder.ParamMuP} {
			c := r.Chart(p, *steps-1, fmt.Sprintf("%s, %d Adam steps at lr %g", map[string]string{"sp": "standard parametrisation", "mup": "μP"}[p], *steps-1, *lr))
			if err := c.WritePNG(filepath.Join(tmp, "coord-"+p+".png")); err != nil {
				return err
			}
		}
		return fsutil.WriteFile(filepath.Join(tmp, "coord.json"), append(js, '\n'))
	})
	if err != nil {
		return outError(err)
	}
	fmt.Fprintf(stdout, "largest growth of a layer's mean |activation| from width %d to %d after %d steps: standard %.2f×, μP %.2f×\n",
		r.Widths[0], r.Widths[len(r.Widths)-1], *steps-1, r.Growth(decoder.ParamSP, *steps-1), r.Growth(decoder.ParamMuP, *steps-1))
	fmt.Fprintf(stdout, "plots: %s, %s\n", filepath.Join(*out, "coord-sp.png"), filepath.Join(*out, "coord-mup.png"))
	return nil
}
