package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/loomml/loom/convert"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/decoder/decodertest"
	"github.com/loomml/loom/serve"
	"github.com/loomml/loom/serve/engine"
	"github.com/loomml/loom/tokenizer"
)

const tinyTrained = "../../convert/testdata/hf/loom-trained"

// TestServeSIGTERM runs `loom serve` as a process: it prints the address it
// listens on, answers, and on SIGTERM stops accepting, finishes and exits
// 0.
func TestServeSIGTERM(t *testing.T) {
	cmd := loomCommand(t, "", "serve", "--model", "tiny="+tinyTrained, "--addr", "127.0.0.1:0", "--threads", "1", "--max-queue", "200")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stderr)
	var url string
	var log []string
	for url == "" && sc.Scan() {
		log = append(log, sc.Text())
		if a, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
			url = a
		}
	}
	if url == "" {
		t.Fatalf("no \"listening on\" line in %q", log)
	}
	rest := make(chan string)
	go func() {
		b, _ := io.ReadAll(stderr)
		rest <- string(b)
	}()
	resp, err := http.Post(url+"/v1/completions", "application/json", strings.NewReader(`{"model":"tiny","prompt":"a","max_tokens":3}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(b, []byte(`"text_completion"`)) {
		t.Fatalf("POST /v1/completions: %d %s", resp.StatusCode, b)
	}
	// a long streaming request (128 sequences of 60 tokens) in flight at
	// SIGTERM runs to its end
	resp, err = http.Post(url+"/v1/completions", "application/json", strings.NewReader(`{"model":"tiny","prompt":"a","max_tokens":60,"n":128,"stream":true}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	if line, err := rd.ReadString('\n'); err != nil || !strings.HasPrefix(line, "data: ") {
		t.Fatalf("stream: %q %v", line, err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	b, err = io.ReadAll(rd)
	if err != nil || !bytes.HasSuffix(b, []byte("data: [DONE]\n\n")) {
		t.Fatalf("the stream in flight at SIGTERM ended with %v after %d bytes: %q", err, len(b), b[max(0, len(b)-200):])
	}
	err = cmd.Wait()
	out := <-rest
	if err != nil {
		t.Fatalf("after SIGTERM: %v; want exit 0\n%s", err, out)
	}
	if !strings.Contains(out, "no longer accepting requests") || !strings.Contains(out, "loom serve: stopped") {
		t.Fatalf("stderr after SIGTERM:\n%s", out)
	}
	if _, err := http.Get(url + "/health"); err == nil {
		t.Fatal("the server still answers after exiting")
	}
}

func TestServeUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"serve"}, 2, "--model PATH is required"},
		{[]string{"serve", "--help"}, 0, "(default 8388608)"},
		{[]string{"serve", "--model", tinyTrained, "--max-queue", "0"}, 2, "-max-queue"},
		{[]string{"serve", "--model", tinyTrained, "--engine", "turbo"}, 2, "-engine"},
		{[]string{"serve", "--model", tinyTrained, "--addr", "nonsense"}, 1, "--addr \"nonsense\": want HOST:PORT"},
		{[]string{"serve", "--model", "x=/does/not/exist"}, 1, "--model x=/does/not/exist"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(c.args, &stdout, &stderr); code != c.code || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("loom %s: exit %d, %q; want %d and %q", strings.Join(c.args, " "), code, stderr.String(), c.code, c.want)
		}
	}
}

func TestServeLoopbackWarning(t *testing.T) {
	for _, c := range []struct {
		addr, key string
		warn      bool
	}{
		{"127.0.0.1:8080", "", false}, {"localhost:8080", "", false}, {"[::1]:8080", "", false},
		{"0.0.0.0:8080", "", true}, {":8080", "", true}, {"192.168.1.5:80", "", true}, {"0.0.0.0:8080", "k", false},
	} {
		var b bytes.Buffer
		if err := checkLoopback(c.addr, c.key, &b); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(b.String(), "warning"); got != c.warn {
			t.Errorf("--addr %s --api-key %q: warning %v (%q), want %v", c.addr, c.key, got, b.String(), c.warn)
		}
	}
}

// TestServeMatFormerAliases: a MatFormer is listed at every trained width
// and served at the one asked for, on one engine and one copy of weights.
func TestServeMatFormerAliases(t *testing.T) {
	m, err := decoder.New(decodertest.TinyConfig(func(c *decoder.Config) {
		c.VocabSize = 256
		c.Loom.MatFormer = &decoder.MatFormer{Factor: 4}
	}), 1)
	if err != nil {
		t.Fatal(err)
	}
	l := &convert.Loaded{Model: m, Tok: tokenizer.Byte{}}
	e := engine.NewSequential(m, l.Tok, nil, engine.SequentialOptions{})
	defer e.Close(context.Background())
	ms, err := serveModels("mf", l, e, engineOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, x := range ms {
		names = append(names, x.Name)
	}
	if want := []string{"mf", "mf:ffn=32", "mf:ffn=16"}; !slices.Equal(names, want) {
		t.Fatalf("models %v, want %v", names, want)
	}
	s, err := serve.New(serve.Options{Models: ms})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	defer ts.Close()
	first := func(model string) float64 { return completionLogprobs(t, ts.URL, model, "[1,2,3]", 1)[0] }
	full := first("mf")
	if q := first("mf:ffn=16"); q == full {
		t.Fatalf("ffn=16 gives the full model's log-probability %v", q)
	}
	if again := first("mf"); again != full || !slices.Equal(m.FFNWidths(), []int{64, 64}) {
		t.Fatalf("after an ffn=16 request the full model gives %v (was %v), widths %v", again, full, m.FFNWidths())
	}
}

// completionLogprobs asks the server at url for a greedy completion of
// n tokens of prompt (a JSON prompt value) by model and returns the
// tokens' log-probabilities.
func completionLogprobs(t *testing.T, url, model, prompt string, n int) []float64 {
	t.Helper()
	resp, err := http.Post(url+"/v1/completions", "application/json",
		strings.NewReader(fmt.Sprintf(`{"model":%q,"prompt":%s,"max_tokens":%d,"temperature":0,"logprobs":0}`, model, prompt, n)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Choices []struct {
			Logprobs struct {
				TokenLogprobs []float64 `json:"token_logprobs"`
			} `json:"logprobs"`
		} `json:"choices"`
	}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &r); err != nil || resp.StatusCode != 200 || len(r.Choices) != 1 || len(r.Choices[0].Logprobs.TokenLogprobs) != n {
		t.Fatalf("%s: %d %s", model, resp.StatusCode, b)
	}
	return r.Choices[0].Logprobs.TokenLogprobs
}
