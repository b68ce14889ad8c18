package tokenizer_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/loomml/loom/convert"
	"github.com/loomml/loom/format/gguf"
	"github.com/loomml/loom/tokenizer"
)

// TestSentencePieceGGUFFile writes bpe.model's vocabulary as GGUF metadata
// (the keys convert.ExportGGUF writes: tokenizer.ggml.model "llama",
// tokens, scores, token_type, special ids, add_space_prefix) and reads it
// back with convert.LoadGGUFTokenizer: the same vocabulary and the same
// ids as sentencepiece's on the fixture texts without special-token text.
// A file without tokenizer.ggml.scores is an error naming the file and key.
func TestSentencePieceGGUFFile(t *testing.T) {
	spm, err := tokenizer.LoadSentencePiece(filepath.Join("testdata", "spm", "bpe.model"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := tokenizer.ToVocab(spm, 0)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, scores bool) string {
		w := gguf.NewWriter()
		kv := [][2]any{{"general.architecture", "llama"}, {"tokenizer.ggml.model", v.Model},
			{"tokenizer.ggml.tokens", v.Tokens}, {"tokenizer.ggml.token_type", v.Types},
			{"tokenizer.ggml.bos_token_id", uint32(v.BOS)}, {"tokenizer.ggml.eos_token_id", uint32(v.EOS)},
			{"tokenizer.ggml.unknown_token_id", uint32(v.UNK)}, {"tokenizer.ggml.add_space_prefix", *v.AddSpacePrefix}}
		if scores {
			kv = append(kv, [2]any{"tokenizer.ggml.scores", v.Scores})
		}
		for _, e := range kv {
			if err := w.Add(e[0].(string), e[1]); err != nil {
				t.Fatal(err)
			}
		}
		p := filepath.Join(t.TempDir(), name)
		if err := w.WriteFile(p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tok, err := convert.LoadGGUFTokenizer(write("v.gguf", true))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tok.(*tokenizer.SentencePiece); !ok || tok.VocabSize() != 1000 || tok.EOS() != 2 {
		t.Fatalf("LoadGGUFTokenizer = %T with %d ids, eos %d", tok, tok.VocabSize(), tok.EOS())
	}
	back, err := tokenizer.ToVocab(tok, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Tokens, v.Tokens) || !slices.Equal(back.Scores, v.Scores) || !slices.Equal(back.Types, v.Types) {
		t.Error("vocabulary read from GGUF differs from the one written")
	}
	for _, s := range []string{"Hello world", "  two   spaces ", "emoji 🙂 and 中文", "line\nbreak"} {
		if got, want := tok.Encode(s), spm.Encode(s); !slices.Equal(got, want) {
			t.Errorf("GGUF Encode(%q) = %v, sentencepiece %v", s, got, want)
		}
	}
	_, err = convert.LoadGGUFTokenizer(write("noscores.gguf", false))
	if err == nil || !strings.Contains(err.Error(), "noscores.gguf") || !strings.Contains(err.Error(), "tokenizer.ggml.scores") {
		t.Errorf("GGUF without scores: %v", err)
	}
}
