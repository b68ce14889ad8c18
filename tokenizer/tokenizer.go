package tokenizer

import (
	"fmt"

	"github.com/loomml/loom/internal/registry"
)

// Tokenizer turns text into token ids and token ids back into text.
// Implementations must be safe for concurrent use.
type Tokenizer interface {
	// Encode returns the token ids of text. Text is any byte string; it need
	// not be valid UTF-8.
	Encode(text string) []int
	// Decode returns the text of ids: the concatenation of their
	// TokenBytes.
	Decode(ids []int) string
	// TokenBytes returns the bytes of token id, which may be an incomplete
	// part of a UTF-8 character. The caller must not modify the result. An
	// id outside [0, VocabSize()) gives the UTF-8 encoding of U+FFFD, the
	// replacement character, as Decode does.
	TokenBytes(id int) []byte
	// VocabSize returns the number of token ids: valid ids are
	// 0..VocabSize()-1.
	VocabSize() int
	// Name returns the name under which New finds this tokenizer.
	Name() string
	// EOS returns the id of the end-of-sequence token, or -1 if there is
	// none.
	EOS() int
}

// replacement is the UTF-8 encoding of U+FFFD, the bytes of an id that is
// not in the vocabulary.
var replacement = []byte("\uFFFD")

var tokenizers = registry.New[func() (Tokenizer, error)]("tokenizer")

func init() {
	Register(Byte{}.Name(), func() (Tokenizer, error) { return Byte{}, nil })
}

// Register makes a tokenizer available to New under name. It panics if name
// is empty, if newTok is nil or if name is already registered; it is meant to
// be called from init functions.
func Register(name string, newTok func() (Tokenizer, error)) {
	if name == "" || newTok == nil {
		panic("tokenizer: Register with an empty name or a nil constructor")
	}
	tokenizers.Register(name, newTok)
}

// Names returns the registered tokenizer names, sorted.
func Names() []string { return tokenizers.Names() }

// New returns the tokenizer registered under name. An unknown name is an
// error that lists the known ones.
func New(name string) (Tokenizer, error) {
	newTok, err := tokenizers.Get(name)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	tok, err := newTok()
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", name, err)
	}
	return tok, nil
}
