package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/loomml/loom/serve/engine"
)

// sampling is the request fields both completion endpoints share.
type sampling struct {
	MaxTokens           *int     `json:"max_tokens"`
	MaxCompletionTokens *int     `json:"max_completion_tokens"`
	Temperature         *float64 `json:"temperature"`
	TopP                *float64 `json:"top_p"`
	TopK                *int     `json:"top_k"`
	N                   *int     `json:"n"`
	Stream              *bool    `json:"stream"`
	StreamOptions       *struct {
		IncludeUsage *bool `json:"include_usage"`
	} `json:"stream_options"`
	Stop              json.RawMessage `json:"stop"`
	Seed              *int64          `json:"seed"`
	PresencePenalty   *float64        `json:"presence_penalty"`
	FrequencyPenalty  *float64        `json:"frequency_penalty"`
	RepetitionPenalty *float64        `json:"repetition_penalty"`
	ResponseFormat    json.RawMessage `json:"response_format"`
	User              string          `json:"user"`
}

// plan is a validated request: n sequences for each prompt.
type plan struct {
	m            *Model
	base         engine.Request
	maxTokens    int // 0: up to the context
	prompts      [][]int
	promptParam  string // "messages" or "prompt"
	n            int
	seed         uint64
	stream       bool
	includeUsage bool
	format       json.RawMessage // response_format needing a constraint, or nil
	start        time.Time
}

// between checks an optional number against [lo, hi].
func between[T int | int64 | float64](p *T, param string, lo, hi T) *apiError {
	if p != nil && !(*p >= lo && *p <= hi) {
		return badRequest(param, "%s is %v: want %v to %v", param, *p, lo, hi)
	}
	return nil
}

// atLeast checks an optional integer against [lo, ∞).
func atLeast(p *int, param string, lo int, note string) *apiError {
	if p != nil && *p < lo {
		return badRequest(param, "%s is %d: want ≥ %d%s", param, *p, lo, note)
	}
	return nil
}

// parseSampling validates the shared fields into p.
func (p *plan) parseSampling(s *sampling, chat bool) *apiError {
	if e := between(s.Temperature, "temperature", 0, 2); e != nil {
		return e
	}
	if e := between(s.TopP, "top_p", 0, 1); e != nil {
		return e
	}
	if e := atLeast(s.TopK, "top_k", 0, " (0: all tokens)"); e != nil {
		return e
	}
	if e := between(s.N, "n", 1, 128); e != nil {
		return e
	}
	if e := between(s.PresencePenalty, "presence_penalty", -2, 2); e != nil {
		return e
	}
	if e := between(s.FrequencyPenalty, "frequency_penalty", -2, 2); e != nil {
		return e
	}
	if s.RepetitionPenalty != nil && !(*s.RepetitionPenalty > 0 && *s.RepetitionPenalty <= 100) {
		return badRequest("repetition_penalty", "repetition_penalty is %v: want 0 < x ≤ 100 (1: off)", *s.RepetitionPenalty)
	}
	if e := atLeast(s.MaxTokens, "max_tokens", 1, ""); e != nil {
		return e
	}
	if e := atLeast(s.MaxCompletionTokens, "max_completion_tokens", 1, ""); e != nil {
		return e
	}
	b := engine.Request{Temperature: 1, TopP: 1}
	if s.Temperature != nil {
		b.Temperature = *s.Temperature
	}
	if s.TopP != nil {
		b.TopP = *s.TopP
	}
	if s.TopK != nil {
		b.TopK = *s.TopK
	}
	if s.PresencePenalty != nil {
		b.PresencePenalty = *s.PresencePenalty
	}
	if s.FrequencyPenalty != nil {
		b.FrequencyPenalty = *s.FrequencyPenalty
	}
	if s.RepetitionPenalty != nil {
		b.RepetitionPenalty = *s.RepetitionPenalty
	}
	switch {
	case s.MaxCompletionTokens != nil:
		p.maxTokens = *s.MaxCompletionTokens
	case s.MaxTokens != nil:
		p.maxTokens = *s.MaxTokens
	}
	stop, e := parseStop(s.Stop)
	if e != nil {
		return e
	}
	b.Stop = stop
	p.n = 1
	if s.N != nil {
		p.n = *s.N
	}
	if s.Seed != nil {
		p.seed = uint64(*s.Seed)
	} else {
		p.seed = rand.Uint64()
	}
	p.stream = s.Stream != nil && *s.Stream
	if s.StreamOptions != nil {
		if !p.stream {
			return badRequest("stream_options", "stream_options: only allowed when stream is true")
		}
		p.includeUsage = s.StreamOptions.IncludeUsage != nil && *s.StreamOptions.IncludeUsage
	}
	if e := p.parseFormat(s.ResponseFormat); e != nil {
		return e
	}
	p.base = b
	return nil
}

