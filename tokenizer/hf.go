package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/tokenizer/pretok"
)

// Hugging Face tokenizer.json support for the BPE families loom imports:
// byte-level BPE (GPT-2, Llama-3, Qwen2: a ByteLevel or Split+ByteLevel
// pre-tokenizer) and character BPE with byte fallback (Llama-2, Mistral:
// "▁" for spaces through a Prepend/Replace normalizer or a Metaspace
// pre-tokenizer). Anything else is rejected with an error that names the
// component.

// hfFile is the part of tokenizer.json loom reads and writes.
type hfFile struct {
	Version       string          `json:"version"`
	Truncation    json.RawMessage `json:"truncation"`
	Padding       json.RawMessage `json:"padding"`
	AddedTokens   []hfAddedToken  `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
	Model         hfModel         `json:"model"`
}

type hfAddedToken struct {
	ID         int    `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	Lstrip     bool   `json:"lstrip"`
	Rstrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

type hfModel struct {
	Type                    string          `json:"type"`
	Dropout                 *float64        `json:"dropout"`
	UnkToken                *string         `json:"unk_token"`
	ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string         `json:"end_of_word_suffix"`
	FuseUnk                 bool            `json:"fuse_unk"`
	ByteFallback            bool            `json:"byte_fallback"`
	IgnoreMerges            bool            `json:"ignore_merges,omitempty"`
	Vocab                   json.RawMessage `json:"vocab"`
	Merges                  json.RawMessage `json:"merges"`
}

// component is the "type" of a normalizer, pre-tokenizer, decoder or
// post-processor, with its fields kept raw.
type component struct {
	Type string `json:"type"`
	raw  json.RawMessage
}

func parseComponent(raw json.RawMessage) (*component, error) {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return nil, nil
	}
	var c component
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, err
	}
	c.raw = raw
	return &c, nil
}

// hfErr names the file and the field.
func hfErr(file, field, format string, args ...any) error {
	return fmt.Errorf("tokenizer: %s: %s: %s", file, field, fmt.Sprintf(format, args...))
}

// LoadHF reads a Hugging Face tokenizer.json.
func LoadHF(path string) (*BPE, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseHF(path, data)
}

