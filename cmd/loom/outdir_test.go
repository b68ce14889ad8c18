package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// hfFixture is a small Hugging Face model directory (loom's HF export
// fixture).
const hfFixture = "../../convert/testdata/hf/loom-trained"

// copyDir copies the files of src into dst (created).
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// entries lists dir's entry names, sorted ("" for a file: nil).
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// oldSharded fills dir with an old sharded model (two shards and an index).
func oldSharded(t *testing.T, dir string) {
	copyDir(t, "../../convert/testdata/hf/llama-sharded", dir)
}

// TestOutRule: every command that writes a model refuses a non-empty --out,
// naming it, what it holds and --force, leaving it untouched; with --force
// the old contents are replaced as a whole (no old shard or index is left),
// and nothing temporary is left beside it.
func TestOutRule(t *testing.T) {
	csvDir := t.TempDir()
	csv := filepath.Join(csvDir, "s.csv")
	writeSeries(t, csv, 300, "a", "OT")
	for _, tc := range []struct {
		name string
		args []string // --out OUT and --force are added
		file bool     // --out is a file
		want []string // OUT's entries after a forced run (a directory)
	}{
		{"export hf", []string{"export", "--format", "hf", "--model", hfFixture},
			false, []string{"config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"}},
		{"export gguf", []string{"export", "--format", "gguf", "--model", hfFixture}, true, nil},
		{"init", []string{"init", "--config", "testdata/prune-tiny.json", "--shard-mb", "0"}, false, []string{"config.json", "model.safetensors"}},
		{"extract", []string{"extract", "--model", hfFixture, "--ffn-widths", "8"},
			false, []string{"config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"}},
		{"prune", []string{"prune", "--method", "lastn", "--ratio", "0.25", "--model", hfFixture, "--windows", "2", "--eval-tokens", "200", "--tasks", ""},
			false, []string{"config.json", "generation_config.json", "model.safetensors", "prune-map.png", "prune-report.json", "prune-report.md", "tokenizer.json", "tokenizer_config.json"}},
		{"forecast train", []string{"forecast", "train", "--csv", csv, "--arch", "dlinear", "--lookback", "24", "--horizon", "8", "--epochs", "1"},
			false, []string{"checkpoint", "config.json", "loss.png", "metrics.jsonl", "model.safetensors"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			out := filepath.Join(base, "out")
			if tc.file {
				os.WriteFile(out, []byte("old file"), 0o644)
			} else {
				oldSharded(t, out)
			}
			before := []string{"out"}
			var o, e bytes.Buffer
			args := append(slices.Clone(tc.args), "--out", out)
			code := run(args, &o, &e)
			want := "--out " + out + " is not empty (holds config.json, expected.json, generation_config.json, …)"
			if tc.file {
				want = "--out " + out + " already exists"
			}
			if tc.name == "forecast train" {
				want += " and is not a forecasting run to resume"
			}
			if want += "; pass --force to replace it"; code != 1 || !strings.Contains(e.String(), want) {
				t.Fatalf("into a non-empty --out: exit %d, %q; want 1 and %q", code, e.String(), want)
			}
			if tc.file {
				if b, _ := os.ReadFile(out); string(b) != "old file" {
					t.Fatalf("refused, yet %s changed: %q", out, b)
				}
			} else if got := entries(t, out); len(got) != 6 {
				t.Fatalf("refused, yet %s changed: %v", out, got)
			}
			o.Reset()
			e.Reset()
			if code := run(append(args, "--force"), &o, &e); code != 0 {
				t.Fatalf("--force: exit %d, %s", code, e.String())
			}
			if tc.file {
				if b, _ := os.ReadFile(out); len(b) < 4 || string(b[:4]) != "GGUF" {
					t.Fatalf("--force did not replace %s: %q…", out, b[:min(len(b), 8)])
				}
			} else if got := entries(t, out); !slices.Equal(got, tc.want) {
				t.Fatalf("after --force %s holds %v, want %v", out, got, tc.want)
			}
			if got := entries(t, base); !slices.Equal(got, before) {
				t.Errorf("left beside --out: %v", got)
			}
		})
	}
}

// TestExportForceSize: export --force into a directory holding an old
// sharded model prints the size of the new model alone, the same as into
// a new directory.
func TestExportForceSize(t *testing.T) {
	dir := t.TempDir()
	fresh, old := filepath.Join(dir, "fresh"), filepath.Join(dir, "old")
	oldSharded(t, old)
	size := regexp.MustCompile(`\(hf, ([0-9.]+) MB`)
	var sizes []string
	for _, out := range []string{fresh, old} {
		var o, e bytes.Buffer
		if code := run([]string{"export", "--format", "hf", "--model", hfFixture, "--out", out, "--force"}, &o, &e); code != 0 {
			t.Fatalf("export: %s", e.String())
		}
		m := size.FindStringSubmatch(o.String())
		if m == nil {
			t.Fatalf("no size in %q", o.String())
		}
		sizes = append(sizes, m[1])
	}
	if sizes[0] != sizes[1] {
		t.Errorf("export over an old sharded model prints %s MB, into a new directory %s MB", sizes[1], sizes[0])
	}
	if _, err := os.Stat(filepath.Join(old, "model.safetensors.index.json")); !os.IsNotExist(err) {
		t.Errorf("the old index survived --force: %v", err)
	}
}

