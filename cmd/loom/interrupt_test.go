package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// bigConfig is a model large enough (about 30M parameters) that init and
// export are still at work when a signal sent as their temporary output
// appears arrives; interrupted at once, each writes only a little of it.
const bigConfig = `{"model_type": "llama", "hidden_size": 512, "intermediate_size": 1536, "num_hidden_layers": 6,
 "num_attention_heads": 8, "vocab_size": 8192, "max_position_embeddings": 128, "rms_norm_eps": 1e-6, "initializer_range": 0.02}`

// interruptWhenWriting runs loom args in dir, sends SIGINT once a
// temporary sibling of out (".OUT.tmp-PID-…") appears in dir, and returns
// the exit status and stderr. It fails the test if loom ends before that.
func interruptWhenWriting(t *testing.T, dir, out string, args ...string) (int, string) {
	t.Helper()
	cmd := loomCommand(t, dir, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	prefix := "." + out + ".tmp-"
	for sent := false; ; {
		select {
		case err := <-done:
			if !sent {
				t.Fatalf("loom %s ended before it was interrupted (%v): %s", args[0], err, stderr.String())
			}
			var ee *exec.ExitError
			if err == nil {
				return 0, stderr.String()
			}
			if !errors.As(err, &ee) {
				t.Fatal(err)
			}
			return ee.ExitCode(), stderr.String()
		default:
		}
		if !sent {
			es, _ := os.ReadDir(dir)
			if slices.ContainsFunc(es, func(e os.DirEntry) bool { return strings.HasPrefix(e.Name(), prefix) }) {
				if err := cmd.Process.Signal(os.Interrupt); err != nil {
					t.Fatal(err)
				}
				sent = true
				continue
			}
		}
		time.Sleep(2 * time.Millisecond) // polling, not a timed assertion
	}
}

// TestInterruptWrites sends a real SIGINT to `loom init` and `loom export`
// while they write: each exits with status 130, saying so, leaves no
// temporary file or directory, and leaves --out as it was (absent, or with
// --force the old contents untouched).
func TestInterruptWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a model of about 60 MB")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "big.json"), []byte(bigConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	// The source for export, written in this process.
	var o, e bytes.Buffer
	if code := run([]string{"init", "--config", filepath.Join(dir, "big.json"), "--out", filepath.Join(dir, "src"), "--shard-mb", "20"}, &o, &e); code != 0 {
		t.Fatalf("init: %s", e.String())
	}
	for _, tc := range []struct {
		name string
		args []string // --out out is added
		old  bool     // out exists before (then --force is given)
	}{
		{"init", []string{"init", "--config", "big.json", "--shard-mb", "20"}, false},
		{"init --force", []string{"init", "--config", "big.json", "--shard-mb", "20", "--force"}, true},
		{"export hf", []string{"export", "--format", "hf", "--model", "src"}, false},
		{"export hf --force", []string{"export", "--format", "hf", "--model", "src", "--force"}, true},
		{"export gguf", []string{"export", "--format", "gguf", "--type", "f32", "--model", "src"}, false},
		{"export gguf --force", []string{"export", "--format", "gguf", "--type", "f32", "--model", "src", "--force"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const out = "out"
			if tc.old {
				copyDir(t, "../../convert/testdata/hf/llama-sharded", filepath.Join(dir, out))
			}
			code, stderr := interruptWhenWriting(t, dir, out, append(tc.args, "--out", out)...)
			if want := "loom: interrupted: nothing written to out"; code != exitInterrupted || !strings.Contains(stderr, want) {
				t.Errorf("exit status %d, stderr %q; want %d and %q", code, stderr, exitInterrupted, want)
			}
			want := []string{"big.json", "src"}
			if tc.old {
				want = []string{"big.json", out, "src"}
			}
			if got := entries(t, dir); !slices.Equal(got, want) {
				t.Errorf("after the interrupt the directory holds %v, want %v", got, want)
			}
			if tc.old {
				if got := entries(t, filepath.Join(dir, out)); len(got) != 6 || !slices.Contains(got, "model.safetensors.index.json") {
					t.Errorf("the old --out changed: %v", got)
				}
				os.RemoveAll(filepath.Join(dir, out))
			}
		})
	}
}
