package tokenizer

import (
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/loomml/loom/tokenizer/pretok"
)

// BPE is a byte-pair-encoding tokenizer: special tokens are cut out of the
// text, the rest is split into words by a pre-tokenizer, each word is turned
// into initial symbols and merged by rank. It serves tiktoken encodings and
// Hugging Face tokenizer.json files (byte-level and byte-fallback BPE).
type BPE struct {
	name  string
	vocab [][]byte // id → the bytes it decodes to
	// pieces maps a symbol string (a byte for byte-level models, a
	// character for character models) to its id, for the initial symbols.
	byteIDs [256]int // byte-level: the id of each single byte; -1 if none
	chars   map[string]int
	merges  mergeTable
	split   pretok.Splitter // nil: the whole text is one word
	// specials are matched literally before splitting; Encode recognises
	// them when specialsInEncode (HF added tokens) and EncodeSpecial always.
	specials         map[string]int
	specialOrder     []string // longest first
	specialsInEncode bool
	eos              int
	// normalize, when not nil, rewrites each text segment before splitting
	// (Llama-2's "▁" handling); charLevel selects per-character initial
	// symbols with byte fallback instead of per-byte ones.
	normalize    func(string) string
	charLevel    bool
	byteFallback [256]int // byte-fallback ids (<0xXX>), -1 if absent
	unk          int      // unknown-symbol id, -1 if none
	fuseUnk      bool
	ignoreMerges bool           // a word that is itself a token is not merged
	wordIDs      map[string]int // whole-word lookup for ignoreMerges
	// decodeStrip removes this many leading spaces from decoded text.
	decodeStrip int
	// prefix and suffix are the ids a post-processor adds around a sequence.
	prefix, suffix []int
	hf             *hfFile // the parsed tokenizer.json, for saving
	cache          wordCache
}

// Name returns the tokenizer's name.
func (t *BPE) Name() string { return t.name }

// VocabSize returns the number of ids.
func (t *BPE) VocabSize() int { return len(t.vocab) }

// EOS returns the end-of-text id, or -1.
func (t *BPE) EOS() int { return t.eos }

// TokenBytes returns the bytes id decodes to (U+FFFD for unknown ids).
func (t *BPE) TokenBytes(id int) []byte {
	if id < 0 || id >= len(t.vocab) || t.vocab[id] == nil {
		return replacement
	}
	return t.vocab[id]
}

// Decode returns the text of ids.
func (t *BPE) Decode(ids []int) string {
	var sb strings.Builder
	for _, id := range ids {
		sb.Write(t.TokenBytes(id))
	}
	s := sb.String()
	for range t.decodeStrip {
		s = strings.TrimPrefix(s, " ")
	}
	return s
}

// Special returns the id of a special token, or -1.
func (t *BPE) Special(content string) int {
	if id, ok := t.specials[content]; ok {
		return id
	}
	return -1
}

// Encode returns the ids of text. Hugging Face tokenizers recognise their
// added tokens in the text, as transformers does; tiktoken encodings treat
// all text as ordinary (tiktoken's encode_ordinary).
func (t *BPE) Encode(text string) []int {
	return t.encode(text, t.specialsInEncode, nil)
}

// EncodeSpecial returns the ids of text, recognising special tokens in it.
func (t *BPE) EncodeSpecial(text string) []int { return t.encode(text, true, nil) }

// AppendEncode appends the ids of text to dst (ordinary text, as Encode).
func (t *BPE) AppendEncode(dst []int, text string) []int {
	return t.encode(text, t.specialsInEncode, dst)
}

func (t *BPE) encode(text string, specials bool, out []int) []int {
	if !specials || len(t.specialOrder) == 0 {
		return t.encodeSegment(text, out)
	}
	for len(text) > 0 {
		at, which := t.nextSpecial(text)
		if at < 0 {
			return t.encodeSegment(text, out)
		}
		out = t.encodeSegment(text[:at], out)
		out = append(out, t.specials[which])
		text = text[at+len(which):]
	}
	return out
}

