package serve

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loomml/loom/serve/engine"
)

// The "Bad input and faults" of issue 20, each against the real engine
// except the panic (an engine wrapper that panics: nothing in the real
// server panics on purpose).

func TestBadInput(t *testing.T) {
	ts, e := testServer(t, func(o *Options) { o.MaxBody = 4096 })
	long := strings.Repeat("x", e.ContextLen())
	chat := func(extra string) string {
		return `{"model":"tiny","messages":[{"role":"user","content":"hi"}]` + extra + `}`
	}
	for _, c := range []struct {
		name, path, body string
		status           int
		param, code      string // param "-": null
	}{
		{"malformed JSON", "/v1/chat/completions", `{"model":"tiny",`, 400, "-", ""},
		{"not an object", "/v1/chat/completions", `[1]`, 400, "-", ""},
		{"empty body", "/v1/completions", ``, 400, "-", ""},
		{"no model", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}]}`, 400, "model", ""},
		{"unknown model", "/v1/chat/completions", `{"model":"gpt-4","messages":[{"role":"user","content":"hi"}]}`, 400, "model", "model_not_found"},
		{"unknown model completions", "/v1/completions", `{"model":"gpt-4","prompt":"a"}`, 400, "model", "model_not_found"},
		{"unknown model embeddings", "/v1/embeddings", `{"model":"gpt-4","input":"a"}`, 400, "model", "model_not_found"},
		{"messages type", "/v1/chat/completions", `{"model":"tiny","messages":"hi"}`, 400, "messages", ""},
		{"no messages", "/v1/chat/completions", `{"model":"tiny","messages":[]}`, 400, "messages", ""},
		{"bad role", "/v1/chat/completions", `{"model":"tiny","messages":[{"role":"wizard","content":"hi"}]}`, 400, "messages[0].role", ""},
		{"content type", "/v1/chat/completions", `{"model":"tiny","messages":[{"role":"user","content":5}]}`, 400, "messages[0].content", ""},
		{"image part", "/v1/chat/completions", `{"model":"tiny","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}`, 400, "messages[0].content[0]", ""},
		{"temperature type", "/v1/chat/completions", chat(`,"temperature":"hot"`), 400, "temperature", ""},
		{"temperature range", "/v1/chat/completions", chat(`,"temperature":2.5`), 400, "temperature", ""},
		{"top_p range", "/v1/chat/completions", chat(`,"top_p":1.5`), 400, "top_p", ""},
		{"top_k range", "/v1/chat/completions", chat(`,"top_k":-1`), 400, "top_k", ""},
		{"n zero", "/v1/chat/completions", chat(`,"n":0`), 400, "n", ""},
		{"n type", "/v1/chat/completions", chat(`,"n":1.5`), 400, "n", ""},
		{"presence_penalty", "/v1/chat/completions", chat(`,"presence_penalty":2.5`), 400, "presence_penalty", ""},
		{"frequency_penalty", "/v1/completions", `{"model":"tiny","prompt":"a","frequency_penalty":-3}`, 400, "frequency_penalty", ""},
		{"max_tokens zero", "/v1/chat/completions", chat(`,"max_tokens":0`), 400, "max_tokens", ""},
		{"max_completion_tokens", "/v1/chat/completions", chat(`,"max_completion_tokens":-5`), 400, "max_completion_tokens", ""},
		{"top_logprobs range", "/v1/chat/completions", chat(`,"logprobs":true,"top_logprobs":21`), 400, "top_logprobs", ""},
		{"top_logprobs without logprobs", "/v1/chat/completions", chat(`,"top_logprobs":2`), 400, "top_logprobs", ""},
		{"logprobs type chat", "/v1/chat/completions", chat(`,"logprobs":3`), 400, "logprobs", ""},
		{"logprobs range completions", "/v1/completions", `{"model":"tiny","prompt":"a","logprobs":6}`, 400, "logprobs", ""},
		{"stop too many", "/v1/chat/completions", chat(`,"stop":["a","b","c","d","e"]`), 400, "stop", ""},
		{"stop type", "/v1/chat/completions", chat(`,"stop":5`), 400, "stop", ""},
		{"seed type", "/v1/chat/completions", chat(`,"seed":"x"`), 400, "seed", ""},
		{"stream_options without stream", "/v1/chat/completions", chat(`,"stream_options":{"include_usage":true}`), 400, "stream_options", ""},
		{"response_format json_object", "/v1/chat/completions", chat(`,"response_format":{"type":"json_object"}`), 400, "response_format", ""},
		{"response_format json_schema", "/v1/chat/completions", chat(`,"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{}}}`), 400, "response_format", ""},
		{"response_format type", "/v1/chat/completions", chat(`,"response_format":{"type":"yaml"}`), 400, "response_format.type", ""},
		{"tools", "/v1/chat/completions", chat(`,"tools":[{"type":"function","function":{"name":"f","parameters":{}}}]`), 400, "tools", ""},
		{"prompt too long chat", "/v1/chat/completions", `{"model":"tiny","messages":[{"role":"user","content":"` + long + `"}]}`, 400, "messages", "context_length_exceeded"},
		{"prompt too long completions", "/v1/completions", `{"model":"tiny","prompt":"` + long + `"}`, 400, "prompt", "context_length_exceeded"},
		{"prompt type", "/v1/completions", `{"model":"tiny","prompt":{"a":1}}`, 400, "prompt", ""},
		{"prompt token out of vocabulary", "/v1/completions", `{"model":"tiny","prompt":[1,2,99999]}`, 400, "prompt", ""},
		{"echo", "/v1/completions", `{"model":"tiny","prompt":"a","echo":true}`, 400, "echo", ""},
		{"input too long", "/v1/embeddings", `{"model":"tiny","input":"` + long + `x"}`, 400, "input", "context_length_exceeded"},
		{"input missing", "/v1/embeddings", `{"model":"tiny"}`, 400, "input", ""},
		{"encoding_format", "/v1/embeddings", `{"model":"tiny","input":"a","encoding_format":"int8"}`, 400, "encoding_format", ""},
		{"dimensions", "/v1/embeddings", `{"model":"tiny","input":"a","dimensions":7}`, 400, "dimensions", ""},
		{"body over the limit", "/v1/completions", `{"model":"tiny","prompt":"` + strings.Repeat("a", 5000) + `"}`, 413, "-", "request_too_large"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, b := do(t, ts, "POST", c.path, c.body)
			var eb errorBody
			if err := json.Unmarshal(b, &eb); err != nil || code != c.status || eb.Error.Message == "" || eb.Error.Type == "" {
				t.Fatalf("%d %s; want %d and an error object", code, b, c.status)
			}
			switch {
			case c.param == "-" && eb.Error.Param != nil, c.param != "-" && (eb.Error.Param == nil || *eb.Error.Param != c.param):
				t.Fatalf("param in %s; want %q", b, c.param)
			case c.code != "" && (eb.Error.Code == nil || *eb.Error.Code != c.code):
				t.Fatalf("code in %s; want %q", b, c.code)
			}
			if c.param != "-" && !strings.Contains(eb.Error.Message, strings.Split(c.param, "[")[0]) {
				t.Fatalf("message %q does not name %s", eb.Error.Message, c.param)
			}
		})
	}
	// the server still serves
	if code, _, b := do(t, ts, "POST", "/v1/completions", `{"model":"tiny","prompt":"a","max_tokens":2}`); code != 200 {
		t.Fatalf("after the bad requests: %d %s", code, b)
	}
}

