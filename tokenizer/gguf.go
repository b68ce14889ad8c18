package tokenizer

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/loomml/loom/tokenizer/pretok"
)

// GGUF token types (llama.cpp's llama_token_type).
const (
	TokenNormal      = 1
	TokenUnknown     = 2
	TokenControl     = 3
	TokenUserDefined = 4
	TokenUnused      = 5
	TokenByte        = 6
)

// Vocab is a tokenizer as GGUF metadata holds it (the tokenizer.ggml.*
// keys llama.cpp reads). loom writes and reads byte-level BPE tokenizers
// as model "gpt2": tokens in GPT-2's byte-to-unicode spelling, merges as
// "left right" strings of that spelling, and a pre-tokenizer name.
type Vocab struct {
	Model  string   // tokenizer.ggml.model: "gpt2" or "llama"
	Pre    string   // tokenizer.ggml.pre: "gpt-2", "llama-bpe", ...
	Tokens []string // tokenizer.ggml.tokens, one per id
	Types  []int32  // tokenizer.ggml.token_type
	// Scores are tokenizer.ggml.scores, one per token: the piece scores
	// of a SentencePiece ("llama") vocabulary; nil for "gpt2".
	Scores []float32
	// AddSpacePrefix is tokenizer.ggml.add_space_prefix (nil: absent;
	// llama.cpp then prefixes a space for "llama" vocabularies).
	AddSpacePrefix *bool
	Merges         []string // tokenizer.ggml.merges
	// BOS, EOS, UNK and PAD are special ids (-1: none).
	BOS, EOS, UNK, PAD int
	AddBOS, AddEOS     bool // tokenizer.ggml.add_bos_token, add_eos_token
}

// preNames maps pre-tokenizer patterns to llama.cpp's names for them
// (llama-vocab.cpp's LLAMA_VOCAB_PRE_TYPE_*).
var preNames = []struct{ name, pattern string }{
	{"gpt-2", pretok.GPT2Pattern},
	{"llama-bpe", pretok.Llama3Pattern},
	{"qwen2", qwen2Pattern},
}

// qwen2Pattern is the Split pattern of Qwen2's tokenizer.json (cl100k's
// with single digits).
const qwen2Pattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

// ToVocab returns tok as GGUF vocabulary metadata, padded with unused
// tokens to size ids (the model's vocab_size; 0: the tokenizer's size).
// The byte tokenizer, byte-level BPE tokenizers loaded from or trained
// as tokenizer.json and SentencePiece BPE models (model "llama", with
// scores and add_space_prefix) can be converted; others are an error
// naming them.
func ToVocab(tok Tokenizer, size int) (*Vocab, error) {
	var v *Vocab
	switch t := tok.(type) {
	case Byte:
		v = &Vocab{Model: "gpt2", Pre: "gpt-2", BOS: -1, EOS: -1, UNK: -1, PAD: -1}
		b2u := bytesToUnicode()
		for i := range 256 {
			v.Tokens = append(v.Tokens, string(b2u[i]))
			v.Types = append(v.Types, TokenNormal)
		}
		v.Merges = []string{}
	case *BPE:
		var err error
		if v, err = t.toVocab(); err != nil {
			return nil, err
		}
	case *SentencePiece:
		var err error
		if v, err = t.toVocab(); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("tokenizer: %s cannot be written as GGUF metadata (loom writes the byte tokenizer, byte-level BPE and SentencePiece BPE tokenizers)", tok.Name())
	}
	if size == 0 {
		size = len(v.Tokens)
	}
	if len(v.Tokens) > size {
		return nil, fmt.Errorf("tokenizer: %s has %d tokens, more than the model's vocab_size %d", tok.Name(), len(v.Tokens), size)
	}
	for i := len(v.Tokens); i < size; i++ {
		v.Tokens = append(v.Tokens, fmt.Sprintf("[PAD%d]", i))
		v.Types = append(v.Types, TokenUnused)
		if v.Scores != nil {
			v.Scores = append(v.Scores, 0)
		}
	}
	return v, nil
}

