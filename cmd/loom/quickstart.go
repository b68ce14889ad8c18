package main

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/loomml/loom/data"
	"github.com/loomml/loom/eval"
	"github.com/loomml/loom/generate"
	"github.com/loomml/loom/tokenizer"
	"github.com/loomml/loom/train"
)

func init() {
	register("quickstart", "Train the quickstart model on the embedded Shakespeare, report its validation loss and print a sample.", runQuickstart)
}

func runQuickstart(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("quickstart", "[--out DIR] [--threads N] [--precision fp32|bf16] [--seed N]", stderr)
	out := fs.String("out", "loom-quickstart", "output directory (data/, checkpoint/, metrics.jsonl, loss.png)")
	threads := intFlag(fs, "threads", 0, "threads", atLeast(1), sp{0, "all cores"})
	steps := intFlag(fs, "steps", 0, "override the preset's optimizer steps (default: the preset's)", atLeast(1))
	bpe := intFlag(fs, "bpe", 0, "train a byte-level BPE tokenizer of this vocabulary size on the training split first and use it", between(258, 1<<20), sp{0, "bytes, no BPE"})
	precision := precisionFlag(fs)
	seed := int64Flag(fs, "seed", 0, "override the seed of model init and batch order (default: the preset's)", atLeast(0))
	progressEvery := progressEveryFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := setThreads(*threads); err != nil {
		return err
	}
	spec, err := train.LookupPreset("quickstart")
	if err != nil {
		return err
	}
	given := givenFlags(fs)
	if given["seed"] {
		spec.Train.Seed = uint64(*seed)
	}
	if err := applyPrecision(spec.Model, *precision, given["precision"], stderr); err != nil {
		return err
	}
	if *steps > 0 {
		spec.Train.Steps = *steps
	}
	what := fmt.Sprintf("--steps %d", *steps)
	if *steps <= 0 {
		what = fmt.Sprintf("the quickstart preset (%d steps)", spec.Train.Steps)
	}
	// A finished run is evaluated and sampled again, without training.
	if _, err := checkResume(stdout, *out, spec.Train.Steps, what, "nothing to train"); err != nil {
		return err
	}
	corpus := data.TinyShakespeare()
	if *bpe > 0 {
		if err := os.MkdirAll(*out, 0o755); err != nil {
			return err
		}
		// Learn from the training split only, so the held-out text stays unseen.
		trainText := corpus[:int(float64(len(corpus))*(1-spec.Train.ValFraction))]
		tok, err := tokenizer.TrainBPE(trainText, tokenizer.TrainOptions{VocabSize: *bpe, Specials: []string{"<|endoftext|>"}, Name: "quickstart-bpe"})
		if err != nil {
			return err
		}
		path := filepath.Join(*out, "bpe-tokenizer.json")
		if err := tok.SaveHF(path); err != nil {
			return err
		}
		spec.Model.VocabSize, spec.Model.Loom.Tokenizer = tok.VocabSize(), path
		fmt.Fprintf(stdout, "trained a %d-token BPE tokenizer on the training split: %s\n", tok.VocabSize(), path)
	}
	m := spec.Model
	fmt.Fprintf(stdout, "loom quickstart: a %d-layer, %d-wide byte-level Llama on tinyshakespeare (%d bytes), %d steps of %d×%d tokens, %s products\n",
		m.NumHiddenLayers, m.HiddenSize, len(corpus), spec.Train.Steps, spec.Train.BatchSize, spec.Train.SeqLen, cmp.Or(m.Loom.Precision, "fp32"))
	ctx, stop := interruptible(stderr)
	o, err := (&train.Job{Spec: spec, Text: corpus, OutDir: *out, Resume: true, Progress: stderr, Context: ctx, ProgressEvery: *progressEvery,
		Meta: map[string]string{"preset": "quickstart", "data": "tinyshakespeare (embedded)"}}).Run()
	stop() // a Ctrl-C from here on quits at once: the checkpoint is whole
	if err != nil {
		return interruptedRun(err, resumeCommand("quickstart", args, nil))
	}
	trained := fmt.Sprintf("trained %d steps", o.Steps)
	if o.Resumed {
		trained = fmt.Sprintf("resumed from %s at step %d, trained %d more steps", filepath.Join(*out, train.CheckpointDir), o.StartStep, o.Steps-o.StartStep)
	}
	fmt.Fprintf(stdout, "parameters: %d; %s in %s\n", o.Model.NumParams(), trained, o.Elapsed.Round(1e9))
	unit := "nats/token"
	if o.Val.Tokens == o.Val.Bytes {
		unit = "nats/byte"
	}
	fmt.Fprintf(stdout, "validation (held-out last 10%%, %d bytes in %d tokens): %.4f %s, perplexity %.3f, %.4f bits/byte\n",
		o.Val.Bytes, o.Val.Tokens, o.Val.Loss, unit, o.Val.Perplexity, o.Val.BitsPerByte)
	fmt.Fprintf(stdout, "checkpoint: %s   loss curve: %s\n\n", filepath.Join(*out, train.CheckpointDir), filepath.Join(*out, train.LossCurveFile))
	fmt.Fprintln(stdout, "sample (500 bytes, temperature 0.8, seed 1):")
	fmt.Fprintln(stdout, "----")
	res, err := generate.Generate(o.Model, o.Tokenizer, "\n", generate.Options{MaxNewTokens: 500, Temperature: 0.8, Seed: 1},
		func(s string) { fmt.Fprint(stdout, s) })
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "\n----")
	found, total := eval.WordsInCorpus(res.Text, corpus)
	fmt.Fprintf(stdout, "%d of %d alphabetic words in the sample (%.0f%%) occur in the corpus\n", found, total, 100*float64(found)/float64(max(1, total)))
	return nil
}