// TestOutEmptyAndSources: an empty --out directory is written without
// --force; --force refuses an --out that holds the command's input.
func TestOutEmptyAndSources(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	var o, e bytes.Buffer
	if code := run([]string{"init", "--config", "testdata/prune-tiny.json", "--out", empty}, &o, &e); code != 0 {
		t.Fatalf("init into an empty directory: %s", e.String())
	}
	src := filepath.Join(dir, "src")
	copyDir(t, hfFixture, filepath.Join(src, "model"))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"export", "--format", "hf", "--model", filepath.Join(src, "model"), "--out", src, "--force"},
			"--out " + src + " holds --model " + filepath.Join(src, "model") + ": --force would delete it"},
		{[]string{"export", "--format", "gguf", "--model", filepath.Join(src, "model"), "--out", filepath.Join(src, "model"), "--force"},
			"holds --model"},
		{[]string{"init", "--config", filepath.Join(src, "model", "config.json"), "--out", src, "--force"}, "holds --config"},
		{[]string{"extract", "--model", filepath.Join(src, "model"), "--ffn-widths", "8", "--out", src, "--force"}, "holds --model"},
	} {
		e.Reset()
		if code := run(tc.args, &o, &e); code != 1 || !strings.Contains(e.String(), tc.want) {
			t.Errorf("%v: exit %d, %q; want %q", tc.args, code, e.String(), tc.want)
		}
	}
	if got := entries(t, filepath.Join(src, "model")); len(got) != 6 {
		t.Errorf("the source changed: %v", got)
	}
}

// TestTrainOut: train writes into an empty or new --out or a run of its
// own, and refuses a directory holding anything else.
func TestTrainOut(t *testing.T) {
	dir := t.TempDir()
	notRun := filepath.Join(dir, "model")
	copyDir(t, hfFixture, notRun)
	var o, e bytes.Buffer
	code := run([]string{"train", "--preset", "tiny", "--steps", "1", "--out", notRun}, &o, &e)
	want := "--out " + notRun + " is not empty (holds config.json, expected.json, generation_config.json, …) and is not a training run to resume"
	if code != 1 || !strings.Contains(e.String(), want) {
		t.Fatalf("train into a model directory: exit %d, %q; want %q", code, e.String(), want)
	}
	if got := entries(t, notRun); len(got) != 6 {
		t.Fatalf("refused, yet it changed: %v", got)
	}
	for _, tc := range []struct {
		files []string
		ok    bool
	}{
		{nil, true},
		{[]string{"checkpoint/trainer_state.json"}, true},
		{[]string{"data/meta.json", "metrics.jsonl"}, true},
		{[]string{"notes.txt"}, false},
		{[]string{"checkpoint/config.json"}, false},
	} {
		d := t.TempDir()
		for _, f := range tc.files {
			os.MkdirAll(filepath.Dir(filepath.Join(d, f)), 0o755)
			os.WriteFile(filepath.Join(d, f), []byte("{}"), 0o644)
		}
		if err := checkTrainOut(d); (err == nil) != tc.ok {
			t.Errorf("checkTrainOut with %v: %v, want ok=%v", tc.files, err, tc.ok)
		}
	}
}

// TestOutSweepsStale: a temporary left beside --out by a killed loom
// (its pid no longer running) is removed by the next run to that --out;
// one of a live process is kept.
func TestOutSweepsStale(t *testing.T) {
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Skip("no true command:", err)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "m")
	stale := filepath.Join(dir, ".m.tmp-"+strconv.Itoa(dead.ProcessState.Pid())+"-1")
	live := filepath.Join(dir, ".m.tmp-"+strconv.Itoa(os.Getpid())+"-2")
	for _, d := range []string{stale, live} {
		copyDir(t, hfFixture, d)
	}
	var o, e bytes.Buffer
	if code := run([]string{"init", "--config", "testdata/prune-tiny.json", "--out", out}, &o, &e); code != 0 {
		t.Fatalf("init: %s", e.String())
	}
	if got, want := entries(t, dir), []string{filepath.Base(live), "m"}; !slices.Equal(got, want) {
		t.Errorf("beside --out: %v, want %v", got, want)
	}
}
