// Package load drives an OpenAI-compatible server with concurrent streaming
// completions and measures what its clients see: aggregate generated
// tokens per second, time to first token and the time between tokens. It is
// behind `loom bench serve` and speaks only the public protocol, so the same
// load runs against loom or any other server.
package load

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Options describe the load.
type Options struct {
	URL     string // base URL, e.g. http://127.0.0.1:8080/v1
	APIKey  string
	Model   string
	Prompt  string // the prompt of every request (/v1/completions)
	Clients int    // concurrent connections, each sending requests back to back
	// Requests is the total number of requests; the run also ends after
	// Timeout (requests still running then are counted as errors).
	Requests  int
	MaxTokens int
	Timeout   time.Duration
	// Temperature 0 and IgnoreEOS-like behaviour: requests ask for
	// MaxTokens tokens; a server may stop earlier at a stop token.
	Temperature float64
	// LongPrompt, when set, is sent as one more request (one token
	// generated) once every stream of the first round has its first token:
	// Result.Long reports how long it took and how long the running
	// streams waited for a token meanwhile.
	LongPrompt string
	// Samples keeps every time to first token and every gap between
	// chunks in the Result (for plots).
	Samples bool
}

// Long is what the running streams saw while a long prompt was prefilled.
type Long struct {
	PromptTokens int     `json:"prompt_tokens"`
	TTFTMS       float64 `json:"ttft_ms"` // the long request's time to its token
	// StallMaxMS is the longest wait of any running stream for its next
	// chunk over the gaps that overlap the long request's prefill.
	StallMaxMS float64 `json:"stall_max_ms"`
	Streams    int     `json:"streams"` // streams running across it
}

// Result is the measurement, in milliseconds and tokens per second.
type Result struct {
	Clients      int     `json:"clients"`
	Requests     int     `json:"requests"`
	Errors       int     `json:"errors"`
	FirstError   string  `json:"first_error,omitempty"`
	Tokens       int     `json:"generated_tokens"`
	Seconds      float64 `json:"seconds"`
	TokensPerSec float64 `json:"tokens_per_s"`
	TTFTp50MS    float64 `json:"ttft_p50_ms"`
	TTFTp99MS    float64 `json:"ttft_p99_ms"`
	ITLp50MS     float64 `json:"itl_p50_ms"`
	ITLp99MS     float64 `json:"itl_p99_ms"`
	ITLMaxMS     float64 `json:"itl_max_ms"`
	RequestP50MS float64 `json:"request_p50_ms"`
	// DecodeTokensPerSec counts, when every request runs at once (Requests
	// ≤ Clients), the tokens received between the moment every stream has
	// its first token and the last token, over that time: decoding alone,
	// without the prompts' prefill (0 otherwise).
	DecodeTokensPerSec float64 `json:"decode_tokens_per_s,omitempty"`
	Long               *Long   `json:"long_prompt,omitempty"`
	// With Options.Samples: every request's time to first token and every
	// gap between chunks, in milliseconds.
	TTFTSamplesMS  []float64 `json:"ttft_samples_ms,omitempty"`
	ITLSamplesMS   []float64 `json:"itl_samples_ms,omitempty"`
	TokensPerReq   float64   `json:"tokens_per_request"`
	PromptTokens   int       `json:"prompt_tokens_per_request"`
	ConcurrencyMax int       `json:"-"`
}

// one is what a single request saw.
type one struct {
	ttft     time.Duration
	gaps     []time.Duration
	at       []time.Time // when each chunk with text came
	start    time.Time
	total    time.Duration
	tokens   int
	prompt   int
	err      error
	finished bool
}

// Run sends the load and measures it.
func Run(ctx context.Context, o Options) (Result, error) {
	if o.Clients < 1 || o.Requests < 1 || o.MaxTokens < 1 {
		return Result{}, fmt.Errorf("load: clients, requests and max tokens must be at least 1")
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	jobs := make(chan int, o.Requests)
	for i := range o.Requests {
		jobs <- i
	}
	close(jobs)
	results := make([]one, o.Requests)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.Clients + 1, MaxConnsPerHost: o.Clients + 1}}
	var wg sync.WaitGroup
	// firsts counts the first round's streams that have their first token.
	first := min(o.Clients, o.Requests)
	firsts := make(chan struct{}, first)
	start := time.Now()
	for range o.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				signalled := false
				onFirst := func() { // once per first-round request, even one that fails
					if i < first && !signalled {
						signalled = true
						firsts <- struct{}{}
					}
				}
				results[i] = request(ctx, client, o, o.Prompt, o.MaxTokens, i, onFirst)
				onFirst()
			}
		}()
	}
	var long one
	if o.LongPrompt != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range first {
				select {
				case <-firsts:
				case <-ctx.Done():
					return
				}
			}
			long = request(ctx, client, o, o.LongPrompt, 1, o.Requests, nil)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	res := Result{Clients: o.Clients, Requests: o.Requests, Seconds: elapsed.Seconds()}
	var ttft, gaps, totals []float64
	for _, r := range results {
		if r.err != nil || !r.finished {
			res.Errors++
			if res.FirstError == "" {
				if r.err != nil {
					res.FirstError = r.err.Error()
				} else {
					res.FirstError = "stream ended without [DONE]"
				}
			}
			continue
		}
		res.Tokens += r.tokens
		res.PromptTokens = max(res.PromptTokens, r.prompt)
		ttft = append(ttft, ms(r.ttft))
		totals = append(totals, ms(r.total))
		for _, g := range r.gaps {
			gaps = append(gaps, ms(g))
		}
	}
	res.TokensPerSec = float64(res.Tokens) / elapsed.Seconds()
	res.TTFTp50MS, res.TTFTp99MS = quantile(ttft, 0.5), quantile(ttft, 0.99)
	res.ITLp50MS, res.ITLp99MS, res.ITLMaxMS = quantile(gaps, 0.5), quantile(gaps, 0.99), quantile(gaps, 1)
	res.RequestP50MS = quantile(totals, 0.5)
	if o.Samples {
		res.TTFTSamplesMS, res.ITLSamplesMS = ttft, gaps
	}
	if o.Requests <= o.Clients && res.Errors == 0 {
		res.DecodeTokensPerSec = decodeRate(results)
	}
	if o.LongPrompt != "" {
		if long.err != nil || !long.finished {
			return res, fmt.Errorf("load: the long prompt's request failed: %v", long.err)
		}
		res.Long = stall(long, results)
	}
	if n := o.Requests - res.Errors; n > 0 {
		res.TokensPerReq = float64(res.Tokens) / float64(n)
	}
	return res, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// quantile is the q-quantile of xs by the nearest-rank method (0 when