// ParseHF builds a tokenizer from tokenizer.json contents; name is used in
// errors and as the tokenizer's name.
func ParseHF(name string, data []byte) (*BPE, error) {
	var f hfFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("tokenizer: %s: not a tokenizer.json: %v", name, err)
	}
	m := f.Model
	if m.Type != "BPE" {
		if m.Type == "" {
			return nil, hfErr(name, "model.type", "missing (want \"BPE\")")
		}
		return nil, hfErr(name, "model.type", "%q is not supported (loom reads BPE models)", m.Type)
	}
	if m.Dropout != nil && *m.Dropout != 0 {
		return nil, hfErr(name, "model.dropout", "BPE dropout %v is not supported", *m.Dropout)
	}
	if m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "" {
		return nil, hfErr(name, "model.continuing_subword_prefix", "%q is not supported", *m.ContinuingSubwordPrefix)
	}
	if m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "" {
		return nil, hfErr(name, "model.end_of_word_suffix", "%q is not supported", *m.EndOfWordSuffix)
	}
	var vocab map[string]int
	if err := json.Unmarshal(m.Vocab, &vocab); err != nil || vocab == nil {
		return nil, hfErr(name, "model.vocab", "want an object of token → id (%v)", err)
	}
	merges, err := parseMerges(m.Merges)
	if err != nil {
		return nil, hfErr(name, "model.merges", "%v", err)
	}
	t := &BPE{name: strings.TrimSuffix(filepath.Base(name), ".json"), eos: -1, unk: -1, hf: &f,
		specialsInEncode: true, fuseUnk: m.FuseUnk, ignoreMerges: m.IgnoreMerges}
	for i := range t.byteIDs {
		t.byteIDs[i], t.byteFallback[i] = -1, -1
	}
	n := 0
	for tok, id := range vocab {
		if id < 0 || id > 1<<24 {
			return nil, hfErr(name, "model.vocab", "token %q has id %d", tok, id)
		}
		n = max(n, id+1)
	}
	for _, a := range f.AddedTokens {
		if a.ID < 0 || a.ID > 1<<24 {
			return nil, hfErr(name, "added_tokens", "token %q has id %d", a.Content, a.ID)
		}
		n = max(n, a.ID+1)
	}
	strs := make([]string, n) // id → token string as in the vocabulary
	seen := make([]bool, n)
	for tok, id := range vocab {
		if seen[id] {
			return nil, hfErr(name, "model.vocab", "id %d is given to %q and %q", id, strs[id], tok)
		}
		strs[id], seen[id] = tok, true
	}

	// What kind of model: byte-level or character-level with byte fallback.
	pre, err := parseComponent(f.PreTokenizer)
	if err != nil {
		return nil, hfErr(name, "pre_tokenizer", "%v", err)
	}
	normComp, err := parseComponent(f.Normalizer)
	if err != nil {
		return nil, hfErr(name, "normalizer", "%v", err)
	}
	byteLevel, prefixSpace, split, err := parsePreTokenizer(name, pre)
	if err != nil {
		return nil, err
	}
	t.split = split
	normalize, metaspace, err := parseNormalizer(name, normComp)
	if err != nil {
		return nil, err
	}
	if pre != nil && pre.Type == "Metaspace" {
		var ms struct {
			Replacement    string `json:"replacement"`
			AddPrefixSpace *bool  `json:"add_prefix_space"`
			PrependScheme  string `json:"prepend_scheme"`
			Split          *bool  `json:"split"`
		}
		json.Unmarshal(pre.raw, &ms)
		if ms.Replacement != "▁" {
			return nil, hfErr(name, "pre_tokenizer.replacement", "%q is not supported (want \"▁\")", ms.Replacement)
		}
		prepend := ms.PrependScheme == "always" || ms.PrependScheme == "first" || (ms.PrependScheme == "" && (ms.AddPrefixSpace == nil || *ms.AddPrefixSpace))
		if ms.PrependScheme == "first" {
			return nil, hfErr(name, "pre_tokenizer.prepend_scheme", "\"first\" is not supported")
		}
		normalize = chain(normalize, func(s string) string {
			s = strings.ReplaceAll(s, " ", "▁")
			if prepend && !strings.HasPrefix(s, "▁") {
				s = "▁" + s
			}
			return s
		})
		metaspace = true
		if ms.Split == nil || *ms.Split {
			t.split = metaspaceSplitter{}
		}
	}
	t.normalize = normalize
	if prefixSpace {
		t.normalize = chain(t.normalize, func(s string) string {
			if !strings.HasPrefix(s, " ") {
				return " " + s
			}
			return s
		})
	}

	// Token bytes and initial symbols.
	t.vocab = make([][]byte, n)
	ids := make(map[string]int, len(vocab))
	for tok, id := range vocab {
		ids[tok] = id
	}
	if byteLevel {
		if metaspace || m.ByteFallback {
			return nil, hfErr(name, "model", "byte-level BPE with byte_fallback or \"▁\" spaces is not supported")
		}
		u2b := unicodeToBytes()
		for id, s := range strs {
			if !seen[id] {
				continue
			}
			b, ok := decodeByteLevel(s, u2b)
			if !ok {
				b = []byte(s) // e.g. special tokens stored in the vocabulary as they are
			}
			t.vocab[id] = b
		}
		b2u := bytesToUnicode()
		for b := range 256 {
			id, ok := ids[string(b2u[b])]
			if !ok {
				return nil, hfErr(name, "model.vocab", "byte 0x%02x (%q) has no token; a byte-level vocabulary needs all 256", b, string(b2u[b]))
			}
			t.byteIDs[b] = id
		}
	} else {
		t.charLevel = true
		t.chars = ids
		for id, s := range strs {
			if !seen[id] {
				continue
			}
			if b, ok := byteFallbackToken(s); ok && m.ByteFallback {
				t.vocab[id] = []byte{b}
				t.byteFallback[b] = id
				continue
			}
			t.vocab[id] = []byte(strings.ReplaceAll(s, "▁", " "))
		}
		if m.ByteFallback {
			for b := range 256 {
				if t.byteFallback[b] < 0 {
					return nil, hfErr(name, "model.vocab", "byte_fallback is set but token <0x%02X> is missing", b)
				}
			}
		}
	}
	if m.UnkToken != nil {
		id, ok := ids[*m.UnkToken]
		if !ok {
			return nil, hfErr(name, "model.unk_token", "%q is not in the vocabulary", *m.UnkToken)
		}
		t.unk = id
	}
	t.merges = mergeTable{}
	for r, mg := range merges {
		a, okA := ids[mg[0]]
		b, okB := ids[mg[1]]
		c, okC := ids[mg[0]+mg[1]]
		if !okA || !okB || !okC {
			missing := mg[0]
			if okA {
				missing = mg[1]
			}
			if okA && okB {
				missing = mg[0] + mg[1]
			}
			return nil, hfErr(name, fmt.Sprintf("model.merges[%d]", r), "%q + %q: %q is not in the vocabulary", mg[0], mg[1], missing)
		}
		if _, dup := t.merges[pairKey(a, b)]; !dup {
			t.merges[pairKey(a, b)] = merge{rank: int32(r), id: int32(c)}
		}
	}
	if t.ignoreMerges {
		t.wordIDs = ids // character models see words in vocabulary form
		if byteLevel {
			t.wordIDs = make(map[string]int, len(ids))
			for id, b := range t.vocab {
				if b != nil && seen[id] {
					t.wordIDs[string(b)] = id
				}
			}
		}
	}

	// Added tokens are cut out of the text before anything else.
	specials := map[string]int{}
	for i, a := range f.AddedTokens {
		if a.SingleWord || a.Lstrip || a.Rstrip {
			return nil, hfErr(name, fmt.Sprintf("added_tokens[%d]", i), "%q uses single_word/lstrip/rstrip, which loom does not support", a.Content)
		}
		if a.Content == "" {
			return nil, hfErr(name, fmt.Sprintf("added_tokens[%d]", i), "empty content")
		}
		if prev, ok := specials[a.Content]; ok && prev != a.ID {
			return nil, hfErr(name, fmt.Sprintf("added_tokens[%d]", i), "%q is listed with ids %d and %d", a.Content, prev, a.ID)
		}
		specials[a.Content] = a.ID
		if t.vocab[a.ID] == nil || seen[a.ID] && strs[a.ID] != a.Content {
			if seen[a.ID] && strs[a.ID] != a.Content {
				return nil, hfErr(name, fmt.Sprintf("added_tokens[%d]", i), "id %d is %q in the vocabulary but %q here", a.ID, strs[a.ID], a.Content)
			}
			t.vocab[a.ID] = []byte(a.Content)
		} else {
			t.vocab[a.ID] = []byte(a.Content)
		}
	}
	t.setSpecials(specials)
	for _, eos := range []string{"<|endoftext|>", "</s>", "<|end_of_text|>", "<|im_end|>", "<|eot_id|>"} {
		if id, ok := specials[eos]; ok {
			t.eos = id
			break
		}
	}
	if err := t.parseDecoder(name, f.Decoder); err != nil {
		return nil, err
	}
	if err := t.parsePostProcessor(name, f.PostProcessor); err != nil {
		return nil, err
	}
	return t, nil
}

