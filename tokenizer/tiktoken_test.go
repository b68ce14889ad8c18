package tokenizer

import (
	"path/filepath"
	"strings"
	"testing"

	tiktoken "github.com/pkoukk/tiktoken-go"
	tiktokenloader "github.com/pkoukk/tiktoken-go-loader"
)

// TestTiktokenMatchesTiktokenGo compares every encoding with
// github.com/pkoukk/tiktoken-go (a Go port of OpenAI's tiktoken, reading
// the same rank files offline) on the test corpus: whole files and every
// line, and checks Decode(Encode(x)) == x.
func TestTiktokenMatchesTiktokenGo(t *testing.T) {
	tiktoken.SetBpeLoader(tiktokenloader.NewOfflineLoader())
	files, _ := filepath.Glob(filepath.Join("testdata", "corpus", "*.txt"))
	if len(files) < 4 {
		t.Fatalf("corpus files: %v", files)
	}
	for _, enc := range []string{"r50k_base", "p50k_base", "cl100k_base", "o200k_base"} {
		t.Run(enc, func(t *testing.T) {
			ours, err := New(enc)
			if err != nil {
				t.Fatal(err)
			}
			ref, err := tiktoken.GetEncoding(enc)
			if err != nil {
				t.Fatal(err)
			}
			var texts []string
			for _, f := range files {
				whole := corpusText(t, filepath.Base(f), -1)
				texts = append(texts, whole)
				texts = append(texts, strings.SplitAfter(whole, "\n")...)
			}
			texts = append(texts, "", " ", "  leading", "trailing  ", "\n\n\n", "I'M HERE, you'LL see 1234567 3.14", "<|endoftext|>")
			for _, s := range texts {
				got, want := ours.Encode(s), ref.EncodeOrdinary(s)
				if !equalIDs(got, want) {
					t.Fatalf("%q: got %v, tiktoken-go %v", trunc(s), got, want)
				}
				if d := ours.Decode(got); d != s {
					t.Fatalf("decode(encode(%q)) = %q", trunc(s), trunc(d))
				}
			}
		})
	}
}

func TestTiktokenSpecials(t *testing.T) {
	tok, err := New("cl100k_base")
	if err != nil {
		t.Fatal(err)
	}
	bpe := tok.(*BPE)
	if bpe.VocabSize() != 100277 || bpe.EOS() != 100257 {
		t.Fatalf("vocab %d, eos %d", bpe.VocabSize(), bpe.EOS())
	}
	// Ordinary encoding treats special-token text as text; EncodeSpecial
	// recognises it.
	if ids := bpe.Encode("a<|endoftext|>b"); len(ids) < 4 {
		t.Fatalf("ordinary encoding produced %v", ids)
	}
	if ids := bpe.EncodeSpecial("a<|endoftext|>b"); len(ids) != 3 || ids[1] != 100257 {
		t.Fatalf("special encoding produced %v", ids)
	}
}

func TestTiktokenBadRankFile(t *testing.T) {
	for _, c := range []struct{ data, want string }{
		{"YQ== 0\nYg==\n", "ranks.tiktoken:2"},
		{"YQ== x\n", "rank"},
		{"!!! 0\n", "base64"},
		{"YQ== 0\nYQ== 1\n", "listed twice"},
		{"YQ== 0\n", "byte 0x00 has no token"},
	} {
		_, err := NewTiktoken("t", "ranks.tiktoken", []byte(c.data), "x", nil, "")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one mentioning %q", c.data, err, c.want)
		}
	}
}

func BenchmarkEncodeCL100K(b *testing.B) {
	tok, _ := New("cl100k_base")
	text := strings.Repeat("The quick brown fox jumps over the lazy dog; fn main() { println!(\"héllo 世界\") } ", 200)
	b.SetBytes(int64(len(text)))
	for range b.N {
		tok.Encode(text)
	}
}
