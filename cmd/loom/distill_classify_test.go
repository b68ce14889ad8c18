package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loomml/loom/models/encoder"
)

// TestDistillClassify: a 1-layer student built from a config of sizes
// alone learns from the 3-layer BERT classifier through a layer map and is
// saved as an encoder directory with the teacher's tokenizer and labels;
// that directory is a student in turn; mismatched vocabularies and label
// sets, misplaced flags and data of other classes are refused by name.
func TestDistillClassify(t *testing.T) {
	dir := t.TempDir()
	bert, train, test := tinyClassifier(t, dir)
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	small := write("small.json", `{"num_hidden_layers": 1, "intermediate_size": 16}`)
	distil := func(extra ...string) (string, string, int) {
		var o, e bytes.Buffer
		code := run(append([]string{"distill", "--task", "classify", "--teacher", bert, "--data", train, "--steps", "6", "--batch", "8"}, extra...), &o, &e)
		return o.String(), e.String(), code
	}
	out := filepath.Join(dir, "student")
	so, se, code := distil("--student", small, "--eval", test, "--out", out, "--ce", "0.5", "--hidden", "0.5", "--layers", "0:2", "--temperature", "3")
	if code != 0 || !strings.Contains(so, "held-out accuracy") || !strings.Contains(se, "student before") {
		t.Fatalf("exit %d\n%s\n%s", code, so, se)
	}
	ckpt := filepath.Join(out, "checkpoint")
	for _, f := range []string{"metrics.jsonl", "loss.png", "checkpoint/config.json", "checkpoint/model.safetensors", "checkpoint/tokenizer.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	m, err := encoder.Load(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Layers) != 1 || m.Config.IntermediateSize != 16 || strings.Join(m.Config.Labels(), ",") != "ham,spam" || m.Config.VocabSize != 256 {
		t.Fatalf("saved student: %s, labels %v", m, m.Config.Labels())
	}
	// The saved student as a student (continued), --eval held out of --data.
	if so, se, code := distil("--student", ckpt, "--out", filepath.Join(dir, "again")); code != 0 {
		t.Fatalf("a model as the student: exit %d\n%s\n%s", code, so, se)
	}
	three := filepath.Join(dir, "three")
	c := *m.Config
	c.SetLabels([]string{"ham", "spam", "eggs"})
	m3, _ := encoder.New(&c, 1)
	if err := encoder.Save(m3, three); err != nil {
		t.Fatal(err)
	}
	other := write("other.csv", "text,label\nhello,eggs\nworld,ham\n")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--student", write("v.json", `{"vocab_size": 77}`)}, "vocab_size 77 differs from the teacher's 256"},
		{[]string{"--student", write("l.json", `{"id2label": {"0": "a", "1": "b", "2": "c"}}`)}, "3 labels, the teacher's 2"},
		{[]string{"--student", write("n.json", `{"num_labels": 5}`)}, "num_labels 5, the teacher's 2"},
		{[]string{"--student", write("a.json", `{"architectures": ["BertModel"]}`)}, "leave the key out"},
		{[]string{"--student", three}, "label set (3 labels) differs from the teacher's (2 labels)"},
		{[]string{"--student", small, "--eval", other}, `class "eggs" is not one of --teacher`},
		{[]string{"--student", small, "--hidden", "1", "--layers", "0:7"}, "teacher layer 7"},
	} {
		_, se, code := distil(append(c.args, "--out", filepath.Join(dir, "x"))...)
		if code == 0 || !strings.Contains(se, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, code, se, c.want)
		}
	}
	var o, e bytes.Buffer
	if code := run([]string{"distill", "--task", "classify", "--teacher", bert, "--student", small, "--out", filepath.Join(dir, "y")}, &o, &e); code == 0 || !strings.Contains(e.String(), "needs --data") {
		t.Errorf("no --data: exit %d, %s", code, e.String())
	}
	if code := run([]string{"distill", "--teacher", bert, "--student", small, "--eval", test, "--out", filepath.Join(dir, "z")}, &o, &e); code == 0 || !strings.Contains(e.String(), "--eval is for --task classify") {
		t.Errorf("--eval with --task lm: exit %d, %s", code, e.String())
	}
}
