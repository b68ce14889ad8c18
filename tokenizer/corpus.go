package tokenizer

import (
	"embed"
	"io/fs"
	"sort"
)

// The tokenizer test corpus (testdata/corpus, 46.7 KB: English, code,
// many scripts, emoji and unusual whitespace; its README gives origins and
// licences), embedded so that an installed binary can benchmark encoders on
// it without the source tree.
//
//go:embed testdata/corpus/*.txt
var corpusFS embed.FS

// SampleCorpus returns the test corpus's .txt files concatenated in name
// order.
func SampleCorpus() []byte {
	names, _ := fs.Glob(corpusFS, "testdata/corpus/*.txt")
	sort.Strings(names)
	var all []byte
	for _, n := range names {
		b, _ := corpusFS.ReadFile(n)
		all = append(all, b...)
	}
	return all
}
