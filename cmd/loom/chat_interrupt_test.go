package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestChatInterrupt sends real SIGINTs to `loom chat`: one while an answer
// is being written stops that answer, and the chat asks for the next
// line; one at the prompt ends the program with status 130.
func TestChatInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("starts loom as a process")
	}
	dir := t.TempDir()
	// A random model with a byte vocabulary and no end token: its answers
	// run to --max-tokens, long enough to be interrupted.
	cfg := `{"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2,
	 "hidden_act": "silu", "rms_norm_eps": 1e-6, "rope_theta": 10000, "vocab_size": 256, "max_position_embeddings": 20000,
	 "initializer_range": 0.02, "loom": {"tokenizer": "byte"}}`
	os.WriteFile(filepath.Join(dir, "m.json"), []byte(cfg), 0o644)
	if out, err := loomCommand(t, dir, "init", "--config", "m.json", "--out", "m").CombinedOutput(); err != nil {
		t.Fatalf("loom init: %v\n%s", err, out)
	}
	cmd := loomCommand(t, dir, "chat", "--model", "m", "--max-tokens", "19000", "--temperature", "1", "--threads", "1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var out bytes.Buffer
	cmd.Stdout = writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return out.Write(p) })
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	// waitFor waits until the output after "> " and the question holds
	// cond.
	waitFor := func(what string, cond func(s string) bool) {
		t.Helper()
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			mu.Lock()
			s := out.String()
			mu.Unlock()
			if cond(s) {
				return
			}
		}
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("no %s after 60 s; output %q, stderr %q", what, out.String(), stderr.String())
	}
	waitFor("prompt", func(s string) bool { return strings.HasPrefix(s, "> ") })
	stdin.Write([]byte("hello\n"))
	waitFor("answer under way", func(s string) bool { return len(s) > 200 })
	cmd.Process.Signal(syscall.SIGINT)
	waitFor("stopped answer and a new prompt", func(s string) bool { return strings.HasSuffix(s, " (stopped)\n> ") })
	cmd.Process.Signal(syscall.SIGINT)
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitInterrupted {
		t.Fatalf("Ctrl-C at the prompt: %v; want exit status %d", err, exitInterrupted)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