func TestAPIKey(t *testing.T) {
	ts, _ := testServer(t, func(o *Options) { o.APIKey = "sekrit" })
	for _, c := range []struct {
		name   string
		hdr    []string
		status int
	}{
		{"missing", nil, 401},
		{"wrong", []string{"Authorization", "Bearer nope"}, 401},
		{"not bearer", []string{"Authorization", "sekrit"}, 401},
		{"right", []string{"Authorization", "Bearer sekrit"}, 200},
	} {
		for _, path := range []string{"/v1/models", "/v1/models/tiny"} {
			code, _, b := do(t, ts, "GET", path, "", c.hdr...)
			if code != c.status {
				t.Errorf("%s key, GET %s: %d %s; want %d", c.name, path, code, b, c.status)
			}
			if code == 401 {
				if eb := decode[errorBody](t, b); eb.Error.Code == nil || *eb.Error.Code != "invalid_api_key" {
					t.Errorf("401 body %s", b)
				}
			}
		}
		code, _, _ := do(t, ts, "POST", "/v1/completions", `{"model":"tiny","prompt":"a","max_tokens":1}`, c.hdr...)
		if code != c.status {
			t.Errorf("%s key, POST /v1/completions: %d; want %d", c.name, code, c.status)
		}
	}
	if code, _, _ := do(t, ts, "GET", "/health", ""); code != 200 {
		t.Errorf("/health without a key: %d; want 200 (open for probes)", code)
	}
}

// gateCompiler hands out constraints that let the engine take one step
// each time the test sends on step (all tokens allowed): the way to hold a
// real request in the engine for as long as a test needs.
type gateCompiler struct {
	step chan struct{}
	once sync.Once
}

