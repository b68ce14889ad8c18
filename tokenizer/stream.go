package tokenizer

import "unicode/utf8"

// DecodeStream decodes tokens that arrive one at a time, releasing text only
// when it is complete: bytes at the end that begin a UTF-8 character whose
// remaining bytes have not arrived yet are held back until they do. Bytes
// that can never become part of a valid character (invalid UTF-8) are
// released as they are, so the concatenation of everything Add and Flush
// return equals the concatenation of the tokens' bytes (Decode, for the
// tokenizers of this package). A DecodeStream is not safe for concurrent
// use.
type DecodeStream struct {
	tok Tokenizer
	buf []byte // bytes not yet released: at most an incomplete character
}

// NewDecodeStream returns a stream that decodes tokens of tok.
func NewDecodeStream(tok Tokenizer) *DecodeStream {
	return &DecodeStream{tok: tok}
}

// Add appends token id and returns the text that it completes, which may be
// empty.
func (d *DecodeStream) Add(id int) string {
	d.buf = append(d.buf, d.tok.TokenBytes(id)...)
	n := completeLen(d.buf)
	if n == 0 {
		return ""
	}
	s := string(d.buf[:n])
	d.buf = append(d.buf[:0], d.buf[n:]...)
	return s
}

// Pending returns the number of bytes held back: the start of a character
// still waiting for its remaining bytes.
func (d *DecodeStream) Pending() int { return len(d.buf) }

// Flush returns the bytes held back (an incomplete character, which is not
// valid UTF-8) and empties the stream, which can then be reused.
func (d *DecodeStream) Flush() string {
	s := string(d.buf)
	d.buf = d.buf[:0]
	return s
}

// completeLen returns the length of the longest prefix of b that does not
// end inside a character: b minus a trailing incomplete but so far valid
// UTF-8 encoding (at most 3 bytes).
func completeLen(b []byte) int {
	for k := 1; k <= utf8.UTFMax-1 && k <= len(b); k++ {
		c := b[len(b)-k]
		if c&0xC0 == 0x80 {
			continue // continuation byte: the character starts further back
		}
		// c starts a character (or is an invalid byte); FullRune reports
		// false only for a valid prefix that needs more bytes.
		if !utf8.FullRune(b[len(b)-k:]) {
			return len(b) - k
		}
		break
	}
	return len(b)
}