func (t *BPE) toVocab() (*Vocab, error) {
	if t.hf == nil {
		return nil, fmt.Errorf("tokenizer: %s is not a tokenizer.json BPE and cannot be written as GGUF metadata", t.name)
	}
	if t.charLevel || t.normalize != nil {
		return nil, fmt.Errorf("tokenizer: %s is a SentencePiece-style BPE; loom writes only byte-level BPE as GGUF", t.name)
	}
	pattern, err := t.hfPattern()
	if err != nil {
		return nil, err
	}
	pre := ""
	for _, p := range preNames {
		if p.pattern == pattern {
			pre = p.name
		}
	}
	if pre == "" {
		return nil, fmt.Errorf("tokenizer: %s splits words by a pattern llama.cpp has no name for (%q)", t.name, pattern)
	}
	var vocab map[string]int
	if err := json.Unmarshal(t.hf.Model.Vocab, &vocab); err != nil {
		return nil, fmt.Errorf("tokenizer: %s: model.vocab: %v", t.name, err)
	}
	merges, err := parseMerges(t.hf.Model.Merges)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: model.merges: %v", t.name, err)
	}
	n := len(t.vocab)
	v := &Vocab{Model: "gpt2", Pre: pre, Tokens: make([]string, n), Types: make([]int32, n), BOS: -1, EOS: t.eos, UNK: -1, PAD: -1}
	for s, id := range vocab {
		if id >= 0 && id < n {
			v.Tokens[id], v.Types[id] = s, TokenNormal
		}
	}
	for _, a := range t.hf.AddedTokens {
		if a.ID >= 0 && a.ID < n {
			v.Tokens[a.ID] = a.Content
			v.Types[a.ID] = TokenUserDefined
			if a.Special {
				v.Types[a.ID] = TokenControl
			}
		}
	}
	for id, s := range v.Tokens {
		if s == "" {
			v.Tokens[id], v.Types[id] = fmt.Sprintf("[UNUSED%d]", id), TokenUnused
		}
	}
	if len(t.prefix) == 1 {
		v.BOS, v.AddBOS = t.prefix[0], true
	}
	if len(t.suffix) == 1 {
		v.EOS, v.AddEOS = t.suffix[0], true
	}
	v.Merges = make([]string, len(merges))
	for i, m := range merges {
		v.Merges[i] = m[0] + " " + m[1]
	}
	return v, nil
}

// hfPattern returns the word-splitting pattern of a byte-level
// tokenizer.json: GPT-2's for a ByteLevel pre-tokenizer with use_regex, or
// the Regex of a Split followed by a ByteLevel without it.
func (t *BPE) hfPattern() (string, error) {
	var pre struct {
		Type          string `json:"type"`
		UseRegex      *bool  `json:"use_regex"`
		Pretokenizers []struct {
			Type     string `json:"type"`
			UseRegex *bool  `json:"use_regex"`
			Pattern  struct {
				Regex *string `json:"Regex"`
			} `json:"pattern"`
		} `json:"pretokenizers"`
	}
	if err := json.Unmarshal(t.hf.PreTokenizer, &pre); err != nil {
		return "", fmt.Errorf("tokenizer: %s: pre_tokenizer: %v", t.name, err)
	}
	switch {
	case pre.Type == "ByteLevel" && (pre.UseRegex == nil || *pre.UseRegex):
		return pretok.GPT2Pattern, nil
	case pre.Type == "Sequence" && len(pre.Pretokenizers) == 2 && pre.Pretokenizers[0].Type == "Split" &&
		pre.Pretokenizers[0].Pattern.Regex != nil && pre.Pretokenizers[1].Type == "ByteLevel":
		return *pre.Pretokenizers[0].Pattern.Regex, nil
	}
	return "", fmt.Errorf("tokenizer: %s: pre_tokenizer %s cannot be named for llama.cpp", t.name, string(t.hf.PreTokenizer))
}