func newGate(t *testing.T) *gateCompiler {
	g := &gateCompiler{step: make(chan struct{}, 1000)}
	t.Cleanup(g.open)
	return g
}

// open lets every step through from now on.
func (g *gateCompiler) open() { g.once.Do(func() { close(g.step) }) }

func (g *gateCompiler) Compile(json.RawMessage) (engine.Constraint, error) { return gate{g}, nil }

type gate struct{ g *gateCompiler }

func (c gate) Mask([]bool)      { <-c.g.step }
func (c gate) Accept(int) error { return nil }
func (c gate) Complete() bool   { return false }

func TestQueueFull429(t *testing.T) {
	l := testModel(t)
	e := testEngine(t, engine.SequentialOptions{MaxQueue: 1})
	g := newGate(t)
	s, err := New(Options{Models: []Model{{Name: "tiny", Engine: e, Tokenizer: l.Tok, ContextLen: e.ContextLen(), Constraints: g}}})
	if err != nil {
		t.Fatal(err)
	}
	ts := newHTTPTest(t, s)
	t.Cleanup(g.open) // before ts.Close, which waits for the held handlers
	gated := `{"model":"tiny","prompt":"a","max_tokens":3,"response_format":{"type":"json_object"}}`
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i := range 2 { // one runs (held at its first step), one waits in the queue
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _, _ = do(t, ts, "POST", "/v1/completions", gated)
		}()
		for st := e.Stats(); st.Running+st.Queued < i+1; st = e.Stats() {
			runtime.Gosched()
		}
	}
	code, hdr, b := do(t, ts, "POST", "/v1/completions", `{"model":"tiny","prompt":"a","max_tokens":1}`)
	if eb := decode[errorBody](t, b); code != 429 || hdr.Get("Retry-After") == "" || eb.Error.Message == "" {
		t.Fatalf("third request with a full queue: %d, Retry-After %q, %s; want 429 with Retry-After", code, hdr.Get("Retry-After"), b)
	}
	if code, hdr, b := do(t, ts, "POST", "/v1/chat/completions", `{"model":"tiny","messages":[{"role":"user","content":"a"}],"stream":true,"n":2}`); code != 429 || hdr.Get("Retry-After") == "" {
		t.Fatalf("a streaming request with a full queue: %d %s; want 429 before any event", code, b)
	}
	g.open()
	wg.Wait()
	if codes[0] != 200 || codes[1] != 200 {
		t.Fatalf("the held requests finished with %v", codes)
	}
}

func newHTTPTest(t *testing.T, h http.Handler) *httptest.Server {
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts
}

func TestDisconnectFreesSlot(t *testing.T) {
	l := testModel(t)
	e := testEngine(t, engine.SequentialOptions{})
	g := newGate(t)
	s, err := New(Options{Models: []Model{{Name: "tiny", Engine: e, Tokenizer: l.Tok, ContextLen: e.ContextLen(), Constraints: g}}})
	if err != nil {
		t.Fatal(err)
	}
	ts := newHTTPTest(t, s)
	t.Cleanup(g.open)                                                     // before ts.Close, which waits for the held handler
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a bound for a broken server only
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", ts.URL+"/v1/completions",
		strings.NewReader(`{"model":"tiny","prompt":"hi","max_tokens":40,"stream":true,"response_format":{"type":"json_object"}}`))
	for range 4 { // a few steps, so that some text is out (a byte may be held back as incomplete UTF-8)
		g.step <- struct{}{}
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	rd := bufio.NewReader(resp.Body)
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(line, "data: ") {
			break
		}
	}
	cancel() // the client goes away mid-stream
	resp.Body.Close()
	// The engine is held at its next step. Let it take steps one at a
	// time: it must stop within a few, long before the 40 tokens asked.
	for steps := 0; e.Stats().Running > 0; steps++ {
		if steps == 20 {
			t.Fatalf("the request still runs %d steps after the client left", steps)
		}
		g.step <- struct{}{}
		for i := 0; i < 100 && e.Stats().Running > 0; i++ {
			time.Sleep(time.Millisecond)
		}
	}
	if st := e.Stats(); st.Running != 0 || st.Queued != 0 || st.KVBytes != 0 {
		t.Fatalf("after the disconnect: %+v; want the slot and its KV freed", st)
	}
}

// panicky is an engine whose Submit panics (the only way to make a
// request's handling panic on purpose).
type panicky struct{ engine.Engine }

func (panicky) Submit(context.Context, engine.Request) (<-chan engine.Event, error) {
	panic("boom")
}