// parseStop reads stop: null, a string or an array of up to 4 strings.
func parseStop(raw json.RawMessage) ([]string, *apiError) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, badRequest("stop", "stop: want a string or an array of up to 4 strings")
	}
	if len(many) > 4 {
		return nil, badRequest("stop", "stop has %d strings: want at most 4", len(many))
	}
	return many, nil
}

// parseFormat reads response_format.
func (p *plan) parseFormat(raw json.RawMessage) *apiError {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var f struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return badRequest("response_format", "response_format: want an object such as {\"type\": \"json_object\"}")
	}
	switch f.Type {
	case "text":
		return nil
	case "json_object", "json_schema":
		if p.m.Constraints == nil {
			return badRequest("response_format", "response_format: not supported by this server")
		}
		// compile once now so that a bad schema is a 400 before anything runs
		if _, err := p.m.Constraints.Compile(raw); err != nil {
			return badRequest("response_format", "response_format: %v", err)
		}
		p.format = raw
		return nil
	}
	return badRequest("response_format.type", "response_format.type is %q: want text, json_object or json_schema", f.Type)
}

// checkPrompts applies the context limit.
func (p *plan) checkPrompts() *apiError {
	for _, pr := range p.prompts {
		if len(pr) == 0 {
			return badRequest(p.promptParam, "%s: the prompt is empty (no tokens)", p.promptParam)
		}
		if c := p.m.ContextLen; c > 0 && len(pr) >= c {
			e := badRequest(p.promptParam, "this model's maximum context length is %d tokens, but the %s came to %d tokens (at least one must be left to generate)", c, p.promptParam, len(pr))
			e.code = "context_length_exceeded"
			return e
		}
	}
	return nil
}

// submit starts every sequence: choice i·n+j is prompt i's j-th sample,
// seeded seed+i·n+j. On an error the ones started are canceled by the
// caller's cancel of ctx.
func (p *plan) submit(ctx context.Context) ([]<-chan engine.Event, *apiError) {
	var out []<-chan engine.Event
	for _, pr := range p.prompts {
		for range p.n {
			r := p.base
			r.Prompt = pr
			r.Seed = p.seed + uint64(len(out))
			r.FFNWidths = p.m.FFNWidths
			r.MaxTokens = p.maxTokens
			if r.MaxTokens == 0 {
				r.MaxTokens = 1 << 30
				if c := p.m.ContextLen; c > 0 {
					r.MaxTokens = c - len(pr)
				}
			}
			if p.format != nil {
				c, err := p.m.Constraints.Compile(p.format)
				if err != nil {
					return nil, badRequest("response_format", "response_format: %v", err)
				}
				r.Constraint = c
			}
			ch, err := p.m.Engine.Submit(ctx, r)
			if err != nil {
				return nil, engineError(err, p.promptParam)
			}
			out = append(out, ch)
		}
	}
	return out, nil
}

// result is one finished choice.
type result struct {
	text       strings.Builder
	tokens     []int
	logprobs   []float64
	tops       [][]engine.Alt
	offsets    []int // byte offset in text where each token's text starts
	finish     string
	prompt     int
	completion int
	err        error
}

