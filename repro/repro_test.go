package repro

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunWritesReport(t *testing.T) {
	Register(Entry{Name: "test-entry", Summary: "a test", Run: func(c *Context) (*Report, error) {
		return &Report{Title: "Test", Claim: "1 + 1 = 2", Seeds: []uint64{1}, Body: "| a | b |\n|---|---|\n| 1 | 2 |",
			Verdict: "reproduced", Changes: "arithmetic"}, nil
	}})
	defer entries.Remove("test-entry")
	dir := t.TempDir()
	path, err := Run("test-entry", &Context{DocsDir: filepath.Join(dir, "docs"), WorkDir: dir, Command: "loom repro test-entry", Quick: true})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	for _, want := range []string{"# Test", "**Verdict: reproduced**", "`loom repro test-entry`", "quick", "Machine:", "| 1 | 2 |", "## What would change the verdict"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("report lacks %q:\n%s", want, b)
		}
	}
	if _, err := Run("nope", &Context{DocsDir: dir, WorkDir: dir}); err == nil || !strings.Contains(err.Error(), "quickstart") {
		t.Fatalf("unknown entry: %v", err)
	}
}

// A text entry's page names its corpus, and a user's corpus as such; a
// corpus too short for the protocol, or one given to an entry that does
// not train on text, is refused before the entry runs.
func TestRunWithData(t *testing.T) {
	ran := 0
	Register(Entry{Name: "test-text", Summary: "a text test", Text: true, Run: func(c *Context) (*Report, error) {
		ran++
		return &Report{Title: "Text", Body: "Setup: trained on " + c.Corpus().String() + ".", Verdict: "reproduced"}, nil
	}})
	defer entries.Remove("test-text")
	dir := t.TempDir()
	path, err := Run("test-text", &Context{DocsDir: dir, WorkDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), "- Corpus: the embedded tinyshakespeare (") || strings.Contains(string(b), "user's corpus") {
		t.Errorf("default corpus:\n%s", b)
	}
	n, _ := MinCorpus()
	user := &Corpus{Name: "mine.txt", Text: make([]byte, n), User: true}
	path, err = Run("test-text", &Context{DocsDir: dir, WorkDir: dir, Data: user})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(path)
	for _, want := range []string{fmt.Sprintf("- Corpus: the user's corpus `mine.txt` (%d bytes, --data)", n), "Setup: trained on the user's corpus `mine.txt`", "Data: **the user's corpus**"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("page lacks %q:\n%s", want, b)
		}
	}
	if strings.Contains(string(b), "tinyshakespeare") {
		t.Errorf("page claims tinyshakespeare:\n%s", b)
	}
	user.Text = user.Text[:n-1]
	if _, err := Run("test-text", &Context{DocsDir: dir, WorkDir: dir, Data: user}); err == nil || !strings.Contains(err.Error(), "mine.txt") || !strings.Contains(err.Error(), fmt.Sprint(n)) {
		t.Errorf("short corpus: %v", err)
	}
	if _, err := Run("dra", &Context{DocsDir: dir, WorkDir: dir, Data: &Corpus{Name: "x", Text: make([]byte, n)}}); err == nil || !strings.Contains(err.Error(), "--data") {
		t.Errorf("dra with --data: %v", err)
	}
	if ran != 2 {
		t.Errorf("entry ran %d times, want 2", ran)
	}
	// MinCorpus follows smallSpec; finercut trains with the same windows.
	a, f := smallSpec(0, false, nil).Train, finercutSpec(0, false).Train
	if a.SeqLen != f.SeqLen || a.ValFraction != f.ValFraction {
		t.Errorf("finercut's windows (%d, %g) differ from smallSpec's (%d, %g)", f.SeqLen, f.ValFraction, a.SeqLen, a.ValFraction)
	}
}
