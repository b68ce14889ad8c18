package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/loomml/loom/analysis/search"
)

// The graph-search task of "Transformers Struggle to Learn to Search"
// (Saparov et al., arXiv 2412.04703): print examples, train a decoder.

func init() {
	register("search", "The graph-search task of Saparov et al. (arXiv 2412.04703): `loom search generate` prints examples of the naive or balanced distribution (edge list, query, path prefix, next vertices, lookahead); `loom search train` trains a small decoder and reports accuracy by lookahead.",
		withSubcommands("search", searchUsage, map[string]command{"generate": searchGenerate, "train": searchTrain}))
}

const searchUsage = `usage: loom search generate [--distribution naive|balanced] [--vertices N] [--lookahead L] [--count K] [--seed S]    print examples, one a line
       loom search train [--distribution naive|balanced] [--vertices N] [--lookahead L] [flags] [--out DIR]    train a decoder; accuracy by lookahead`

// searchDataFlags are the flags that choose a distribution.
func searchDataFlags(fsName string, args []string, stderr io.Writer, more func(*searchFlags)) (*searchFlags, error) {
	f := &searchFlags{}
	fs := newFlagsSummary(fsName, "[flags]", searchSummaries[fsName], stderr)
	f.dist = choice(fs, "distribution", search.Balanced, "naive (a random DAG, generator.cpp's generate_graph) or balanced (graphs built to a lookahead uniform over 0…--lookahead)", search.Distributions...)
	f.vertices = intFlag(fs, "vertices", 8, "most vertices in a graph (ids 1…N; inputs of 3N+5 tokens)", between(search.MinVertices, search.MaxVertices))
	f.lookahead = intFlag(fs, "lookahead", 3, "balanced: the largest lookahead (each example's is uniform over 0…L; needs --vertices ≥ 2L+1); naive ignores it", atLeast(0))
	f.seed = fs.Uint64("seed", 1, "seed of the examples (and of the weights, for train)")
	f.fs = fs
	if more != nil {
		more(f)
	}
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	p := search.Params{Dist: *f.dist, Vertices: *f.vertices, Lookahead: *f.lookahead}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	f.params = p
	return f, nil
}

var searchSummaries = map[string]string{
	"search generate": "Print examples of the graph-search task, one a line: E u v … Q s t P path | next (the valid next vertices) | lookahead.",
	"search train":    "Train a small Llama-style decoder on one distribution (loss at the last position toward one valid next vertex; AdamW) and report its accuracy on balanced test sets at each lookahead 1…(N−1)/2.",
}

type searchFlags struct {
	fs                               *flag.FlagSet
	dist                             *string
	vertices, lookahead              *int
	seed                             *uint64
	count, layers, dim, steps, batch *int
	lr                               *float64
	out                              *string
	force                            *bool
	params                           search.Params
}

func searchGenerate(args []string, stdout, stderr io.Writer) error {
	f, err := searchDataFlags("search generate", args, stderr, func(f *searchFlags) {
		f.count = intFlag(f.fs, "count", 10, "examples to print", atLeast(1))
	})
	if err != nil {
		return err
	}
	g, err := search.NewGenerator(f.params, *f.seed)
	if err != nil {
		return err
	}
	for range *f.count {
		e, err := g.Next()
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, e.String())
	}
	return nil
}

func searchTrain(args []string, stdout, stderr io.Writer) error {
	f, err := searchDataFlags("search train", args, stderr, func(f *searchFlags) {
		f.layers = intFlag(f.fs, "layers", 4, "decoder layers", atLeast(1))
		f.dim = intFlag(f.fs, "dim", 64, "hidden size (even; feed-forward 4×, one attention head as the paper)", atLeast(2))
		f.steps = intFlag(f.fs, "steps", 2000, "optimiser steps (a fresh batch of examples each)", atLeast(1))
		f.batch = intFlag(f.fs, "batch", 64, "examples per step", atLeast(1))
		f.lr = floatFlag(f.fs, "lr", 1e-3, "peak AdamW learning rate (warmup over 5 % of the steps, cosine to 0.1×)", above(0))
		f.out = f.fs.String("out", "", "directory for result.json (optional; new or empty unless --force)")
		f.force = f.fs.Bool("force", false, forceHelp)
	})
	if err != nil {
		return err
	}
	c := search.TrainConfig{Data: f.params, Layers: *f.layers, Dim: *f.dim, Steps: *f.steps, Batch: *f.batch, LR: *f.lr, Seed: *f.seed, EvalSeed: search.DefaultEvalSeed, Progress: stderr}
	if err := c.Validate(); err != nil {
		return err
	}
	if *f.out != "" {
		if err := checkOut(*f.out, true, *f.force); err != nil {
			return err
		}
	}
	start := time.Now()
	res, _, err := search.Train(c)
	if err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	fmt.Fprintf(stdout, "%s distribution, %d vertices, %d parameters, %d steps of %d (%.0f s); final loss %.4f, training accuracy %.3f\n",
		f.params.Dist, f.params.Vertices, res.Params, c.Steps, c.Batch, secs, res.Loss[len(res.Loss)-1], res.TrainAccuracy)
	fmt.Fprintln(stdout, "lookahead  test accuracy (balanced, 500 examples)")
	for i, a := range res.Accuracy {
		fmt.Fprintf(stdout, "%9d  %.3f\n", i+1, a)
	}
	if *f.out == "" {
		return nil
	}
	if *f.force {
		os.RemoveAll(*f.out)
	}
	return search.NewRecord(c, res, secs).Save(*f.out)
}
