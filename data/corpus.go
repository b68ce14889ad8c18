package data

import _ "embed"

//go:embed corpus/tinyshakespeare.txt
var tinyShakespeare string

// TinyShakespeare returns the embedded default corpus: 1,115,394 bytes of
// Shakespeare's plays as plain ASCII text, from karpathy/char-rnn (see
// corpus/README.md for origin and licence). Each call returns a fresh copy,
// which the caller may modify.
func TinyShakespeare() []byte { return []byte(tinyShakespeare) }