// FromVocab builds a tokenizer from GGUF vocabulary metadata; name is used
// in errors and as its name. Byte-level BPE ("gpt2") with a pre-tokenizer
// loom knows gives a *BPE, SentencePiece ("llama") a *SentencePiece that
// tokenises as llama.cpp does; other models are an error that names them.
func FromVocab(name string, v *Vocab) (Tokenizer, error) {
	switch v.Model {
	case "gpt2":
	case "llama":
		return fromLlamaVocab(name, v)
	default:
		return nil, fmt.Errorf("tokenizer: %s: tokenizer.ggml.model %q is not supported (loom reads \"gpt2\" byte-level BPE and \"llama\" SentencePiece)", name, v.Model)
	}
	pattern := ""
	switch v.Pre {
	case "", "default", "gpt-2":
		pattern = pretok.GPT2Pattern
	case "llama-bpe", "llama3", "llama-v3", "dbrx", "smaug-bpe":
		pattern = pretok.Llama3Pattern
	case "qwen2":
		pattern = qwen2Pattern
	default:
		known := []string{"default", "gpt-2", "llama-bpe", "qwen2"}
		return nil, fmt.Errorf("tokenizer: %s: tokenizer.ggml.pre %q is not supported (loom reads %s)", name, v.Pre, strings.Join(known, ", "))
	}
	if len(v.Types) != 0 && len(v.Types) != len(v.Tokens) {
		return nil, fmt.Errorf("tokenizer: %s: %d token types for %d tokens", name, len(v.Types), len(v.Tokens))
	}
	vocab := make(map[string]int, len(v.Tokens))
	var added []hfAddedToken
	for id, s := range v.Tokens {
		typ := int32(TokenNormal)
		if len(v.Types) > 0 {
			typ = v.Types[id]
		}
		switch typ {
		case TokenControl, TokenUserDefined:
			added = append(added, hfAddedToken{ID: id, Content: s, Special: typ == TokenControl})
			continue
		case TokenUnused:
			continue
		}
		if prev, dup := vocab[s]; dup {
			return nil, fmt.Errorf("tokenizer: %s: tokens %d and %d are both %q", name, prev, id, s)
		}
		vocab[s] = id
	}
	for i, m := range v.Merges {
		if strings.Count(m, " ") != 1 {
			return nil, fmt.Errorf("tokenizer: %s: merge %d is %q, want two tokens separated by one space", name, i, m)
		}
	}
	sort.Slice(added, func(i, j int) bool { return added[i].ID < added[j].ID })
	vb, _ := json.Marshal(vocab)
	mb, _ := json.Marshal(v.Merges)
	byteLevel := `{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true}`
	preTok := byteLevel
	if pattern != pretok.GPT2Pattern {
		pat, _ := json.Marshal(pattern)
		preTok = `{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":` + string(pat) +
			`},"behavior":"Isolated","invert":false},{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":false}]}`
	}
	post := byteLevel
	if v.AddBOS && v.BOS >= 0 && v.BOS < len(v.Tokens) {
		b, _ := json.Marshal(v.Tokens[v.BOS])
		post = fmt.Sprintf(`{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":%s,"type_id":0}},{"Sequence":{"id":"A","type_id":0}}],"pair":[],"special_tokens":{%s:{"id":%s,"ids":[%d],"tokens":[%s]}}}`, b, b, b, v.BOS, b)
	}
	f := hfFile{Version: "1.0", Truncation: json.RawMessage("null"), Padding: json.RawMessage("null"),
		AddedTokens: added, Normalizer: json.RawMessage("null"), PreTokenizer: json.RawMessage(preTok),
		PostProcessor: json.RawMessage(post), Decoder: json.RawMessage(byteLevel),
		Model: hfModel{Type: "BPE", Vocab: vb, Merges: mb}}
	raw, err := json.Marshal(f)
	if err != nil {
		return nil, err
	}
	t, err := ParseHF(name, raw)
	if err != nil {
		return nil, err
	}
	if v.EOS >= 0 && v.EOS < len(v.Tokens) {
		t.eos = v.EOS
	}
	return t, nil
}

// ByteHF returns the byte tokenizer as a byte-level BPE tokenizer.json
// model without merges: the same ids for every text, in a form that
// Hugging Face tokenizers and SaveHF write.
func ByteHF() *BPE {
	toks := make([][]byte, 256)
	for i := range toks {
		toks[i] = []byte{byte(i)}
	}
	t, err := hfFromTraining(TrainOptions{Name: "byte", Pattern: pretok.GPT2Pattern}, toks, nil)
	if err != nil {
		panic(err)
	}
	return t
}
