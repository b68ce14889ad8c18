package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loomml/loom/repro"
)

// generatedText is n bytes of lines of pseudo-random words.
func generatedText(n int) []byte {
	words := strings.Fields("the a loom weaves warp and weft of thread into cloth while shuttle passes over under")
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		b.WriteString(words[(i*7+i/5)%len(words)])
		if i%9 == 8 {
			b.WriteString(".\n")
		} else {
			b.WriteString(" ")
		}
	}
	return b.Bytes()[:n]
}

// --data is refused, before any training and naming the flag or the file,
// for an entry that does not train on text, a missing or empty file and a
// corpus too short for the protocol's windows.
func TestReproDataErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.txt")
	os.WriteFile(empty, nil, 0o644)
	short := filepath.Join(dir, "short.txt")
	os.WriteFile(short, generatedText(500), 0o644)
	minimum, _ := repro.MinCorpus()
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"dra", "--data", short}, []string{"--data", "dra does not train on text", "macaron"}},
		{[]string{"quickstart", "--data", short}, []string{"--data", "quickstart does not train on text"}},
		{[]string{"itransformer", "--data", short}, []string{"--data", "itransformer"}},
		{[]string{"macaron", "--data", filepath.Join(dir, "none.txt")}, []string{"--data", "none.txt"}},
		{[]string{"macaron", "--data", empty}, []string{"empty.txt", "empty"}},
		{[]string{"polycom", "--data", short}, []string{"short.txt", "500 bytes", fmt.Sprint(minimum)}},
	} {
		var o, e bytes.Buffer
		work := filepath.Join(dir, "work")
		args := append([]string{"repro"}, append(c.args, "--quick", "--docs", filepath.Join(dir, "docs"), "--work", work)...)
		if code := run(args, &o, &e); code == 0 {
			t.Errorf("loom %v succeeded", args)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(e.String(), w) {
				t.Errorf("loom %v: stderr %q lacks %q", args, e.String(), w)
			}
		}
		if _, err := os.Stat(work); err == nil {
			t.Errorf("loom %v: started work in %s", args, work)
		}
	}
}

// A quick macaron reproduction on a generated corpus: the page names the
// corpus, says it is the user's and a quick run, and does not claim
// tinyshakespeare.
func TestReproDataQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("trains four small models")
	}
	dir := t.TempDir()
	corpus := filepath.Join(dir, "woven.txt")
	os.WriteFile(corpus, generatedText(4000), 0o644)
	var o, e bytes.Buffer
	docs := filepath.Join(dir, "docs")
	if code := run([]string{"repro", "macaron", "--quick", "--seeds", "1", "--data", corpus, "--docs", docs, "--work", filepath.Join(dir, "work"), "--threads", "1"}, &o, &e); code != 0 {
		t.Fatalf("repro: %s", e.String())
	}
	page, err := os.ReadFile(filepath.Join(docs, "macaron.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"woven.txt` (4000 bytes, --data)", "the user's corpus", "Quick run", "post-norm Macaron", "pre-norm Transformer"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(string(page), "tinyshakespeare") {
		t.Errorf("page claims tinyshakespeare:\n%s", page)
	}
}
