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
// # Byte-pair encoding
//
// [BPE] serves three sources, all merged by one engine (a pair → rank table
// applied lowest rank first, leftmost on ties, with a heap for long words
// and a word cache):
//
//   - tiktoken encodings r50k_base (also "gpt2"), p50k_base, cl100k_base and
//     o200k_base, from OpenAI's rank files shipped in the Go module
//     github.com/pkoukk/tiktoken-go-loader (nothing is downloaded). Encode is
//     tiktoken's encode_ordinary; EncodeSpecial also recognises special
//     tokens. Tested id for id against github.com/pkoukk/tiktoken-go.
//   - Hugging Face tokenizer.json files ([LoadHF], [ParseHF], [BPE.SaveHF])
//     for byte-level BPE (GPT-2, Llama-3, Qwen2) and character BPE with byte
//     fallback (Llama-2, Mistral), with their added tokens, normalizers,
//     decoders and TemplateProcessing ([BPE.EncodeAddSpecial]); other
//     components are rejected with an error naming the field. Tested id for
//     id against Hugging Face's Rust tokenizers (testdata/gen_hf_fixtures.js).
//   - [TrainBPE]: byte-level BPE learnt from a corpus, saved as a
//     tokenizer.json that Hugging Face's tokenizers load and encode
//     identically.
//
// [SentencePiece] reads SentencePiece vocabularies: sentencepiece model
// files (tokenizer.model; [LoadSentencePiece], [ParseSentencePiece]; unigram
// and BPE models with an identity normaliser, byte fallback, user-defined
// pieces), encoded and decoded as sentencepiece does and tested id for id
// against sentencepiece 0.1.97 (testdata/spm/gen.py); and GGUF "llama"
// vocabularies ([FromVocab]), tokenised as llama.cpp's llm_tokenizer_spm
// does and tested against llama.cpp itself (testdata/spm/gen_llamacpp.py).
//
// Pre-tokenizer regexes use look-ahead, which Go's regexp lacks; package
// pretok has hand-written splitters equivalent to the known patterns and a
// regexp2 fallback for others. [Load] accepts a registered name, a
// tokenizer.json path or a tokenizer.model path (relative paths are looked
// up in a model directory).
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
