package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/loomml/loom/internal/progress"
	"github.com/loomml/loom/tokenizer"
)

func init() {
	register("tokenize", "Show how a tokenizer splits text (from --text or standard input).", runTokenize)
	register("tokenizer", "Tokenizer tools: `loom tokenizer train` learns a byte-level BPE tokenizer.json from a corpus.", runTokenizer)
}

func runTokenize(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("tokenize", "--tokenizer NAME|FILE [--text TEXT] [--ids] [--special]", stderr)
	name := fs.String("tokenizer", "byte", "a tokenizer name ("+strings.Join(tokenizer.Names(), ", ")+") or a tokenizer.json path")
	text := fs.String("text", "", "text to tokenize (default: standard input)")
	idsOnly := fs.Bool("ids", false, "print only the ids, space-separated")
	special := fs.Bool("special", false, "recognise special tokens in the text (tiktoken encodings treat text as ordinary by default)")
	asJSON := fs.Bool("json", false, "print JSON: ids and the bytes of each token")
	if err := parse(fs, args); err != nil {
		return err
	}
	tok, err := tokenizer.Load(*name, "")
	if err != nil {
		return err
	}
	in := *text
	if in == "" {
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			return err
		}
		in = string(b)
	}
	var ids []int
	if bpe, ok := tok.(*tokenizer.BPE); ok && *special {
		ids = bpe.EncodeSpecial(in)
	} else {
		ids = tok.Encode(in)
	}
	switch {
	case *asJSON:
		pieces := make([]string, len(ids))
		for i, id := range ids {
			pieces[i] = string(tok.TokenBytes(id))
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"tokenizer": tok.Name(), "ids": ids, "tokens": pieces, "count": len(ids), "bytes": len(in)})
	case *idsOnly:
		s := make([]string, len(ids))
		for i, id := range ids {
			s[i] = fmt.Sprint(id)
		}
		fmt.Fprintln(stdout, strings.Join(s, " "))
	default:
		for _, id := range ids {
			fmt.Fprintf(stdout, "%8d  %q\n", id, tok.TokenBytes(id))
		}
		fmt.Fprintf(stdout, "%d tokens for %d bytes (%s)\n", len(ids), len(in), tok.Name())
	}
	return nil
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func runTokenizer(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "train" {
		fmt.Fprintln(stderr, "usage: loom tokenizer train --vocab N [--data FILE] --out tokenizer.json [--special TOKEN]...")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return errUsage
	}
	fs := newFlags("tokenizer train", "--vocab N [--data FILE] --out tokenizer.json [--special TOKEN]...", stderr)
	vocab := intFlag(fs, "vocab", 1024, "vocabulary size: special tokens + 256 bytes + merges", between(257, 1<<24))
	dataPath := fs.String("data", "", "a UTF-8 text file to learn from (default: the embedded tinyshakespeare)")
	out := fs.String("out", "", "where to write the tokenizer.json (required)")
	var specials stringList
	fs.Var(&specials, "special", "a special token (repeatable; default <|endoftext|>)")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *out == "" {
		fmt.Fprintln(stderr, "loom tokenizer train: --out FILE is required")
		return errUsage
	}
	if len(specials) == 0 {
		specials = stringList{"<|endoftext|>"}
	}
	text, name, err := readCorpus(*dataPath)
	if err != nil {
		return err
	}
	bar := progress.New(stderr, "merges", *vocab-256-len(specials))
	tok, err := tokenizer.TrainBPE(text, tokenizer.TrainOptions{VocabSize: *vocab, Specials: specials,
		Progress: func(done, total int) { bar.Update(done) }})
	if err != nil {
		return err
	}
	bar.Total = tok.VocabSize() - 256 - len(specials) // the merges learnt
	bar.Done()
	if got := tok.VocabSize(); got < *vocab {
		fmt.Fprintf(stderr, "loom tokenizer train: %s has too few distinct pairs for --vocab %d: learnt %d merges, so the vocabulary has %d tokens, not %d (more text gives more)\n",
			name, *vocab, got-256-len(specials), got, *vocab)
	}
	if err := tok.SaveHF(*out); err != nil {
		return err
	}
	n := len(tok.Encode(string(text)))
	fmt.Fprintf(stdout, "wrote %s: %d tokens learnt from %s (%d bytes → %d tokens, %.2f bytes/token)\n",
		*out, tok.VocabSize(), name, len(text), n, float64(len(text))/float64(max(1, n)))
	return nil
}