func TestPanicIs500ForThatRequest(t *testing.T) {
	e := testEngine(t, engine.SequentialOptions{})
	tok := testModel(t).Tok
	var log strings.Builder
	s, err := New(Options{Log: &logWriter{b: &log}, Models: []Model{
		{Name: "tiny", Engine: e, Tokenizer: tok, ContextLen: e.ContextLen()},
		{Name: "broken", Engine: panicky{e}, Tokenizer: tok, ContextLen: e.ContextLen()}}})
	if err != nil {
		t.Fatal(err)
	}
	ts := newHTTPTest(t, s)
	for _, stream := range []string{"false", "true"} {
		code, _, b := do(t, ts, "POST", "/v1/completions", `{"model":"broken","prompt":"a","stream":`+stream+`}`)
		if eb := decode[errorBody](t, b); code != 500 || eb.Error.Type != "server_error" {
			t.Fatalf("panicking request: %d %s; want 500", code, b)
		}
	}
	if code, _, b := do(t, ts, "POST", "/v1/completions", `{"model":"tiny","prompt":"a","max_tokens":2}`); code != 200 {
		t.Fatalf("next request: %d %s", code, b)
	}
	if !strings.Contains(log.String(), "boom") {
		t.Fatalf("log %q does not record the panic", log.String())
	}
	_, _, b := do(t, ts, "GET", "/metrics", "")
	if !strings.Contains(string(b), `loom_http_requests_total{endpoint="POST /v1/completions",status="500"} 2`) {
		t.Fatalf("metrics do not count the 500s:\n%s", b)
	}
}

type logWriter struct {
	mu sync.Mutex
	b  *strings.Builder
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// TestNoGrowth runs 1,000 mixed requests (chat, streaming, completions,
// n = 2, embeddings, errors, disconnects) and checks that goroutines and
// the heap come back to where they were.
func TestNoGrowth(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 requests")
	}
	ts, e := testServer(t, nil)
	bodies := []struct{ path, body string }{
		{"/v1/chat/completions", `{"model":"tiny","messages":[{"role":"user","content":"hi"}],"max_tokens":4}`},
		{"/v1/chat/completions", `{"model":"tiny","messages":[{"role":"user","content":"hi"}],"max_tokens":4,"stream":true,"stream_options":{"include_usage":true}}`},
		{"/v1/completions", `{"model":"tiny","prompt":"abc","max_tokens":3,"n":2,"logprobs":2}`},
		{"/v1/completions", `{"model":"tiny","prompt":"abc","max_tokens":3,"stream":true}`},
		{"/v1/embeddings", `{"model":"tiny","input":["a","bc"]}`},
		{"/v1/chat/completions", `{"model":"tiny","messages":[]}`},
		{"/v1/completions", `{"model":"nope","prompt":"a"}`},
	}
	run := func(k int) {
		b := bodies[k%len(bodies)]
		if k%50 == 49 { // a client that gives up at once
			ctx, cancel := context.WithCancel(context.Background())
			req, _ := http.NewRequestWithContext(ctx, "POST", ts.URL+"/v1/chat/completions",
				strings.NewReader(`{"model":"tiny","messages":[{"role":"user","content":"hi"}],"max_tokens":30,"stream":true}`))
			if resp, err := ts.Client().Do(req); err == nil {
				resp.Body.Read(make([]byte, 10))
				cancel()
				resp.Body.Close()
			}
			cancel()
			return
		}
		do(t, ts, "POST", b.path, b.body)
	}
	measure := func(target, tries int) (int, uint64) {
		ts.Client().CloseIdleConnections()
		var g int
		for i := 0; i < tries; i++ { // settle: goroutines of closed connections exit
			runtime.GC()
			if g = runtime.NumGoroutine(); g <= target {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return g, ms.HeapAlloc
	}
	for k := range 100 { // warm up pools and caches
		run(k)
	}
	for e.Stats().Running+e.Stats().Queued > 0 {
		time.Sleep(time.Millisecond)
	}
	g0, h0 := measure(0, 10)
	for k := range 1000 {
		run(k)
	}
	for e.Stats().Running+e.Stats().Queued > 0 {
		time.Sleep(time.Millisecond)
	}
	g1, h1 := measure(g0, 400)
	if g1 > g0 {
		buf := make([]byte, 1<<20)
		t.Fatalf("goroutines %d before, %d after 1,000 requests\n%s", g0, g1, buf[:runtime.Stack(buf, true)])
	}
	if h1 > h0+8<<20 {
		t.Fatalf("heap %d before, %d after 1,000 requests (more than 8 MiB growth)", h0, h1)
	}
	t.Logf("goroutines %d → %d, heap %d → %d", g0, g1, h0, h1)
}
