package main

import (
	"fmt"
	"io"
	"time"

	"github.com/loomml/loom/convert"
	"github.com/loomml/loom/internal/progress"
	"github.com/loomml/loom/models/decoder"
)

func init() {
	register("init", "Write a model directory with seeded random weights from a config.json (any size; shard by shard).", runInit)
}

func runInit(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("init", "--config FILE --out DIR [--dtype bf16] [--shard-mb 2000] [--seed 0] [--force]", stderr)
	config := fs.String("config", "", "a Hugging Face config.json (llama, mistral or qwen2) (required)")
	out := fs.String("out", "", "the model directory to create (required; must not exist, or be empty, unless --force)")
	dtype := choice(fs, "dtype", "bf16", "stored weight type: f32, f16 or bf16", "f32", "f16", "bf16")
	shardMB := int64Flag(fs, "shard-mb", 2000, "largest shard in MB", atLeast(1), sp{0, "one model.safetensors"})
	seed := fs.Uint64("seed", 0, "random seed")
	force := fs.Bool("force", false, forceHelp)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *config == "" || *out == "" {
		fmt.Fprintln(stderr, "loom init: --config and --out are required")
		fs.Usage()
		return errUsage
	}
	dt, err := parseType("dtype", *dtype, "bf16", convert.HFTypes)
	if err != nil {
		return err
	}
	c, err := decoder.LoadConfig(*config)
	if err != nil {
		return err
	}
	if err := checkOut(*out, true, *force, source{"--config", *config}); err != nil {
		return err
	}
	ctx, stop := interruptible(stderr)
	defer stop()
	var bar *progress.Bar
	t0 := time.Now()
	err = convert.WriteRandomWith(c, *out, dt, *seed, *shardMB*1e6, func(done, total int64) {
		if bar == nil {
			bar = progress.New(stderr, "init", int(total))
			bar.Bytes = true
		}
		bar.Update(int(done))
	}, convert.WriteOptions{Force: *force, Context: ctx})
	if err != nil {
		return writeError(ctx, *out, err)
	}
	if bar != nil {
		bar.Done()
	}
	m, err := decoder.LoadConfig(*out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %s, %d layers, hidden %d, vocab %d, %s weights, in %.1fs\n", *out, m.ModelType, m.NumHiddenLayers, m.HiddenSize, m.VocabSize, *dtype, time.Since(t0).Seconds())
	return nil
}
