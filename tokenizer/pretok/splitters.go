package pretok

import "unicode/utf8"

// gpt2Splitter splits by GPT2Pattern:
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
type gpt2Splitter struct{}

func (gpt2Splitter) Split(text string, emit func(piece string)) {
	t := classes()
	for i := 0; i < len(text); {
		j := t.gpt2Next(text, i)
		emit(text[i:j])
		i = j
	}
}

func (t *classTable) gpt2Next(s string, i int) int {
	c, w := t.classAt(s, i)
	if s[i] == '\'' {
		if j := contraction(s, i, false); j >= 0 {
			return j
		}
	}
	// " ?X+" for X in \p{L}, \p{N}, [^\s\p{L}\p{N}], in that order: the
	// classes are disjoint, so the class c of the rune after an optional
	// space picks the one alternative that can match. start is just past
	// that rune.
	var start int
	if s[i] == ' ' && i+1 < len(s) {
		c2, w2 := t.classAt(s, i+1)
		if c2&cSpace != 0 {
			return t.whitespace(s, i, false)
		}
		c, start = c2, i+1+w2
	} else if c&cSpace != 0 {
		return t.whitespace(s, i, false)
	} else {
		start = i + w
	}
	switch {
	case c&cL != 0:
		return t.span(s, start, cL)
	case c&cN != 0:
		return t.span(s, start, cN)
	}
	return t.spanOther(s, start)
}

// cl100kSplitter splits by CL100KPattern (digits 3) or Qwen2Pattern
// (digits 1):
//
//	(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
//	 ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
type cl100kSplitter struct{ digits int }

func (sp cl100kSplitter) Split(text string, emit func(piece string)) {
	t := classes()
	for i := 0; i < len(text); {
		j := t.cl100kNext(text, i, sp.digits)
		emit(text[i:j])
		i = j
	}
}

func (t *classTable) cl100kNext(s string, i, digits int) int {
	b := s[i]
	c, w := t.classAt(s, i)
	if b == '\'' {
		if j := contraction(s, i, true); j >= 0 {
			return j
		}
	}
	// [^\r\n\p{L}\p{N}]?\p{L}+
	if c&cL != 0 {
		return t.span(s, i+w, cL)
	}
	if c&cN != 0 {
		return t.spanN(s, i, digits)
	}
	if b != '\r' && b != '\n' && i+w < len(s) {
		if c2, w2 := t.classAt(s, i+w); c2&cL != 0 {
			return t.span(s, i+w+w2, cL)
		}
	}
	//  ?[^\s\p{L}\p{N}]+[\r\n]*
	if c&cSpace == 0 {
		return spanBytes(s, t.spanOther(s, i+w), "\r\n")
	}
	if b == ' ' && i+1 < len(s) {
		if c2, w2 := t.classAt(s, i+1); c2&cSLN == 0 {
			return spanBytes(s, t.spanOther(s, i+1+w2), "\r\n")
		}
	}
	return t.whitespace(s, i, true)
}

// o200kSplitter splits by O200KPattern:
//
//	[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|
//	[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|
//	\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
type o200kSplitter struct{}

func (o200kSplitter) Split(text string, emit func(piece string)) {
	t := classes()
	for i := 0; i < len(text); {
		j := t.o200kNext(text, i)
		emit(text[i:j])
		i = j
	}
}

func (t *classTable) o200kNext(s string, i int) int {
	b := s[i]
	c, w := t.classAt(s, i)
	// The optional prefix [^\r\n\p{L}\p{N}]: each word alternative is
	// tried with it first, then without.
	prefix := c&(cL|cN) == 0 && b != '\r' && b != '\n' && i+w < len(s)
	if prefix {
		if j := t.o200kUpperLower(s, i+w); j >= 0 {
			return o200kSuffix(s, j)
		}
	}
	if j := t.o200kUpperLower(s, i); j >= 0 {
		return o200kSuffix(s, j)
	}
	if prefix {
		if j := t.o200kUpper(s, i+w); j >= 0 {
			return o200kSuffix(s, j)
		}
	}
	if j := t.o200kUpper(s, i); j >= 0 {
		return o200kSuffix(s, j)
	}
	if c&cN != 0 {
		return t.spanN(s, i, 3)
	}
	//  ?[^\s\p{L}\p{N}]+[\r\n/]*
	if c&cSLN == 0 {
		return spanBytes(s, t.spanOther(s, i+w), "\r\n/")
	}
	if b == ' ' && i+1 < len(s) {
		if c2, w2 := t.classAt(s, i+1); c2&cSLN == 0 {
			return spanBytes(s, t.spanOther(s, i+1+w2), "\r\n/")
		}
	}
	if c&cSpace != 0 {
		return t.whitespace(s, i, true)
	}
	// A \p{L} rune in neither class U nor W cannot occur: every letter is
	// Lu, Ll, Lt, Lm or Lo. Take it alone rather than loop.
	return i + w
}

// o200kUpperLower matches [U]*[W]+ at s[p] and returns its end, or -1,
// where U is [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}] and W [\p{Ll}\p{Lm}\p{Lo}\p{M}].
//
// U* first takes the whole run of U. If a W follows, W+ takes the run of W
// from there. Otherwise U* gives back runes one at a time until W+ can
// start, that is, until it has given back the last rune of the run that is
// also a W (Lm, Lo or M); W+ then ends just after that rune, because every
// later rune of the run is an Lu or Lt.
func (t *classTable) o200kUpperLower(s string, p int) int {
	q, lastW := p, -1
	for q < len(s) {
		c, w := uint8(0), 1
		if b := s[q]; b < utf8.RuneSelf {
			c = t.ascii[b]
		} else {
			c, w = t.classAtMulti(s, q)
		}
		if c&cU == 0 {
			if c&cW != 0 {
				return t.span(s, q+w, cW)
			}
			break
		}
		q += w
		if c&cW != 0 {
			lastW = q
		}
	}
	return lastW
}

// o200kUpper matches [U]+[W]* at s[p] and returns its end, or -1.
func (t *classTable) o200kUpper(s string, p int) int {
	if p >= len(s) {
		return -1
	}
	q := t.span(s, p, cU)
	if q == p {
		return -1
	}
	return t.span(s, q, cW)
}

// o200kSuffix matches (?i:'s|'t|'re|'ve|'m|'ll|'d)? at s[j].
func o200kSuffix(s string, j int) int {
	if j < len(s) && s[j] == '\'' {
		if k := contraction(s, j, true); k >= 0 {
			return k
		}
	}
	return j
}