// drive reads every sequence's events until all are done, calling onEvent
// (when not nil) as they come, and records the metrics. Every channel is
// read to its end, so no engine goroutine is left blocked; once ctx is
// done (the caller cancels it when it returns, even by a panic) events are
// dropped rather than waiting for a reader.
func (s *Server) drive(ctx context.Context, p *plan, chans []<-chan engine.Event, onEvent func(i int, ev engine.Event, r *result)) []*result {
	type item struct {
		i  int
		ev engine.Event
	}
	merged := make(chan item)
	var wg sync.WaitGroup
	for i, ch := range chans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ev := range ch {
				select {
				case merged <- item{i, ev}:
				case <-ctx.Done(): // the handler may be gone (a panic): drop the rest
				}
			}
		}()
	}
	go func() { wg.Wait(); close(merged) }()
	res := make([]*result, len(chans))
	last := make([]time.Time, len(chans))
	for i := range res {
		res[i] = &result{}
	}
	name := p.m.Name
	for it := range merged {
		r, ev := res[it.i], it.ev
		if ev.Token >= 0 {
			now := time.Now()
			if last[it.i].IsZero() {
				s.metrics.ttft.WithLabelValues(name).Observe(now.Sub(p.start).Seconds())
			} else {
				s.metrics.itl.WithLabelValues(name).Observe(now.Sub(last[it.i]).Seconds())
			}
			last[it.i] = now
			s.metrics.tokens.WithLabelValues(name).Inc()
			r.tokens = append(r.tokens, ev.Token)
			r.offsets = append(r.offsets, r.text.Len())
			r.logprobs = append(r.logprobs, ev.Logprob)
			r.tops = append(r.tops, ev.Top)
		}
		r.text.WriteString(ev.Text)
		if ev.Finish != "" {
			r.finish, r.err = ev.Finish, ev.Err
			r.prompt, r.completion = ev.PromptTokens, ev.CompletionTokens
		}
		if onEvent != nil {
			onEvent(it.i, ev, r)
		}
	}
	for _, r := range res {
		if r.finish == "" {
			r.finish, r.err = "error", ctx.Err()
			if r.err == nil {
				r.err = fmt.Errorf("the engine ended the sequence without a result")
			}
		}
		if r.finish == "error" && r.err == nil {
			r.err = fmt.Errorf("the engine failed")
		}
		if r.completion < len(r.tokens) {
			r.completion = len(r.tokens)
		}
	}
	for _, pr := range p.prompts {
		s.metrics.promptTok.WithLabelValues(name).Add(float64(len(pr)))
	}
	return res
}

// failed returns the first failed choice's error as a 500.
func failed(res []*result) *apiError {
	for _, r := range res {
		if r.finish == "error" {
			return &apiError{status: http.StatusInternalServerError, typ: "server_error", msg: fmt.Sprintf("generation failed: %v", r.err)}
		}
	}
	return nil
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

func (p *plan) usage(res []*result) usage {
	var u usage
	for _, pr := range p.prompts {
		u.PromptTokens += len(pr)
	}
	for _, r := range res {
		u.CompletionTokens += r.completion
	}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	return u
}

// sse writes server-sent events as OpenAI streams them.
type sse struct {
	w   http.ResponseWriter
	err error
}

func startSSE(w http.ResponseWriter) *sse {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	w.WriteHeader(http.StatusOK)
	return &sse{w: w}
}

// send writes "data: JSON\n\n" and flushes.
func (e *sse) send(v any) {
	if e.err != nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	if _, e.err = fmt.Fprintf(e.w, "data: %s\n\n", b); e.err == nil {
		http.NewResponseController(e.w).Flush() //nolint:errcheck // a failed flush shows in the next write
	}
}

// done writes the final "data: [DONE]".
func (e *sse) done() {
	if e.err == nil {
		fmt.Fprint(e.w, "data: [DONE]\n\n")
		http.NewResponseController(e.w).Flush() //nolint:errcheck
	}
}

// errorEvent streams an error object (as OpenAI does mid-stream).
func (e *sse) errorEvent(ae *apiError) {
	typ := ae.typ
	if typ == "" {
		typ = "invalid_request_error"
	}
	e.send(map[string]any{"error": map[string]any{"message": ae.msg, "type": typ, "param": nil, "code": nil}})
}

// tokenText is a token's text for logprobs (invalid UTF-8 becomes U+FFFD
// in JSON) and its bytes.
func tokenText(tok Tokenizer, id int) (string, []int) {
	b := tok.TokenBytes(id)
	ints := make([]int, len(b))
	for i, c := range b {
		ints[i] = int(c)
	}
	return string(b), ints
}
