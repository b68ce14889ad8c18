package main

import (
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/loomml/loom/convert"
	"github.com/loomml/loom/dtype"
	"github.com/loomml/loom/generate"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/tensor"
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
	model := fs.String("model", "", "a training run's directory (loom train --out), a model directory (config.json + model.safetensors or shards, e.g. a Hugging Face download) or a .gguf file (required)")
	dtype := choice(fs, "dtype", "f32", "in-memory precision of the weights: f32, bf16, f16 or q8_0 (activations stay f32; a GGUF file's q8_0/q4_K/q5_K/q6_K matrices stay in their blocks)", "f32", "bf16", "f16", "q8_0")
	cacheType := cacheTypeFlag(fs)
	prompt := fs.String("prompt", "\n", "text to continue")
	maxTokens := intFlag(fs, "max-tokens", 256, "tokens to generate", atLeast(1))
	temp := floatFlag(fs, "temperature", 0.8, "sampling temperature", above(0), sp{0, "greedy decoding"})
	topK := intFlag(fs, "top-k", 0, "sample among the k most likely tokens", atLeast(1), sp{0, "all"})
	topP := floatFlag(fs, "top-p", 1, "sample from the smallest set of tokens with this total probability (1: all)", span{lo: 0, hi: 1, loOpen: true})
	rep := floatFlag(fs, "repetition-penalty", 1, "penalise tokens already in the context (1: off; HF semantics)", above(0))
	seed := fs.Uint64("seed", 0, "sampling seed")
	threads := intFlag(fs, "threads", 0, "threads", atLeast(1), sp{0, "all cores"})
	ffnWidths := fs.String("ffn-widths", "", "MatFormer Mix'n'Match: FFN width per layer, comma-separated, or one for all (default: full widths)")
	adapter := adapterFlag(fs)
	asJSON := fs.Bool("json", false, "print one JSON object at the end instead of streaming")
	var stops stopList
	fs.Var(&stops, "stop", "stop before this string (repeatable)")
	if err := parse(fs, args); err != nil {
		return err
	}
	l, err := loadModel("generate", *model, *threads, *dtype, stderr)
	if err != nil {
		return err
	}
	if err := applyAdapter(l.Model, *adapter, stderr); err != nil {
		return err
	}
	if err := setCacheType(l.Model, *cacheType); err != nil {
		return err
	}
	if err := setWidths(l.Model, *ffnWidths); err != nil {
		return err
	}
	m, tok := l.Model, l.Tok
	opts := generate.Options{MaxNewTokens: *maxTokens, Temperature: *temp, TopK: *topK, TopP: *topP,
		RepetitionPenalty: *rep, Seed: *seed, Stop: stops, StopTokens: l.Stop}
	var onText func(string)
	if !*asJSON {
		fmt.Fprint(stdout, *prompt)
		onText = func(s string) { fmt.Fprint(stdout, s) }
	}
	enc := withSpecials(tok)
	if l.TokCfg != nil && l.TokCfg.AddBOSToken != nil && !*l.TokCfg.AddBOSToken {
		enc = tok // add_bos_token false: the prompt as it is
	}
	res, err := generate.Generate(m, enc, *prompt, opts, onText)
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

// loadModel applies --threads and loads a model with its tokenizer and stop
// tokens for the verbs that take --model: a training run's directory, a
// model directory (loom's or Hugging Face's) or a GGUF file. dtype is the
// in-memory precision of the weights ("" = f32).
func loadModel(verb, path string, threads int, dtype string, stderr io.Writer) (*convert.Loaded, error) {
	if path == "" {
		fmt.Fprintf(stderr, "loom %s: --model PATH is required (a model directory, a training run's directory or a .gguf file)\n", verb)
		return nil, errUsage
	}
	if err := setThreads(threads); err != nil {
		return nil, err
	}
	dt := tensor.Float32
	if dtype != "" {
		var err error
		if dt, err = tensor.ParseDType(dtype); err != nil || decoder.CheckWeightDType(dt) != nil {
			return nil, fmt.Errorf("--dtype %q: want one of %s", dtype, dtypeNames(decoder.WeightDTypes))
		}
	}
	if err := wantKind(path, kindLanguage); err != nil {
		return nil, err
	}
	return convert.Open(path, convert.LoadOptions{DType: dt})
}

// cacheTypeFlag registers --cache-type, the precision of the key/value
// cache (setCacheType applies it).
func cacheTypeFlag(fs *flag.FlagSet) *string {
	return choice(fs, "cache-type", "f16", "precision of the key/value cache: f16 (as llama.cpp: half the memory and of the bytes each token reads) or f32", "f16", "f32")
}

// setCacheType gives m's key/value caches the precision named s.
func setCacheType(m *decoder.Model, s string) error {
	dt := tensor.Float32
	if s == "f16" {
		dt = tensor.Float16
	}
	return m.SetCacheDType(dt)
}

// dtypeNames lists types for messages: "f32, f16 or q8_0".
func dtypeNames(ds []tensor.DType) string {
	names := strings.Split(dtype.Names(ds...), ", ")
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// parseType reads a type flag (--type, --dtype): one of ds, def when
// empty.
func parseType(flag, value, def string, ds []tensor.DType) (tensor.DType, error) {
	d, err := dtype.Parse(cmp.Or(value, def))
	if err != nil || !slices.Contains(ds, d) {
		return 0, fmt.Errorf("--%s %q: want %s", flag, value, dtypeNames(ds))
	}
	return d, nil
}

// addSpecials encodes prompts as transformers does by default
// (add_special_tokens=True): with the BOS or other tokens the tokenizer's
// post-processor puts around a sequence.
// A SentencePiece vocabulary adds its BOS as llama.cpp and transformers'
// LlamaTokenizer do.
type addSpecials struct {
	tokenizer.Tokenizer
	add func(string) []int
}

func (a addSpecials) Encode(text string) []int { return a.add(text) }

func withSpecials(tok tokenizer.Tokenizer) tokenizer.Tokenizer {
	if b, ok := tok.(interface {
		tokenizer.Tokenizer
		EncodeAddSpecial(string) []int
	}); ok {
		return addSpecials{b, b.EncodeAddSpecial}
	}
	return tok
}