// parseMerges accepts merges as "a b" strings or ["a", "b"] pairs.
func parseMerges(raw json.RawMessage) ([][2]string, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("missing")
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("want a list: %v", err)
	}
	out := make([][2]string, len(list))
	for i, item := range list {
		var s string
		if json.Unmarshal(item, &s) == nil {
			a, b, ok := strings.Cut(s, " ")
			if !ok || a == "" || b == "" || strings.Contains(b, " ") {
				return nil, fmt.Errorf("[%d] %q: want two tokens separated by one space", i, s)
			}
			out[i] = [2]string{a, b}
			continue
		}
		var pair []string
		if err := json.Unmarshal(item, &pair); err != nil || len(pair) != 2 || pair[0] == "" || pair[1] == "" {
			return nil, fmt.Errorf("[%d] %s: want \"a b\" or [\"a\", \"b\"]", i, item)
		}
		out[i] = [2]string{pair[0], pair[1]}
	}
	return out, nil
}

// parsePreTokenizer returns whether the model is byte-level, whether a
// space is prepended, and the splitter.
func parsePreTokenizer(name string, c *component) (byteLevel, prefixSpace bool, split pretok.Splitter, err error) {
	if c == nil {
		return false, false, nil, nil
	}
	switch c.Type {
	case "ByteLevel":
		var bl struct {
			AddPrefixSpace bool  `json:"add_prefix_space"`
			UseRegex       *bool `json:"use_regex"`
		}
		json.Unmarshal(c.raw, &bl)
		if bl.UseRegex == nil || *bl.UseRegex {
			split, err = pretok.ForPattern(pretok.GPT2Pattern)
		}
		return true, bl.AddPrefixSpace, split, err
	case "Split":
		sp, err := parseSplit(name, "pre_tokenizer", c.raw)
		return false, false, sp, err
	case "Metaspace":
		return false, false, nil, nil // handled by the caller
	case "Sequence":
		var seq struct {
			Pretokenizers []json.RawMessage `json:"pretokenizers"`
		}
		if err := json.Unmarshal(c.raw, &seq); err != nil {
			return false, false, nil, hfErr(name, "pre_tokenizer", "%v", err)
		}
		for i, raw := range seq.Pretokenizers {
			sub, err := parseComponent(raw)
			if err != nil || sub == nil {
				return false, false, nil, hfErr(name, fmt.Sprintf("pre_tokenizer.pretokenizers[%d]", i), "invalid (%v)", err)
			}
			switch {
			case sub.Type == "Split" && split == nil:
				if split, err = parseSplit(name, fmt.Sprintf("pre_tokenizer.pretokenizers[%d]", i), sub.raw); err != nil {
					return false, false, nil, err
				}
			case sub.Type == "ByteLevel":
				var bl struct {
					AddPrefixSpace bool  `json:"add_prefix_space"`
					UseRegex       *bool `json:"use_regex"`
				}
				json.Unmarshal(sub.raw, &bl)
				if bl.UseRegex != nil && *bl.UseRegex && split != nil {
					return false, false, nil, hfErr(name, fmt.Sprintf("pre_tokenizer.pretokenizers[%d]", i), "a Split followed by a ByteLevel with use_regex is not supported")
				}
				if bl.UseRegex == nil || *bl.UseRegex {
					if split, err = pretok.ForPattern(pretok.GPT2Pattern); err != nil {
						return false, false, nil, err
					}
				}
				byteLevel, prefixSpace = true, bl.AddPrefixSpace
			default:
				return false, false, nil, hfErr(name, fmt.Sprintf("pre_tokenizer.pretokenizers[%d]", i), "%q is not supported here (loom reads Split then ByteLevel)", sub.Type)
			}
		}
		return byteLevel, prefixSpace, split, nil
	}
	return false, false, nil, hfErr(name, "pre_tokenizer.type", "%q is not supported (have ByteLevel, Split, Metaspace, Sequence)", c.Type)
}

