package tokenizer

import (
	"slices"
	"strings"
	"testing"
)

func TestVocabRoundTrip(t *testing.T) {
	text := "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak. 1234 don't\t tabs  "
	trained, err := TrainBPE([]byte(strings.Repeat(text, 20)), TrainOptions{VocabSize: 300, Specials: []string{"<|endoftext|>"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		tok  Tokenizer
		size int
	}{
		{"byte", Byte{}, 256},
		{"byte-padded", Byte{}, 260},
		{"byte-hf", ByteHF(), 0},
		{"trained", trained, 304},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := ToVocab(tc.tok, tc.size)
			if err != nil {
				t.Fatal(err)
			}
			if tc.size > 0 && len(v.Tokens) != tc.size {
				t.Fatalf("%d tokens, want %d", len(v.Tokens), tc.size)
			}
			back, err := FromVocab("test.gguf", v)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{text, "héllo wörld ☃ \x00\xff", ""} {
				if a, b := tc.tok.Encode(s), back.Encode(s); !slices.Equal(a, b) {
					t.Fatalf("Encode(%q): %v, after GGUF %v", s, a, b)
				}
			}
			if tc.tok.EOS() != back.EOS() {
				t.Fatalf("EOS %d, after GGUF %d", tc.tok.EOS(), back.EOS())
			}
			for id := range tc.tok.VocabSize() {
				if a, b := tc.tok.TokenBytes(id), back.TokenBytes(id); string(a) != string(b) {
					t.Fatalf("token %d: %q, after GGUF %q", id, a, b)
				}
			}
		})
	}
}

func TestFromVocabErrors(t *testing.T) {
	for _, tc := range []struct {
		v    Vocab
		want string
	}{
		{Vocab{Model: "t5"}, `tokenizer.ggml.model "t5" is not supported`},
		{Vocab{Model: "llama"}, "tokenizer.ggml.tokens: no tokens"},
		{Vocab{Model: "gpt2", Pre: "deepseek-coder"}, `tokenizer.ggml.pre "deepseek-coder" is not supported`},
		{Vocab{Model: "gpt2", Tokens: []string{"a", "b"}, Types: []int32{1}}, "1 token types for 2 tokens"},
		{Vocab{Model: "gpt2", Tokens: []string{"a", "a"}}, `tokens 0 and 1 are both "a"`},
		{Vocab{Model: "gpt2", Tokens: []string{"a", "b", "ab"}, Merges: []string{"ab"}}, `merge 0 is "ab"`},
	} {
		_, err := FromVocab("x.gguf", &tc.v)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "x.gguf") {
			t.Errorf("FromVocab(%+v) = %v, want an error naming x.gguf and %q", tc.v, err, tc.want)
		}
	}
}