// nextSpecial finds the leftmost special token in text (the longest one at
// that position).
func (t *BPE) nextSpecial(text string) (int, string) {
	best, which := -1, ""
	for _, s := range t.specialOrder {
		if i := strings.Index(text, s); i >= 0 && (best < 0 || i < best || (i == best && len(s) > len(which))) {
			best, which = i, s
		}
	}
	return best, which
}

func (t *BPE) encodeSegment(text string, out []int) []int {
	if text == "" {
		return out
	}
	if t.normalize != nil {
		text = t.normalize(text)
	}
	if t.split == nil {
		return t.encodeWord(text, out)
	}
	t.split.Split(text, func(w string) { out = t.encodeWord(w, out) })
	return out
}

// encodeWord appends the ids of one pre-tokenized word.
func (t *BPE) encodeWord(w string, out []int) []int {
	if ids, ok := t.cache.get(w); ok {
		return append(out, ids...)
	}
	if t.ignoreMerges {
		if id, ok := t.wordIDs[w]; ok {
			return append(out, id)
		}
	}
	var ids []int
	if t.charLevel {
		ids = t.charSymbols(w)
	} else {
		ids = make([]int, len(w))
		for i := 0; i < len(w); i++ {
			ids[i] = t.byteIDs[w[i]]
		}
	}
	ids = t.merges.bpeEncode(ids)
	if len(w) <= 64 {
		t.cache.put(w, append([]int(nil), ids...))
	}
	return append(out, ids...)
}

// charSymbols returns the initial symbols of a character-level word: each
// character's id, its UTF-8 bytes as byte-fallback tokens, or unk (fused
// when fuseUnk).
func (t *BPE) charSymbols(w string) []int {
	ids := make([]int, 0, len(w))
	for i := 0; i < len(w); {
		_, n := utf8.DecodeRuneInString(w[i:])
		c := w[i : i+n]
		i += n
		if id, ok := t.chars[c]; ok {
			ids = append(ids, id)
			continue
		}
		if t.byteFallback[c[0]] >= 0 {
			ok := true
			for j := 0; j < len(c); j++ {
				ok = ok && t.byteFallback[c[j]] >= 0
			}
			if ok {
				for j := 0; j < len(c); j++ {
					ids = append(ids, t.byteFallback[c[j]])
				}
				continue
			}
		}
		if t.unk >= 0 {
			if t.fuseUnk && len(ids) > 0 && ids[len(ids)-1] == t.unk {
				continue
			}
			ids = append(ids, t.unk)
		}
	}
	return ids
}

// setSpecials records the special tokens (content → id).
func (t *BPE) setSpecials(sp map[string]int) {
	t.specials = sp
	t.specialOrder = t.specialOrder[:0]
	for s := range sp {
		t.specialOrder = append(t.specialOrder, s)
	}
	sort.Slice(t.specialOrder, func(i, j int) bool {
		a, b := t.specialOrder[i], t.specialOrder[j]
		if len(a) != len(b) {
			return len(a) > len(b)
		}
		return a < b
	})
}

// buildMerges derives the merge table of a rank-ordered vocabulary the way
// tiktoken merges: a pair (a, b) merges into the token a+b with that
// token's rank, if a+b is a token.
func buildRankMerges(vocab [][]byte, ids map[string]int) mergeTable {
	mt := mergeTable{}
	for id, tok := range vocab {
		if len(tok) < 2 {
			continue
		}
		for k := 1; k < len(tok); k++ {
			a, ok1 := ids[string(tok[:k])]
			b, ok2 := ids[string(tok[k:])]
			if ok1 && ok2 {
				mt[pairKey(a, b)] = merge{rank: int32(id), id: int32(id)}
			}
		}
	}
	return mt
}

// ResetCache forgets the memoised word encodings (for measuring cold
// encoding speed).
func (t *BPE) ResetCache() {
	t.cache.mu.Lock()
	t.cache.m = nil
	t.cache.mu.Unlock()
}
