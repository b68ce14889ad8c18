package tokenizer

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestTrainBPE(t *testing.T) {
	text := corpusText(t, "english.txt", -1)
	o := TrainOptions{VocabSize: 600, Specials: []string{"<|endoftext|>", "<|pad|>"}}
	a, err := TrainBPE([]byte(text), o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := TrainBPE([]byte(text), o)
	if err != nil {
		t.Fatal(err)
	}
	if a.VocabSize() != 600 || a.Special("<|endoftext|>") != 0 || a.Special("<|pad|>") != 1 || a.EOS() != 0 {
		t.Fatalf("vocab %d, specials %d %d, eos %d", a.VocabSize(), a.Special("<|endoftext|>"), a.Special("<|pad|>"), a.EOS())
	}
	ids := a.Encode(text)
	if !equalIDs(ids, b.Encode(text)) {
		t.Fatal("training is not deterministic")
	}
	if ratio := float64(len(text)) / float64(len(ids)); ratio < 2 {
		t.Fatalf("only %.2f bytes per token after 342 merges", ratio)
	}
	for _, s := range []string{text, corpusText(t, "emoji.txt", -1), corpusText(t, "multilingual.txt", -1), "\xff\xfe invalid", "x<|endoftext|>y"} {
		if d := a.Decode(a.Encode(s)); d != s {
			t.Fatalf("decode(encode(%q)) = %q", trunc(s), trunc(d))
		}
	}
	if ids := a.Encode("x<|endoftext|>y"); len(ids) != 3 || ids[1] != 0 {
		t.Fatalf("special token inside text: %v", ids)
	}
	// The saved file loads back to the same tokenizer.
	p := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := a.SaveHF(p); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p, "")
	if err != nil {
		t.Fatal(err)
	}
	if !equalIDs(c.Encode(text), ids) {
		t.Fatal("reloaded tokenizer encodes differently")
	}
	if _, err := TrainBPE([]byte(text), TrainOptions{VocabSize: 100}); err == nil || !strings.Contains(err.Error(), "256") {
		t.Fatalf("too small a vocabulary: %v", err)
	}
}
