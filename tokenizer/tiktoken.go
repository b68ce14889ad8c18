package tokenizer

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pkoukk/tiktoken-go-loader/assets"

	"github.com/loomml/loom/tokenizer/pretok"
)

// tiktoken encodings. The rank files are OpenAI's, shipped in the Go module
// github.com/pkoukk/tiktoken-go-loader (so nothing is downloaded); the
// patterns and special tokens are tiktoken's.
type tiktokenSpec struct {
	name, file, pattern string
	specials            map[string]int
	eos                 string
}

var tiktokenSpecs = []tiktokenSpec{
	{"r50k_base", "r50k_base.tiktoken", pretok.GPT2Pattern, map[string]int{"<|endoftext|>": 50256}, "<|endoftext|>"},
	{"p50k_base", "p50k_base.tiktoken", pretok.GPT2Pattern, map[string]int{"<|endoftext|>": 50256}, "<|endoftext|>"},
	{"cl100k_base", "cl100k_base.tiktoken", pretok.CL100KPattern, map[string]int{
		"<|endoftext|>": 100257, "<|fim_prefix|>": 100258, "<|fim_middle|>": 100259,
		"<|fim_suffix|>": 100260, "<|endofprompt|>": 100276}, "<|endoftext|>"},
	{"o200k_base", "o200k_base.tiktoken", pretok.O200KPattern, map[string]int{
		"<|endoftext|>": 199999, "<|endofprompt|>": 200018}, "<|endoftext|>"},
}

func init() {
	for _, s := range tiktokenSpecs {
		Register(s.name, func() (Tokenizer, error) {
			data, err := assets.Assets.ReadFile(s.file)
			if err != nil {
				return nil, fmt.Errorf("tokenizer: %s: %w", s.name, err)
			}
			return NewTiktoken(s.name, s.file, data, s.pattern, s.specials, s.eos)
		})
	}
	for alias, name := range map[string]string{"gpt2": "r50k_base", "cl100k": "cl100k_base", "o200k": "o200k_base", "r50k": "r50k_base"} {
		Register(alias, func() (Tokenizer, error) { return New(name) })
	}
}

// LoadTiktoken reads a tiktoken rank file (one "base64-token rank" pair per
// line) with the given pre-tokenizer pattern and special tokens.
func LoadTiktoken(path, pattern string, specials map[string]int, eos string) (*BPE, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return NewTiktoken(strings.TrimSuffix(filepath.Base(path), ".tiktoken"), path, data, pattern, specials, eos)
}

// NewTiktoken builds an encoding from the contents of a rank file; file
// names it in errors.
func NewTiktoken(name, file string, data []byte, pattern string, specials map[string]int, eos string) (*BPE, error) {
	ranks := map[string]int{}
	maxRank := -1
	line := 0
	for len(data) > 0 {
		line++
		var l []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			l, data = data[:i], data[i+1:]
		} else {
			l, data = data, nil
		}
		if len(l) == 0 {
			continue
		}
		tokB64, rankS, ok := bytes.Cut(l, []byte(" "))
		if !ok {
			return nil, fmt.Errorf("tokenizer: %s:%d: want \"<base64 token> <rank>\", have %q", file, line, l)
		}
		tok, err := base64.StdEncoding.DecodeString(string(tokB64))
		if err != nil {
			return nil, fmt.Errorf("tokenizer: %s:%d: token %q is not base64: %v", file, line, tokB64, err)
		}
		rank, err := strconv.Atoi(string(rankS))
		if err != nil || rank < 0 || rank > 1<<24 {
			return nil, fmt.Errorf("tokenizer: %s:%d: rank %q is not an integer in [0, 2^24]", file, line, rankS)
		}
		if _, dup := ranks[string(tok)]; dup {
			return nil, fmt.Errorf("tokenizer: %s:%d: token %q listed twice", file, line, tok)
		}
		ranks[string(tok)] = rank
		maxRank = max(maxRank, rank)
	}
	n := maxRank + 1
	for s, id := range specials {
		if id < 0 || id > 1<<24 {
			return nil, fmt.Errorf("tokenizer: %s: special token %q has id %d", file, s, id)
		}
		n = max(n, id+1)
	}
	t := &BPE{name: name, vocab: make([][]byte, n), eos: -1, unk: -1}
	for i := range t.byteIDs {
		t.byteIDs[i], t.byteFallback[i] = -1, -1
	}
	for tok, r := range ranks {
		if t.vocab[r] != nil {
			return nil, fmt.Errorf("tokenizer: %s: rank %d is given to two tokens", file, r)
		}
		t.vocab[r] = []byte(tok)
		if len(tok) == 1 {
			t.byteIDs[tok[0]] = r
		}
	}
	for b, id := range t.byteIDs {
		if id < 0 {
			return nil, fmt.Errorf("tokenizer: %s: byte 0x%02x has no token; byte-level encodings need all 256", file, b)
		}
	}
	// Merges come from the ranked tokens only: special tokens are never the
	// result of a merge.
	t.merges = buildRankMerges(t.vocab, ranks)
	for s, id := range specials {
		if t.vocab[id] != nil {
			return nil, fmt.Errorf("tokenizer: %s: special token %q collides with rank %d", file, s, id)
		}
		t.vocab[id] = []byte(s)
	}
	if eos != "" {
		id, ok := specials[eos]
		if !ok {
			return nil, fmt.Errorf("tokenizer: %s: end-of-text token %q is not among the special tokens", file, eos)
		}
		t.eos = id
	}
	t.setSpecials(specials)
	sp, err := pretok.ForPattern(pattern)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", name, err)
	}
	t.split = sp
	return t, nil
}
