package serve

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/loomml/loom/convert"
	"github.com/loomml/loom/serve/engine"
)

// The tests run the real Sequential engine on a tiny trained model (2
// layers, width 32, a byte vocabulary, a 64-position context).

const testModelDir = "../convert/testdata/hf/loom-trained"

var (
	loadOnce sync.Once
	loaded   *convert.Loaded
	loadErr  error
)

func testModel(t testing.TB) *convert.Loaded {
	t.Helper()
	loadOnce.Do(func() { loaded, loadErr = convert.Open(testModelDir, convert.LoadOptions{}) })
	if loadErr != nil {
		t.Fatal(loadErr)
	}
	return loaded
}

// testEngine is a Sequential engine on the test model, closed at the end.
func testEngine(t testing.TB, o engine.SequentialOptions) *engine.Sequential {
	l := testModel(t)
	e := engine.NewSequential(l.Model, l.Tok, l.Stop, o)
	t.Cleanup(func() { e.Close(context.Background()) })
	return e
}

// testServer serves the test model as "tiny"; edit adjusts the options.
func testServer(t testing.TB, edit func(*Options)) (*httptest.Server, *engine.Sequential) {
	t.Helper()
	e := testEngine(t, engine.SequentialOptions{})
	o := Options{Models: []Model{{Name: "tiny", Engine: e, Tokenizer: testModel(t).Tok, ContextLen: e.ContextLen()}}}
	if edit != nil {
		edit(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts, e
}

// do sends a request and returns the status, headers and body.
func do(t testing.TB, ts *httptest.Server, method, path, body string, hdr ...string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

func decode[T any](t testing.TB, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return v
}

type errorBody struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

func TestModelsAndHealth(t *testing.T) {
	ts, _ := testServer(t, nil)
	code, _, b := do(t, ts, "GET", "/v1/models", "")
	list := decode[struct {
		Object string        `json:"object"`
		Data   []modelObject `json:"data"`
	}](t, b)
	if code != 200 || list.Object != "list" || len(list.Data) != 1 || list.Data[0].ID != "tiny" || list.Data[0].Object != "model" || list.Data[0].OwnedBy == "" || list.Data[0].Created == 0 {
		t.Fatalf("GET /v1/models: %d %s", code, b)
	}
	code, _, b = do(t, ts, "GET", "/v1/models/tiny", "")
	if m := decode[modelObject](t, b); code != 200 || m.ID != "tiny" || m.Object != "model" {
		t.Fatalf("GET /v1/models/tiny: %d %s", code, b)
	}
	code, _, b = do(t, ts, "GET", "/v1/models/nope", "")
	if e := decode[errorBody](t, b); code != 404 || e.Error.Code == nil || *e.Error.Code != "model_not_found" {
		t.Fatalf("GET /v1/models/nope: %d %s", code, b)
	}
	code, _, b = do(t, ts, "GET", "/health", "")
	if h := decode[map[string]any](t, b); code != 200 || h["status"] != "ok" {
		t.Fatalf("GET /health: %d %s", code, b)
	}
	code, _, b = do(t, ts, "GET", "/v1/nosuch", "")
	if code != 404 || decode[errorBody](t, b).Error.Message == "" {
		t.Fatalf("GET /v1/nosuch: %d %s", code, b)
	}
}

type chatResp struct {
	ID                string `json:"id"`
	Object            string `json:"object"`
	Created           int64  `json:"created"`
	Model             string `json:"model"`
	SystemFingerprint string `json:"system_fingerprint"`
	Choices           []struct {
		Index   int `json:"index"`
		Message struct {
			Role    string  `json:"role"`
			Content *string `json:"content"`
		} `json:"message"`
		Logprobs *struct {
			Content []struct {
				Token       string  `json:"token"`
				Logprob     float64 `json:"logprob"`
				Bytes       []int   `json:"bytes"`
				TopLogprobs []struct {
					Token   string  `json:"token"`
					Logprob float64 `json:"logprob"`
					Bytes   []int   `json:"bytes"`
				} `json:"top_logprobs"`
			} `json:"content"`
		} `json:"logprobs"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage usage `json:"usage"`
}

func TestChatCompletion(t *testing.T) {
	ts, _ := testServer(t, nil)
	body := `{"model":"tiny","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"Hello"}]}],
		"max_tokens":8,"temperature":0.9,"seed":7,"logprobs":true,"top_logprobs":3,"n":2}`
	code, _, b := do(t, ts, "POST", "/v1/chat/completions", body)
	r := decode[chatResp](t, b)
	if code != 200 || r.Object != "chat.completion" || !strings.HasPrefix(r.ID, "chatcmpl-") || r.Model != "tiny" || r.Created == 0 || len(r.Choices) != 2 {
		t.Fatalf("chat: %d %s", code, b)
	}
	prompt, _ := PlainTemplate{}.Render([]map[string]any{{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}}, nil, true)
	wantPrompt := len(testModel(t).Tok.Encode(prompt))
	completion := 0
	for i, c := range r.Choices {
		if c.Index != i || c.Message.Role != "assistant" || c.Message.Content == nil || (c.FinishReason != "stop" && c.FinishReason != "length") {
			t.Fatalf("choice %d: %s", i, b)
		}
		if c.Logprobs == nil || len(c.Logprobs.Content) == 0 || len(c.Logprobs.Content) > 8 {
			t.Fatalf("choice %d logprobs: %s", i, b)
		}
		var text strings.Builder
		for _, lp := range c.Logprobs.Content {
			if len(lp.TopLogprobs) != 3 || lp.Logprob > 0 || lp.TopLogprobs[0].Logprob < lp.TopLogprobs[2].Logprob || len(lp.Bytes) == 0 {
				t.Fatalf("choice %d logprob entry %+v", i, lp)
			}
			for _, x := range lp.Bytes {
				text.WriteByte(byte(x))
			}
		}
		if !strings.HasPrefix(text.String(), *c.Message.Content) {
			t.Fatalf("choice %d: tokens spell %q, content %q", i, text.String(), *c.Message.Content)
		}
		completion += len(c.Logprobs.Content)
	}
	if r.Usage.PromptTokens != wantPrompt || r.Usage.CompletionTokens != completion || r.Usage.TotalTokens != wantPrompt+completion {
		t.Fatalf("usage %+v, want prompt %d completion %d", r.Usage, wantPrompt, completion)
	}
	// the same seed gives the same text; choice i is seeded seed+i
	_, _, b2 := do(t, ts, "POST", "/v1/chat/completions", body)
	r2 := decode[chatResp](t, b2)
	if *r2.Choices[0].Message.Content != *r.Choices[0].Message.Content || *r2.Choices[1].Message.Content != *r.Choices[1].Message.Content {
		t.Fatalf("same seed, different text: %s vs %s", b, b2)
	}
	one := strings.Replace(body, `"seed":7`, `"seed":8`, 1)
	one = strings.Replace(one, `"n":2`, `"n":1`, 1)
	_, _, b3 := do(t, ts, "POST", "/v1/chat/completions", one)
	if r3 := decode[chatResp](t, b3); *r3.Choices[0].Message.Content != *r.Choices[1].Message.Content {
		t.Fatalf("seed 8 alone: %q, choice 1 of seed 7: %q", *r3.Choices[0].Message.Content, *r.Choices[1].Message.Content)
	}
}

func TestCompletionLegacyShape(t *testing.T) {
	ts, _ := testServer(t, nil)
	code, _, b := do(t, ts, "POST", "/v1/completions", `{"model":"tiny","prompt":"The ","max_tokens":6,"temperature":0,"logprobs":2}`)
	r := decode[legacyResp](t, b)
	if code != 200 || r.Object != "text_completion" || !strings.HasPrefix(r.ID, "cmpl-") || len(r.Choices) != 1 {
		t.Fatalf("completions: %d %s", code, b)
	}
	c := r.Choices[0]
	lp := c.Logprobs
	if c.FinishReason != "length" || r.Usage.CompletionTokens != 6 || len(lp.Tokens) != 6 || len(lp.TokenLogprobs) != 6 || len(lp.TopLogprobs) != 6 || len(lp.TextOffset) != 6 {
		t.Fatalf("completions: %s", b)
	}
	if strings.Join(lp.Tokens, "") != c.Text || lp.TextOffset[0] != len("The ") {
		t.Fatalf("tokens %q text %q offsets %v", lp.Tokens, c.Text, lp.TextOffset)
	}
	for k, top := range lp.TopLogprobs {
		if len(top) < 2 || len(top) > 3 || top[lp.Tokens[k]] != lp.TokenLogprobs[k] {
			t.Fatalf("top_logprobs[%d] = %v, token %q %v", k, top, lp.Tokens[k], lp.TokenLogprobs[k])
		}
	}
	// greedy decoding is deterministic; token-id prompts work too
	ids := testModel(t).Tok.Encode("The ")
	idsJSON, _ := json.Marshal(ids)
	_, _, b2 := do(t, ts, "POST", "/v1/completions", `{"model":"tiny","prompt":`+string(idsJSON)+`,"max_tokens":6,"temperature":0}`)
	if r2 := decode[legacyResp](t, b2); r2.Choices[0].Text != c.Text {
		t.Fatalf("ids prompt: %q, text prompt: %q", r2.Choices[0].Text, c.Text)
	}
}

type legacyResp struct {
	Object  string `json:"object"`
	ID      string `json:"id"`
	Choices []struct {
		Text     string `json:"text"`
		Index    int    `json:"index"`
		Logprobs struct {
			Tokens        []string             `json:"tokens"`
			TokenLogprobs []float64            `json:"token_logprobs"`
			TopLogprobs   []map[string]float64 `json:"top_logprobs"`
			TextOffset    []int                `json:"text_offset"`
		} `json:"logprobs"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage usage `json:"usage"`
}

// sseEvents parses a server-sent-event stream strictly: every event is
// one "data: " line followed by a blank line, and the last is [DONE].
func sseEvents(t testing.TB, body []byte) []json.RawMessage {
	t.Helper()
	var out []json.RawMessage
	sc := bufio.NewScanner(bytes.NewReader(body))
	done := false
	for sc.Scan() {
		line := sc.Text()
		if done {
			t.Fatalf("data after [DONE]: %q", line)
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			t.Fatalf("SSE line %q: want \"data: \"", line)
		}
		if !sc.Scan() || sc.Text() != "" {
			t.Fatalf("SSE event %q not followed by a blank line", line)
		}
		if data == "[DONE]" {
			done = true
			continue
		}
		if !json.Valid([]byte(data)) {
			t.Fatalf("SSE data is not JSON: %q", data)
		}
		out = append(out, json.RawMessage(data))
	}
	if !done {
		t.Fatalf("no [DONE] at the end of %s", body)
	}
	return out
}

func TestSSEParse(t *testing.T) {
	for _, bad := range []string{"data: {}\n", "data: {}\n\n", "data: {}\ndata: [DONE]\n\n", "event: x\n\ndata: [DONE]\n\n"} {
		ft := &fatalT{}
		func() {
			defer func() { recover() }()
			sseEvents(ft, []byte(bad))
		}()
		if !ft.failed {
			t.Errorf("sseEvents accepted %q", bad)
		}
	}
	if n := len(sseEvents(t, []byte("data: {\"a\":1}\n\ndata: [DONE]\n\n"))); n != 1 {
		t.Fatalf("%d events, want 1", n)
	}
}

// fatalT records a Fatalf and stops the goroutine's work with a panic.
type fatalT struct {
	testing.TB
	failed bool
}

func (f *fatalT) Helper() {}
func (f *fatalT) Fatalf(string, ...any) {
	f.failed = true
	panic("fatal")
}

func TestChatStream(t *testing.T) {
	ts, _ := testServer(t, nil)
	req := `{"model":"tiny","messages":[{"role":"user","content":"Hi"}],"max_tokens":10,"temperature":0,"stream":true,"stream_options":{"include_usage":true},"logprobs":true}`
	code, hdr, b := do(t, ts, "POST", "/v1/chat/completions", req)
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream: %d %v %s", code, hdr, b)
	}
	events := sseEvents(t, b)
	type chunk struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Choices []struct {
			Index int `json:"index"`
			Delta struct {
				Role    string  `json:"role"`
				Content *string `json:"content"`
			} `json:"delta"`
			Logprobs     *json.RawMessage `json:"logprobs"`
			FinishReason *string          `json:"finish_reason"`
		} `json:"choices"`
		Usage *usage `json:"usage"`
	}
	var text strings.Builder
	var finish string
	id := ""
	for k, raw := range events {
		c := decode[chunk](t, raw)
		if c.Object != "chat.completion.chunk" || (id != "" && c.ID != id) {
			t.Fatalf("chunk %d: %s", k, raw)
		}
		id = c.ID
		if !bytes.Contains(raw, []byte(`"usage":`)) {
			t.Fatalf("chunk %d has no usage field with include_usage: %s", k, raw)
		}
		switch {
		case k == 0:
			if len(c.Choices) != 1 || c.Choices[0].Delta.Role != "assistant" {
				t.Fatalf("first chunk %s: want the role", raw)
			}
		case k == len(events)-1:
			if len(c.Choices) != 0 || c.Usage == nil || c.Usage.TotalTokens != c.Usage.PromptTokens+c.Usage.CompletionTokens || c.Usage.CompletionTokens == 0 {
				t.Fatalf("last chunk %s: want usage and no choices", raw)
			}
		default:
			if c.Usage != nil || len(c.Choices) != 1 {
				t.Fatalf("chunk %d: %s", k, raw)
			}
			if d := c.Choices[0].Delta.Content; d != nil {
				text.WriteString(*d)
			}
			if f := c.Choices[0].FinishReason; f != nil {
				finish = *f
			}
		}
	}
	if finish == "" {
		t.Fatal("no finish_reason in the stream")
	}
	// the stream spells what the same request without streaming returns
	_, _, b2 := do(t, ts, "POST", "/v1/chat/completions", strings.Replace(strings.Replace(req, `"stream":true,`, "", 1), `"stream_options":{"include_usage":true},`, "", 1))
	r := decode[chatResp](t, b2)
	if *r.Choices[0].Message.Content != text.String() || r.Choices[0].FinishReason != finish {
		t.Fatalf("stream %q (%s), plain %q (%s)", text.String(), finish, *r.Choices[0].Message.Content, r.Choices[0].FinishReason)
	}
}

func TestCompletionStream(t *testing.T) {
	ts, _ := testServer(t, nil)
	code, _, b := do(t, ts, "POST", "/v1/completions", `{"model":"tiny","prompt":"a","max_tokens":5,"temperature":0,"stream":true,"n":2}`)
	if code != 200 {
		t.Fatalf("%d %s", code, b)
	}
	texts := map[int]string{}
	finished := map[int]bool{}
	for _, raw := range sseEvents(t, b) {
		var c completion
		json.Unmarshal(raw, &c)
		if c.Object != "text_completion" || len(c.Choices) != 1 || bytes.Contains(raw, []byte(`"usage"`)) {
			t.Fatalf("chunk %s", raw)
		}
		texts[c.Choices[0].Index] += c.Choices[0].Text
		if c.Choices[0].FinishReason != nil {
			finished[c.Choices[0].Index] = true
		}
	}
	if len(texts) != 2 || !finished[0] || !finished[1] || texts[0] != texts[1] { // greedy: both alike
		t.Fatalf("texts %v finished %v", texts, finished)
	}
}

func TestEmbeddings(t *testing.T) {
	ts, _ := testServer(t, nil)
	type resp struct {
		Object string `json:"object"`
		Data   []struct {
			Object    string          `json:"object"`
			Embedding json.RawMessage `json:"embedding"`
			Index     int             `json:"index"`
		} `json:"data"`
		Model string `json:"model"`
		Usage struct {
			PromptTokens int `json:"prompt_tokens"`
			TotalTokens  int `json:"total_tokens"`
		} `json:"usage"`
	}
	code, _, b := do(t, ts, "POST", "/v1/embeddings", `{"model":"tiny","input":["hello","a longer input"]}`)
	f := decode[resp](t, b)
	if code != 200 || f.Object != "list" || f.Model != "tiny" || len(f.Data) != 2 || f.Usage.PromptTokens == 0 || f.Usage.TotalTokens != f.Usage.PromptTokens {
		t.Fatalf("%d %s", code, b)
	}
	_, _, b64 := do(t, ts, "POST", "/v1/embeddings", `{"model":"tiny","input":["hello","a longer input"],"encoding_format":"base64"}`)
	g := decode[resp](t, b64)
	for i := range 2 {
		var v []float32
		json.Unmarshal(f.Data[i].Embedding, &v)
		var s string
		if err := json.Unmarshal(g.Data[i].Embedding, &s); err != nil {
			t.Fatalf("base64 embedding %s", g.Data[i].Embedding)
		}
		raw, _ := base64.StdEncoding.DecodeString(s)
		var norm float64
		for k, x := range v {
			norm += float64(x) * float64(x)
			if y := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*k:])); y != x {
				t.Fatalf("input %d dim %d: float %v, base64 %v", i, k, x, y)
			}
		}
		if len(v) != 32 || len(raw) != 4*32 || math.Abs(norm-1) > 1e-5 || f.Data[i].Index != i || f.Data[i].Object != "embedding" {
			t.Fatalf("input %d: %d dims, norm² %v", i, len(v), norm)
		}
	}
	if bytes.Equal(f.Data[0].Embedding, f.Data[1].Embedding) {
		t.Fatal("two inputs, one embedding")
	}
}

