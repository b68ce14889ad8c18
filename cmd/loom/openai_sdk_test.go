package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestOpenAISDK drives a real `loom serve` on loopback with the official
// openai npm client (serve/testdata/openai_sdk.mjs): chat, streaming with
// usage, completions, embeddings (base64, the SDK's default), n = 2,
// json_schema and errors as the SDK's APIError. It needs
// LOOM_OPENAI_MODULES, a node_modules holding openai@6.30.1 (.ci/run
// installs one).
func TestOpenAISDK(t *testing.T) {
	mods := os.Getenv("LOOM_OPENAI_MODULES")
	if mods == "" {
		t.Skip("LOOM_OPENAI_MODULES is not set (see .ci/run)")
	}
	dir := t.TempDir()
	long := filepath.Join(dir, "long")
	var o, e bytes.Buffer
	if code := run([]string{"init", "--config", "testdata/serve-ctx512.json", "--out", long, "--dtype", "f32"}, &o, &e); code != 0 {
		t.Fatalf("init: %s", e.String())
	}
	srv := loomCommand(t, "", "serve", "--model", "tiny=../../convert/testdata/hf/loom-trained", "--model", "long="+long,
		"--addr", "127.0.0.1:0", "--api-key", "sdk-key", "--threads", "1")
	stderr, _ := srv.StderrPipe()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				addr <- a
			}
		}
	}()
	var base string
	select {
	case base = <-addr:
	case <-time.After(30 * time.Second):
		t.Fatal("loom serve did not say where it listens")
	}
	script, _ := filepath.Abs("../../serve/testdata/openai_sdk.mjs")
	out, err := exec.Command("node", script, mods, base+"/v1", "sdk-key", "tiny", "long").CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("openai SDK checks failed: %v", err)
	}
}
