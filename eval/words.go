package eval

import (
	"bytes"
	"strings"
	"unicode"
)

// WordsInCorpus counts the whitespace-separated words of sample that are
// alphabetic once leading and trailing punctuation is trimmed (inner
// apostrophes and hyphens allowed), and how many of those occur as words
// of corpus: a crude check that a character-level model writes real words.
func WordsInCorpus(sample string, corpus []byte) (found, total int) {
	vocab := map[string]bool{}
	for _, w := range bytes.Fields(corpus) {
		if t := trimWord(string(w)); t != "" {
			vocab[t] = true
		}
	}
	for _, w := range strings.Fields(sample) {
		t := trimWord(w)
		if t == "" {
			continue
		}
		total++
		if vocab[t] {
			found++
		}
	}
	return found, total
}

func trimWord(w string) string {
	w = strings.TrimFunc(w, func(r rune) bool { return !unicode.IsLetter(r) })
	if w == "" {
		return ""
	}
	for _, r := range w {
		if !unicode.IsLetter(r) && r != '\'' && r != '-' {
			return ""
		}
	}
	return w
}