func TestMetrics(t *testing.T) {
	ts, _ := testServer(t, nil)
	do(t, ts, "POST", "/v1/completions", `{"model":"tiny","prompt":"a","max_tokens":3}`)
	do(t, ts, "POST", "/v1/completions", `{"model":"nope","prompt":"a"}`)
	_, _, b := do(t, ts, "GET", "/metrics", "")
	for _, want := range []string{
		`loom_http_requests_total{endpoint="POST /v1/completions",status="200"} 1`,
		`loom_http_requests_total{endpoint="POST /v1/completions",status="400"} 1`,
		`loom_generated_tokens_total{model="tiny"} 3`,
		"loom_queue_depth 0", "loom_batch_size 0",
		`loom_time_to_first_token_seconds_count{model="tiny"} 1`,
		`loom_inter_token_latency_seconds_count{model="tiny"} 2`,
	} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	e := testEngine(t, engine.SequentialOptions{})
	tok := testModel(t).Tok
	for _, o := range []Options{{}, {Models: []Model{{Engine: e, Tokenizer: tok}}}, {Models: []Model{{Name: "a", Tokenizer: tok}}},
		{Models: []Model{{Name: "a", Engine: e, Tokenizer: tok}, {Name: "a", Engine: e, Tokenizer: tok}}}} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) succeeded", o)
		}
	}
}

var _ = fmt.Sprint
