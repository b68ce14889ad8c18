package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/loomml/loom/generate"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/tokenizer"
)

func init() {
	register("generate", "Continue a prompt with a trained model, streaming tokens as they come.", runGenerate)
}

type stopList []string

func (s *stopList) String() string     { return strings.Join(*s, ",") }
func (s *stopList) Set(v string) error { *s = append(*s, v); return nil }

func runGenerate(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("generate", "--model DIR [--prompt TEXT] [--max-tokens N] [--temperature T] [--top-k K] [--top-p P] [--repetition-penalty R] [--seed S] [--stop STR]...", stderr)
	model := fs.String("model", "", "model directory (config.json + model.safetensors), e.g. runs/x/checkpoint (required)")
	prompt := fs.String("prompt", "\n", "text to continue")
	maxTokens := fs.Int("max-tokens", 256, "tokens to generate")
	temp := fs.Float64("temperature", 0.8, "sampling temperature; 0 is greedy decoding")
	topK := fs.Int("top-k", 0, "sample among the k most likely tokens (0: all)")
	topP := fs.Float64("top-p", 1, "sample from the smallest set of tokens with this total probability (1: all)")
	rep := fs.Float64("repetition-penalty", 1, "penalise tokens already in the context (1: off; HF semantics)")
	seed := fs.Uint64("seed", 0, "sampling seed")
	threads := fs.Int("threads", 0, "threads (0: all cores)")
	asJSON := fs.Bool("json", false, "print one JSON object at the end instead of streaming")
	var stops stopList
	fs.Var(&stops, "stop", "stop before this string (repeatable)")
	if err := parse(fs, args); err != nil {
		return err
	}
	m, tok, err := loadModel("generate", *model, *threads, stderr)
	if err != nil {
		return err
	}
	opts := generate.Options{MaxNewTokens: *maxTokens, Temperature: *temp, TopK: *topK, TopP: *topP,
		RepetitionPenalty: *rep, Seed: *seed, Stop: stops}
	if eos := tok.EOS(); eos >= 0 {
		opts.StopTokens = []int{eos}
	}
	var onText func(string)
	if !*asJSON {
		fmt.Fprint(stdout, *prompt)
		onText = func(s string) { fmt.Fprint(stdout, s) }
	}
	res, err := generate.Generate(m, tok, *prompt, opts, onText)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"prompt": *prompt, "text": res.Text, "tokens": len(res.Tokens), "stopped_by": res.StoppedBy})
	}
	fmt.Fprintln(stdout)
	return nil
}

// loadModel applies --threads and loads a model directory with its
// tokenizer, for the verbs that take --model.
func loadModel(verb, dir string, threads int, stderr io.Writer) (*decoder.Model, tokenizer.Tokenizer, error) {
	if dir == "" {
		fmt.Fprintf(stderr, "loom %s: --model DIR is required\n", verb)
		return nil, nil, errUsage
	}
	if err := setThreads(threads); err != nil {
		return nil, nil, err
	}
	m, err := decoder.Load(dir)
	if err != nil {
		return nil, nil, err
	}
	tok, err := tokenizer.Load(orDefault(m.Config.Loom.Tokenizer, "byte"), dir)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", dir, err)
	}
	return m, tok, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
