// Package tokenizer turns text into token ids and back.
//
// Every tokenizer implements [Tokenizer]. Tokens are byte strings: a token's
// bytes ([Tokenizer.TokenBytes]) need not be valid UTF-8 on their own (a
// multibyte character may be split across tokens), and [Tokenizer.Decode]
// of a sequence is the concatenation of its tokens' bytes. [DecodeStream]
// turns tokens arriving one at a time (from a sampling loop, say) into text
// that is released only once it is complete UTF-8.
//
// Tokenizers are found by name with [New]; [Names] lists the registered
// names and [Register] adds one. The name is what data shards and
// checkpoints record, so that the same tokenizer can be rebuilt later.
//
// # Byte
//
// [Byte] is the byte-level tokenizer: token i is the byte i, for i in
// 0..255. It needs no vocabulary file, has no end-of-sequence token, and
// round-trips every byte string exactly, including invalid UTF-8.
//
// Example:
//
//	tok, err := tokenizer.New("byte")
//	if err != nil {
//		return err
//	}
//	ids := tok.Encode("héllo") // [104 195 169 108 108 111]
//	text := tok.Decode(ids)    // "héllo"
//
//	ds := tokenizer.NewDecodeStream(tok)
//	for _, id := range ids {
//		fmt.Print(ds.Add(id)) // "h", "", "é", "l", "l", "o"
//	}
//	fmt.Print(ds.Flush()) // anything left over (an incomplete character)
package tokenizer
