package pretok

import (
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
)

// The patterns with a hand-written splitter, exactly as the reference
// tokenizers spell them.
const (
	// GPT2Pattern is GPT-2's pattern, used by tiktoken's r50k_base and
	// p50k_base and by the Hugging Face ByteLevel pre-tokenizer.
	GPT2Pattern = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`

	// CL100KPattern is tiktoken's cl100k_base pattern (GPT-3.5, GPT-4).
	CL100KPattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

	// Llama3Pattern is the Split pattern of Llama 3's tokenizer.json; it is
	// CL100KPattern.
	Llama3Pattern = CL100KPattern

	// Qwen2Pattern is the Split pattern of Qwen2's tokenizer.json:
	// CL100KPattern with single digits (\p{N} for \p{N}{1,3}).
	Qwen2Pattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

	// O200KPattern is tiktoken's o200k_base pattern (GPT-4o), its seven
	// alternatives joined by "|".
	O200KPattern = `[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

// A Splitter cuts text into pieces ("words") for byte-pair encoding.
//
// Split calls emit with each piece in order. Every piece is a non-empty
// substring of text (no copy is made) and the pieces concatenate to text,
// byte for byte, whether or not text is valid UTF-8. Split never calls emit
// for empty text.
type Splitter interface {
	Split(text string, emit func(piece string))
}

// The hand-written splitters. Each splits exactly as regexp2 (the engine
// tiktoken-go uses) finds the matches of its pattern; see the package
// documentation.
var (
	GPT2   Splitter = gpt2Splitter{}            // GPT2Pattern
	CL100K Splitter = cl100kSplitter{digits: 3} // CL100KPattern, also Llama3Pattern
	Qwen2  Splitter = cl100kSplitter{digits: 1} // Qwen2Pattern
	O200K  Splitter = o200kSplitter{}           // O200KPattern
)

// known maps each pattern with a hand-written splitter to it.
var known = map[string]Splitter{
	GPT2Pattern:   GPT2,
	CL100KPattern: CL100K,
	Qwen2Pattern:  Qwen2,
	O200KPattern:  O200K,
}

// ForPattern returns the splitter for pattern: a hand-written one if
// pattern is, byte for byte, one of the patterns above, else one backed by
// regexp2 (see [Generic]). The error, if pattern does not compile, names
// the pattern.
func ForPattern(pattern string) (Splitter, error) {
	if sp, ok := known[pattern]; ok {
		return sp, nil
	}
	return NewGeneric(pattern)
}

// HandWritten returns the hand-written splitter for pattern, if it has one.
func HandWritten(pattern string) (Splitter, bool) {
	sp, ok := known[pattern]
	return sp, ok
}

// AppendSplit appends the pieces of text, as sp splits it, to dst.
func AppendSplit(dst []string, sp Splitter, text string) []string {
	sp.Split(text, func(piece string) { dst = append(dst, piece) })
	return dst
}

// Generic splits by any pattern regexp2 compiles, with regexp2.None, as
// tiktoken-go compiles its patterns.
//
// Its pieces are the matches of the pattern, left to right as regexp2 finds
// them, and the text between them, each as a piece of its own: this is
// Hugging Face's Split pre-tokenizer with behavior "Isolated", and it keeps
// the pieces concatenating to the text. (For the patterns above, every rune
// is in some match, so there is no such text.) Empty matches are dropped.
// [Generic.Matches] gives the matches alone, as tiktoken encodes them.
//
// regexp2 matches runes, not bytes: text is decoded as []rune(text) does,
// each invalid byte as one U+FFFD, and the pieces are cut from text at the
// byte offsets of the matched runes, so invalid bytes come through as they
// are.
//
// A Generic is safe for concurrent use.
type Generic struct {
	pattern string
	re      *regexp2.Regexp
}

// NewGeneric compiles pattern with regexp2.
func NewGeneric(pattern string) (*Generic, error) {
	re, err := regexp2.Compile(pattern, regexp2.None)
	if err != nil {
		return nil, fmt.Errorf("pretok: pattern %q: %v", pattern, err)
	}
	// No match timeout: a timeout is the only error regexp2 returns while
	// matching.
	re.MatchTimeout = time.Duration(math.MaxInt64)
	return &Generic{pattern: pattern, re: re}, nil
}

// Pattern returns the pattern g was compiled from.
func (g *Generic) Pattern() string { return g.pattern }

// Split implements [Splitter].
func (g *Generic) Split(text string, emit func(piece string)) {
	prev := 0
	g.matches(text, func(start, end int) {
		if start > prev {
			emit(text[prev:start])
		}
		emit(text[start:end])
		prev = end
	})
	if prev < len(text) {
		emit(text[prev:])
	}
}

// Matches calls emit with each non-empty match of the pattern in text, in
// order, leaving out the text between matches.
func (g *Generic) Matches(text string, emit func(piece string)) {
	g.matches(text, func(start, end int) { emit(text[start:end]) })
}

// matches calls fn with the byte offsets of each non-empty match.
func (g *Generic) matches(text string, fn func(start, end int)) {
	if text == "" {
		return
	}
	runes := []rune(text)
	// Rune index to byte offset, walking forward: the matches come in
	// order and do not overlap.
	ri, bi := 0, 0
	offset := func(r int) int {
		if r < ri {
			ri, bi = 0, 0
		}
		for ri < r {
			_, w := utf8.DecodeRuneInString(text[bi:])
			bi += w
			ri++
		}
		return bi
	}
	m, err := g.re.FindRunesMatch(runes)
	for err == nil && m != nil {
		if m.Length > 0 {
			start := offset(m.Index)
			end := offset(m.Index + m.Length)
			fn(start, end)
		}
		m, err = g.re.FindNextMatch(m)
	}
}
