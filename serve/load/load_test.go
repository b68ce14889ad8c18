package load

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A server that streams n chunks and a usage chunk, as OpenAI does; every
// third request fails. The load counts tokens from usage, errors and
// chunk gaps.
func TestRun(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/completions" || r.Header.Get("Authorization") != "Bearer k" {
			http.Error(w, "bad", http.StatusNotFound)
			return
		}
		if calls.Add(1)%3 == 0 {
			http.Error(w, `{"error": {"message": "busy"}}`, http.StatusTooManyRequests)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 4 {
			fmt.Fprintf(w, "data: {\"choices\": [{\"text\": \"t%d\"}]}\n\n", i)
			w.(http.Flusher).Flush()
		}
		fmt.Fprint(w, "data: {\"choices\": [], \"usage\": {\"prompt_tokens\": 3, \"completion_tokens\": 5}}\n\ndata: [DONE]\n\n")
	}))
	defer srv.Close()
	res, err := Run(context.Background(), Options{URL: srv.URL + "/v1", APIKey: "k", Model: "m", Prompt: "p", Clients: 2, Requests: 9, MaxTokens: 5})
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors != 3 || res.Tokens != 30 || res.TokensPerReq != 5 || res.PromptTokens != 3 || !strings.Contains(res.FirstError, "HTTP 429") {
		t.Fatalf("%+v", res)
	}
	if res.TTFTp50MS <= 0 || res.ITLp50MS < 0 || res.TokensPerSec <= 0 {
		t.Fatalf("timings %+v", res)
	}
}

func TestQuantile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3, 6, 7, 8, 9, 10}
	for _, c := range []struct{ q, want float64 }{{0.5, 5}, {0.99, 10}, {1, 10}, {0.1, 1}} {
		if got := quantile(xs, c.q); got != c.want {
			t.Errorf("quantile %v = %v, want %v", c.q, got, c.want)
		}
	}
	if quantile(nil, 0.5) != 0 {
		t.Error("empty")
	}
}

// A server whose streams send a chunk every 5 ms, except while a long
// prompt is "prefilled" (a request whose prompt is "long"): then they
// wait for it (60 ms). The load reports the wait as the stall, and the
// decode rate from the chunk times.
func TestRunLongPrompt(t *testing.T) {
	var mu sync.Mutex // held while the long prompt is prefilled
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Prompt string `json:"prompt"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		w.Header().Set("Content-Type", "text/event-stream")
		n := 40
		if body.Prompt == "long" {
			mu.Lock()
			time.Sleep(60 * time.Millisecond)
			mu.Unlock()
			n = 1
		}
		for i := range n {
			mu.Lock()
			mu.Unlock()
			fmt.Fprintf(w, "data: {\"choices\": [{\"text\": \"t%d\"}]}\n\n", i)
			w.(http.Flusher).Flush()
			time.Sleep(5 * time.Millisecond)
		}
		fmt.Fprintf(w, "data: {\"choices\": [], \"usage\": {\"prompt_tokens\": %d, \"completion_tokens\": %d}}\n\ndata: [DONE]\n\n", len(body.Prompt), n)
	}))
	defer srv.Close()
	res, err := Run(context.Background(), Options{URL: srv.URL + "/v1", Model: "m", Prompt: "p", Clients: 3, Requests: 3, MaxTokens: 40, LongPrompt: "long"})
	if err != nil {
		t.Fatal(err)
	}
	l := res.Long
	if l == nil || l.PromptTokens != 4 || l.Streams != 3 || l.TTFTMS < 60 || l.StallMaxMS < 50 {
		t.Fatalf("long prompt: %+v", l)
	}
	if res.DecodeTokensPerSec <= 0 || res.DecodeTokensPerSec > 3*1000/5 {
		t.Fatalf("decode rate %v tokens/s; want at most 3 streams × 200", res.DecodeTokensPerSec)
	}
}
