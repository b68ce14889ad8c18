package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSearch: `loom search generate` prints the requested examples (each
// with its labels and lookahead, reproducible by seed); `loom search
// train` trains briefly and writes result.json; bad input names the flag.
func TestSearch(t *testing.T) {
	var o, e bytes.Buffer
	if code := run([]string{"search", "generate", "--distribution", "balanced", "--vertices", "9", "--lookahead", "4", "--count", "5", "--seed", "3"}, &o, &e); code != 0 {
		t.Fatalf("generate: %s", e.String())
	}
	lines := strings.Split(strings.TrimSpace(o.String()), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d lines, want 5:\n%s", len(lines), o.String())
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "E ") || !strings.Contains(l, " Q ") || !strings.Contains(l, " P ") || !strings.Contains(l, "| next ") || !strings.Contains(l, "| lookahead ") {
			t.Errorf("line %q", l)
		}
	}
	first := o.String()
	o.Reset()
	run([]string{"search", "generate", "--distribution", "balanced", "--vertices", "9", "--lookahead", "4", "--count", "5", "--seed", "3"}, &o, &e)
	if o.String() != first {
		t.Error("the same seed printed other examples")
	}
	o.Reset()
	if code := run([]string{"search", "generate", "--distribution", "naive", "--count", "3"}, &o, &e); code != 0 || strings.Count(o.String(), "\n") != 3 {
		t.Fatalf("generate naive: %d %s %s", code, o.String(), e.String())
	}

	dir := filepath.Join(t.TempDir(), "run")
	o.Reset()
	e.Reset()
	if code := run([]string{"search", "train", "--vertices", "7", "--lookahead", "2", "--layers", "1", "--dim", "16", "--steps", "5", "--batch", "8", "--out", dir}, &o, &e); code != 0 {
		t.Fatalf("train: %s", e.String())
	}
	if s := o.String(); !strings.Contains(s, "balanced distribution, 7 vertices") || !strings.Contains(s, "lookahead  test accuracy") {
		t.Errorf("train output:\n%s", s)
	}
	js, err := os.ReadFile(filepath.Join(dir, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Acc  []float64 `json:"test_accuracy_by_lookahead"`
		Loss []float64 `json:"loss"`
	}
	if err := json.Unmarshal(js, &res); err != nil || len(res.Acc) != 3 || len(res.Loss) != 5 {
		t.Errorf("result.json: %v %+v", err, res)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"search", "generate", "--vertices", "12", "--lookahead", "9"}, "--lookahead 9 needs at least 19 vertices (--vertices 12)"},
		{[]string{"search", "generate", "--vertices", "3"}, "flag -vertices: want 4 to 100"},
		{[]string{"search", "generate", "--distribution", "star"}, "flag -distribution: want one of naive, balanced"},
		{[]string{"search", "generate", "--count", "0"}, "flag -count: want ≥ 1"},
		{[]string{"search", "train", "--dim", "15"}, "--dim 15"},
		{[]string{"search", "train", "--lr", "0"}, "flag -lr: want > 0"},
		{[]string{"search", "train", "--vertices", "6", "--lookahead", "3"}, "--lookahead 3 needs at least 7 vertices (--vertices 6)"},
		{[]string{"search", "train", "--steps", "1", "--out", dir}, "--out"},
		{[]string{"search", "bogus"}, `unknown command "bogus"`},
	} {
		o.Reset()
		e.Reset()
		if code := run(c.args, &o, &e); code == 0 || !strings.Contains(e.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %q", c.args, code, e.String(), c.want)
		}
	}
}