func parseSplit(name, field string, raw json.RawMessage) (pretok.Splitter, error) {
	var s struct {
		Pattern struct {
			Regex  *string `json:"Regex"`
			String *string `json:"String"`
		} `json:"pattern"`
		Behavior string `json:"behavior"`
		Invert   bool   `json:"invert"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, hfErr(name, field, "%v", err)
	}
	if s.Behavior != "Isolated" || s.Invert {
		return nil, hfErr(name, field+".behavior", "%q (invert %v) is not supported (want Isolated, not inverted)", s.Behavior, s.Invert)
	}
	if s.Pattern.Regex == nil {
		return nil, hfErr(name, field+".pattern", "want a Regex pattern")
	}
	sp, err := pretok.ForPattern(*s.Pattern.Regex)
	if err != nil {
		return nil, hfErr(name, field+".pattern", "%v", err)
	}
	return sp, nil
}

// parseNormalizer supports Sequence, Prepend, Replace (string patterns) and
// the Unicode normal forms; metaspace reports a "▁" replacement.
func parseNormalizer(name string, c *component) (func(string) string, bool, error) {
	if c == nil {
		return nil, false, nil
	}
	switch c.Type {
	case "Sequence":
		var seq struct {
			Normalizers []json.RawMessage `json:"normalizers"`
		}
		if err := json.Unmarshal(c.raw, &seq); err != nil {
			return nil, false, hfErr(name, "normalizer", "%v", err)
		}
		var f func(string) string
		meta := false
		for i, raw := range seq.Normalizers {
			sub, err := parseComponent(raw)
			if err != nil || sub == nil {
				return nil, false, hfErr(name, fmt.Sprintf("normalizer.normalizers[%d]", i), "invalid (%v)", err)
			}
			g, m, err := parseNormalizer(name, sub)
			if err != nil {
				return nil, false, err
			}
			f, meta = chain(f, g), meta || m
		}
		return f, meta, nil
	case "Prepend":
		var p struct {
			Prepend string `json:"prepend"`
		}
		json.Unmarshal(c.raw, &p)
		return func(s string) string {
			if s == "" {
				return s
			}
			return p.Prepend + s
		}, p.Prepend == "▁", nil
	case "Replace":
		var r struct {
			Pattern struct {
				String *string `json:"String"`
			} `json:"pattern"`
			Content string `json:"content"`
		}
		json.Unmarshal(c.raw, &r)
		if r.Pattern.String == nil {
			return nil, false, hfErr(name, "normalizer.pattern", "only String patterns are supported in Replace")
		}
		from := *r.Pattern.String
		return func(s string) string { return strings.ReplaceAll(s, from, r.Content) }, r.Content == "▁", nil
	case "NFC":
		return norm.NFC.String, false, nil
	case "NFD":
		return norm.NFD.String, false, nil
	case "NFKC":
		return norm.NFKC.String, false, nil
	case "NFKD":
		return norm.NFKD.String, false, nil
	}
	return nil, false, hfErr(name, "normalizer.type", "%q is not supported (have Sequence, Prepend, Replace, NFC, NFD, NFKC, NFKD)", c.Type)
}

func chain(f, g func(string) string) func(string) string {
	switch {
	case f == nil:
		return g
	case g == nil:
		return f
	}
	return func(s string) string { return g(f(s)) }
}

// parseDecoder checks the decoder against the model kind and records a
// leading-space strip.
func (t *BPE) parseDecoder(name string, raw json.RawMessage) error {
	c, err := parseComponent(raw)
	if err != nil {
		return hfErr(name, "decoder", "%v", err)
	}
	if c == nil {
		return nil
	}
	var walk func(c *component, field string) error
	walk = func(c *component, field string) error {
		switch c.Type {
		case "ByteLevel", "ByteFallback", "Fuse", "Metaspace", "Replace":
			if c.Type == "Metaspace" {
				var ms struct {
					AddPrefixSpace *bool  `json:"add_prefix_space"`
					PrependScheme  string `json:"prepend_scheme"`
				}
				json.Unmarshal(c.raw, &ms)
				if ms.PrependScheme != "never" && (ms.AddPrefixSpace == nil || *ms.AddPrefixSpace) {
					t.decodeStrip = 1
				}
			}
			return nil
		case "Strip":
			var s struct {
				Content string `json:"content"`
				Start   int    `json:"start"`
				Stop    int    `json:"stop"`
			}
			json.Unmarshal(c.raw, &s)
			if s.Content != " " || s.Stop != 0 || s.Start < 0 {
				return hfErr(name, field, "Strip %+v is not supported (want content \" \", stop 0)", s)
			}
			t.decodeStrip = s.Start
			return nil
		case "Sequence":
			var seq struct {
				Decoders []json.RawMessage `json:"decoders"`
			}
			json.Unmarshal(c.raw, &seq)
			for i, r := range seq.Decoders {
				sub, err := parseComponent(r)
				if err != nil || sub == nil {
					return hfErr(name, fmt.Sprintf("%s.decoders[%d]", field, i), "invalid (%v)", err)
				}
				if err := walk(sub, fmt.Sprintf("%s.decoders[%d]", field, i)); err != nil {
					return err
				}
			}
			return nil
		}
		return hfErr(name, field+".type", "%q is not supported (have ByteLevel, Metaspace, Sequence of Replace/ByteFallback/Fuse/Strip)", c.Type)
	}
	return walk(c, "decoder")
}

// parsePostProcessor reads TemplateProcessing's single-sequence template
// (for EncodeAddSpecial); ByteLevel post-processing changes no ids.
func (t *BPE) parsePostProcessor(name string, raw json.RawMessage) error {
	c, err := parseComponent(raw)
	if err != nil {
		return hfErr(name, "post_processor", "%v", err)
	}
	if c == nil || c.Type == "ByteLevel" {
		return nil
	}
	if c.Type == "Sequence" {
		var seq struct {
			Processors []json.RawMessage `json:"processors"`
		}
		json.Unmarshal(c.raw, &seq)
		for _, r := range seq.Processors {
			if err := t.parsePostProcessor(name, r); err != nil {
				return err
			}
		}
		return nil
	}
	if c.Type != "TemplateProcessing" {
		return hfErr(name, "post_processor.type", "%q is not supported (have TemplateProcessing, ByteLevel, Sequence)", c.Type)
	}
	var tp struct {
		Single []struct {
			SpecialToken *struct {
				ID string `json:"id"`
			} `json:"SpecialToken"`
			Sequence *struct {
				ID string `json:"id"`
			} `json:"Sequence"`
		} `json:"single"`
		SpecialTokens map[string]struct {
			IDs []int `json:"ids"`
		} `json:"special_tokens"`
	}
	if err := json.Unmarshal(c.raw, &tp); err != nil {
		return hfErr(name, "post_processor", "%v", err)
	}
	seenSeq := false
	for i, p := range tp.Single {
		switch {
		case p.Sequence != nil:
			seenSeq = true
		case p.SpecialToken != nil:
			st, ok := tp.SpecialTokens[p.SpecialToken.ID]
			if !ok {
				return hfErr(name, fmt.Sprintf("post_processor.single[%d]", i), "special token %q is not in special_tokens", p.SpecialToken.ID)
			}
			if seenSeq {
				t.suffix = append(t.suffix, st.IDs...)
			} else {
				t.prefix = append(t.prefix, st.IDs...)
			}
		}
	}
	return nil
}

// EncodeAddSpecial is Encode plus the special tokens the tokenizer's
// post-processor adds around a single sequence (transformers'
// add_special_tokens=True), e.g. Llama's BOS.
func (t *BPE) EncodeAddSpecial(text string) []int {
	out := append([]int(nil), t.prefix...)
	out = t.AppendEncode(out, text)
	return append(out, t.suffix...)
}

// SaveHF writes the tokenizer as tokenizer.json (atomically). Tokenizers
// loaded from tokenizer.json or trained by loom can be saved.
func (t *BPE) SaveHF(path string) error {
	if t.hf == nil {
		return fmt.Errorf("tokenizer: %s was not loaded from a tokenizer.json and cannot be saved as one", t.name)
	}
	b, err := json.MarshalIndent(t.hf, "", "  ")
	if err != nil {
		return err
	}
	return fsutil.WriteFile(path, append(b, '\n'))
}

// metaspaceSplitter splits "▁"-joined text before every "▁" (HF's
// Metaspace pre-tokenizer with split: each word keeps its leading "▁").
type metaspaceSplitter struct{}

func (metaspaceSplitter) Split(text string, emit func(string)) {
	start := 0
	for i := 0; i < len(text); {
		if strings.HasPrefix(text[i:], "▁") && i > start {
			emit(text[start:i])
			start = i
		}
		_, n := utf8.DecodeRuneInString(text[i:])
		i += n
	}
	if start < len(text) {
		emit(text[start:])
	}
}

// byteFallbackToken parses "<0xAB>".
func byteFallbackToken(s string) (byte, bool) {
	if len(s) != 6 || !strings.HasPrefix(s, "<0x") || s[5] != '>' {
		return 0, false
	}
	v, err := strconv.ParseUint(s[3:5], 16, 8)
	return byte(v), err == nil
}

// bytesToUnicode is GPT-2's table mapping each byte to a printable rune:
// printable Latin-1 bytes map to themselves, the rest to U+0100 onwards.
func bytesToUnicode() [256]rune {
	var t [256]rune
	n := 0
	for b := range 256 {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			t[b] = rune(b)
		} else {
			t[b] = rune(256 + n)
			n++
		}
	}
	return t
}

func unicodeToBytes() map[rune]byte {
	m := make(map[rune]byte, 256)
	for b, r := range bytesToUnicode() {
		m[r] = byte(b)
	}
	return m
}

// decodeByteLevel maps a byte-level token string back to bytes.
func decodeByteLevel(s string, u2b map[rune]byte) ([]byte, bool) {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		b, ok := u2b[r]
		if !ok {
			return nil, false
		}
		out = append(out, b)
	}
	return out, true
}

// encodeByteLevel maps bytes to the byte-level token string.
func encodeByteLevel(b []byte) string {
	t := bytesToUnicode()
	var sb strings.Builder
	for _, c := range b {
		sb.WriteRune(t[c])
	}
	return sb.String()
}
