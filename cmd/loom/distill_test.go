package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loomml/loom/models/decoder"
)

// TestDistill: a 1-layer student built from a config learns from the
// 2-layer teacher through a layer map and is saved where every command
// loads it (eval reads it), with metrics.jsonl and loss.png; a student of
// another vocabulary, a bad layer map and missing flags are refused by
// name; --help lists the defaults.
func TestDistill(t *testing.T) {
	ckpt := trained(t)
	dir := t.TempDir()
	tc, err := decoder.LoadConfig(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	writeCfg := func(name string, mod func(c *decoder.Config)) string {
		c := *tc
		mod(&c)
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, c.JSON(), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	small := writeCfg("small.json", func(c *decoder.Config) { c.NumHiddenLayers = 1 })
	text, _, _ := readCorpus("")
	corpus := filepath.Join(dir, "corpus.txt")
	os.WriteFile(corpus, text[:60000], 0o644)
	distil := func(extra ...string) (string, string, int) {
		var o, e bytes.Buffer
		code := run(append([]string{"distill", "--teacher", ckpt, "--data", corpus, "--steps", "4", "--batch", "4", "--seq-len", "32", "--eval-tokens", "500"}, extra...), &o, &e)
		return o.String(), e.String(), code
	}
	out := filepath.Join(dir, "student")
	so, se, code := distil("--student", small, "--out", out, "--hidden", "0.5", "--layers", "0:1", "--ce", "0.5")
	if code != 0 || !strings.Contains(so, "held-out loss") {
		t.Fatalf("exit %d\n%s\n%s", code, so, se)
	}
	for _, f := range []string{"metrics.jsonl", "loss.png", "checkpoint/config.json", "checkpoint/model.safetensors"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	var o, e bytes.Buffer
	if code := run([]string{"eval", "--model", out, "--data", corpus}, &o, &e); code != 0 {
		t.Fatalf("eval of the student: %s", e.String())
	}
	// A loaded model as the student (the distilled one, to continue).
	if so, se, code := distil("--student", out, "--out", filepath.Join(dir, "again")); code != 0 {
		t.Fatalf("a model as the student: exit %d\n%s\n%s", code, so, se)
	}
	wrong := writeCfg("wrong.json", func(c *decoder.Config) { c.VocabSize = 77 })
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--student", wrong, "--out", filepath.Join(dir, "w")}, fmt.Sprintf("vocab_size 77 differs from the teacher's %d", tc.VocabSize)},
		{[]string{"--student", small, "--out", filepath.Join(dir, "l"), "--hidden", "1", "--layers", "0-1"}, "--layers"},
		{[]string{"--student", small, "--out", filepath.Join(dir, "l2"), "--hidden", "1", "--layers", "0:5"}, "teacher layer 5"},
		{[]string{"--student", small, "--out", filepath.Join(dir, "l3"), "--layers", "0:1"}, "--hidden"},
		{[]string{"--student", small, "--out", filepath.Join(dir, "z"), "--kl", "0"}, "positive weight"},
		{[]string{"--out", filepath.Join(dir, "x")}, "--student"},
		{[]string{"--student", small, "--out", filepath.Join(dir, "t"), "--temperature", "0"}, "flag -temperature: want > 0"},
	} {
		_, se, code := distil(c.args...)
		if code == 0 || !strings.Contains(se, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, code, se, c.want)
		}
	}
	var ho, he bytes.Buffer
	run([]string{"distill", "--help"}, &ho, &he)
	help := ho.String() + he.String()
	for _, w := range []string{"--teacher", "--student", "(default 300)", "(default 2)", "layer map"} {
		if !strings.Contains(help, w) {
			t.Errorf("--help lacks %q:\n%s", w, help)
		}
	}
}
