package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A text too small for the vocabulary asked for gives a smaller one, and
// says so.
func TestTokenizerTrainSaysWhenVocabIsShort(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "abc.txt")
	os.WriteFile(data, []byte("abc"), 0o644)
	var o, e bytes.Buffer
	out := filepath.Join(dir, "tok.json")
	if code := run([]string{"tokenizer", "train", "--vocab", "300", "--data", data, "--out", out}, &o, &e); code != 0 {
		t.Fatalf("exit %d: %s", code, e.String())
	}
	if want := "has too few distinct pairs for --vocab 300: learnt 2 merges, so the vocabulary has 259 tokens, not 300"; !strings.Contains(e.String(), want) {
		t.Errorf("stderr %q; want %q", e.String(), want)
	}
	e.Reset()
	if code := run([]string{"tokenizer", "train", "--vocab", "260", "--out", filepath.Join(dir, "t2.json")}, &o, &e); code != 0 || strings.Contains(e.String(), "too few") {
		t.Errorf("embedded corpus, --vocab 260: exit %d, %q", code, e.String())
	}
}
