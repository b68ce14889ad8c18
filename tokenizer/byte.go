package tokenizer

import "strings"

// Byte is the byte-level tokenizer: the ids 0..255 are the bytes 0..255. It
// has no end-of-sequence token. Encode and Decode are exact inverses for
// every byte string, including invalid UTF-8. Its name is "byte".
type Byte struct{}

var _ Tokenizer = Byte{}

// byteTable holds the 256 bytes in order, so TokenBytes can return a slice
// of it without allocating.
var byteTable = func() (b [256]byte) {
	for i := range b {
		b[i] = byte(i)
	}
	return b
}()

// Encode returns the bytes of text as ids.
func (Byte) Encode(text string) []int {
	ids := make([]int, len(text))
	for i := 0; i < len(text); i++ {
		ids[i] = int(text[i])
	}
	return ids
}

// Decode returns the bytes ids as a string. An id outside 0..255 decodes
// to U+FFFD.
func (Byte) Decode(ids []int) string {
	var sb strings.Builder
	sb.Grow(len(ids))
	for _, id := range ids {
		if uint(id) < 256 {
			sb.WriteByte(byte(id))
		} else {
			sb.Write(replacement)
		}
	}
	return sb.String()
}

// TokenBytes returns the one byte of token id, or the UTF-8 encoding of
// U+FFFD for an id outside 0..255.
func (Byte) TokenBytes(id int) []byte {
	if uint(id) < 256 {
		return byteTable[id : id+1 : id+1]
	}
	return replacement[:len(replacement):len(replacement)]
}

// VocabSize returns 256.
func (Byte) VocabSize() int { return 256 }

// Name returns "byte".
func (Byte) Name() string { return "byte" }

// EOS returns -1: the byte tokenizer has no end-of-sequence token.
func (Byte) EOS() int { return -1 }