// empty).
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// decodeRate is the streams' tokens per second from the moment all have
// their first token to the last token (a stream's chunks share its tokens
// equally: a server may hold a token's bytes back for the next chunk).
func decodeRate(rs []one) float64 {
	var t0, t1 time.Time
	for _, r := range rs {
		if len(r.at) == 0 {
			return 0
		}
		if r.at[0].After(t0) {
			t0 = r.at[0]
		}
		if l := r.at[len(r.at)-1]; l.After(t1) {
			t1 = l
		}
	}
	n := 0.0
	for _, r := range rs {
		per := float64(max(r.tokens, len(r.at))) / float64(len(r.at))
		for _, t := range r.at {
			if t.After(t0) {
				n += per
			}
		}
	}
	if !t1.After(t0) {
		return 0
	}
	return n / t1.Sub(t0).Seconds()
}

// stall measures the running streams around the long request: the longest
// gap between two chunks of one stream that overlaps the time from the
// long request's start to its token.
func stall(long one, rs []one) *Long {
	from, to := long.start, long.start.Add(long.ttft)
	l := &Long{PromptTokens: long.prompt, TTFTMS: ms(long.ttft)}
	for _, r := range rs {
		if len(r.at) == 0 || r.at[0].After(from) || r.at[len(r.at)-1].Before(to) {
			continue // not running across the whole prefill
		}
		l.Streams++
		for i := 1; i < len(r.at); i++ {
			if r.at[i].After(from) && r.at[i-1].Before(to) {
				l.StallMaxMS = max(l.StallMaxMS, ms(r.at[i].Sub(r.at[i-1])))
			}
		}
	}
	return l
}

// request runs one streaming completion and times its chunks: each chunk
// with text counts its completion tokens from the final usage (servers may
// send several tokens per chunk; the gaps are between chunks). onFirst,
// when not nil, is called at the first chunk with text.
func request(ctx context.Context, client *http.Client, o Options, prompt string, maxTokens, i int, onFirst func()) (r one) {
	body, _ := json.Marshal(map[string]any{
		"model": o.Model, "prompt": prompt, "max_tokens": maxTokens, "temperature": o.Temperature,
		"seed": i, "stream": true, "stream_options": map[string]any{"include_usage": true},
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(o.URL, "/")+"/completions", bytes.NewReader(body))
	if err != nil {
		r.err = err
		return r
	}
	req.Header.Set("Content-Type", "application/json")
	if o.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+o.APIKey)
	}
	t0 := time.Now()
	r.start = t0
	resp, err := client.Do(req)
	if err != nil {
		r.err = err
		return r
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		r.err = fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(b))
		return r
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	last := t0
	chunks := 0
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if line == "[DONE]" {
			r.finished = true
			break
		}
		var c struct {
			Choices []struct {
				Text string `json:"text"`
			} `json:"choices"`
			Usage *struct {
				Prompt     int `json:"prompt_tokens"`
				Completion int `json:"completion_tokens"`
			} `json:"usage"`
		}
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			r.err = fmt.Errorf("bad chunk %q: %w", line, err)
			return r
		}
		now := time.Now()
		if len(c.Choices) > 0 && c.Choices[0].Text != "" {
			r.at = append(r.at, now)
			if chunks == 0 {
				r.ttft = now.Sub(t0)
				if onFirst != nil {
					onFirst()
				}
			} else {
				r.gaps = append(r.gaps, now.Sub(last))
			}
			chunks++
			last = now
		}
		if c.Usage != nil {
			r.tokens, r.prompt = c.Usage.Completion, c.Usage.Prompt
		}
	}
	if err := sc.Err(); err != nil {
		r.err = err
	}
	if r.tokens == 0 {
		r.tokens = chunks
	}
	r.total = time.Since(t0)
	return r
}
