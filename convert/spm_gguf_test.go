package convert

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/loomml/loom/format/gguf"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/decoder/decodertest"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/tokenizer"
)

// TestExportGGUFSentencePiece exports a model with a SentencePiece BPE
// tokenizer (tokenizer/testdata/spm/bpe.model) and loads it back: the file
// holds tokenizer.ggml.model "llama" with scores and add_space_prefix and
// no merges, and the tokenizer read from it has the same pieces, scores and
// types and encodes as sentencepiece does.
func TestExportGGUFSentencePiece(t *testing.T) {
	spm, err := tokenizer.LoadSentencePiece(filepath.Join("..", "tokenizer", "testdata", "spm", "bpe.model"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := decoder.New(decodertest.InteropConfig(func(c *decoder.Config) { c.VocabSize = 1024 }), 1)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.gguf")
	if err := ExportGGUF(m, path, spm, tensor.Float32, "m"); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	model, _ := f.String("tokenizer.ggml.model")
	_, hasMerges := f.Get("tokenizer.ggml.merges")
	asp, _ := f.Get("tokenizer.ggml.add_space_prefix")
	f.Close()
	if model != "llama" || hasMerges || asp != true {
		t.Errorf("tokenizer.ggml.model %q, merges present %v, add_space_prefix %v", model, hasMerges, asp)
	}
	_, tok, err := LoadGGUF(path, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tok.VocabSize() != 1024 {
		t.Errorf("VocabSize %d, want 1024 (padded to the model's vocab_size)", tok.VocabSize())
	}
	want, _ := tokenizer.ToVocab(spm, 1024)
	got, err := tokenizer.ToVocab(tok, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Tokens, want.Tokens) || !slices.Equal(got.Scores, want.Scores) || !slices.Equal(got.Types, want.Types) {
		t.Error("the vocabulary read back differs from the one exported")
	}
	for _, s := range []string{"Hello world", "  two   spaces ", "emoji 🙂 and 中文"} {
		if a, b := tok.Encode(s), spm.Encode(s); !slices.Equal(a, b) {
			t.Errorf("Encode(%q) = %v after export, sentencepiece %v", s, a, b)
		}
	}
}
