package convert

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/decoder/decodertest"
	"github.com/loomml/loom/tensor"
)

// ResolvePath takes what a user would pass: a training run, the run's
// checkpoint, a model directory or a GGUF file, and names the model after
// the run when there is one.
func TestResolvePath(t *testing.T) {
	root := t.TempDir()
	m, _ := decoder.New(decodertest.InteropConfig(nil), 1)
	run := filepath.Join(root, "shakespeare-run")
	if err := Save(m, filepath.Join(run, CheckpointDir)); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(root, "plain-model")
	if err := Save(m, plain); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(root, "tiny.gguf")
	if err := ExportGGUF(m, file, nil, tensor.Float32, "tiny"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ in, dir, name string }{
		{run, filepath.Join(run, CheckpointDir), "shakespeare-run"},
		{run + "/", filepath.Join(run, CheckpointDir), "shakespeare-run"},
		{filepath.Join(run, CheckpointDir), filepath.Join(run, CheckpointDir), "shakespeare-run"},
		{plain, plain, "plain-model"},
		{file, file, "tiny"},
	} {
		dir, name, err := ResolvePath(c.in)
		if err != nil || dir != c.dir || name != c.name {
			t.Errorf("ResolvePath(%s) = %s, %s, %v; want %s, %s", c.in, dir, name, err, c.dir, c.name)
		}
		l, err := Open(c.in, LoadOptions{})
		if err != nil || l.Model.NumParams() != m.NumParams() || l.Tok == nil {
			t.Errorf("Open(%s): %v", c.in, err)
		}
	}
	empty := filepath.Join(root, "empty")
	os.Mkdir(empty, 0o755)
	text := filepath.Join(root, "notes.txt")
	os.WriteFile(text, []byte("hello"), 0o644)
	for in, want := range map[string]string{
		filepath.Join(root, "missing"): "does not exist",
		empty:                          "no config.json",
		text:                           "not a model",
	} {
		if _, _, err := ResolvePath(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ResolvePath(%s): %v, want %q", in, err, want)
		}
	}
}
