package repro

import (
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
