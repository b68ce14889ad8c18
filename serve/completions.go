package serve

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/loomml/loom/serve/engine"
)

type completionRequest struct {
	Model  string          `json:"model"`
	Prompt json.RawMessage `json:"prompt"`
	sampling
	Logprobs *int    `json:"logprobs"`
	Echo     *bool   `json:"echo"`
	Suffix   *string `json:"suffix"`
	BestOf   *int    `json:"best_of"`
}

// parseInputs reads a prompt or an embeddings input: a string, an array of
// strings, an array of token ids or an array of arrays of ids.
func parseInputs(raw json.RawMessage, param string, encode func(string) []int) ([][]int, *apiError) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, badRequest(param, "%s: required: a string, an array of strings, an array of token ids or an array of arrays of token ids", param)
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return [][]int{encode(one)}, nil
	}
	var strs []string
	if json.Unmarshal(raw, &strs) == nil && len(strs) > 0 {
		out := make([][]int, len(strs))
		for i, s := range strs {
			out[i] = encode(s)
		}
		return out, nil
	}
	var ids []int
	if json.Unmarshal(raw, &ids) == nil && len(ids) > 0 {
		return [][]int{ids}, nil
	}
	var idss [][]int
	if json.Unmarshal(raw, &idss) == nil && len(idss) > 0 {
		return idss, nil
	}
	return nil, badRequest(param, "%s: want a string, a non-empty array of strings, an array of token ids or an array of arrays of token ids", param)
}

type completionLogprobs struct {
	Tokens        []string             `json:"tokens"`
	TokenLogprobs []float64            `json:"token_logprobs"`
	TopLogprobs   []map[string]float64 `json:"top_logprobs"`
	TextOffset    []int                `json:"text_offset"`
}

type completionChoice struct {
	Text         string              `json:"text"`
	Index        int                 `json:"index"`
	Logprobs     *completionLogprobs `json:"logprobs"`
	FinishReason *string             `json:"finish_reason"`
}

type completion struct {
	ID                string             `json:"id"`
	Object            string             `json:"object"`
	Created           int64              `json:"created"`
	Model             string             `json:"model"`
	SystemFingerprint string             `json:"system_fingerprint"`
	Choices           []completionChoice `json:"choices"`
	Usage             json.RawMessage    `json:"usage,omitempty"`
}

// legacyLogprobs is the completions shape of tokens' log-probabilities;
// text_offset counts bytes from the start of the prompt's text (base).
func legacyLogprobs(tok Tokenizer, ids []int, lps []float64, tops [][]engine.Alt, offsets []int, base int) *completionLogprobs {
	l := &completionLogprobs{Tokens: []string{}, TokenLogprobs: []float64{}, TopLogprobs: []map[string]float64{}, TextOffset: []int{}}
	for k, id := range ids {
		t, _ := tokenText(tok, id)
		l.Tokens = append(l.Tokens, t)
		l.TokenLogprobs = append(l.TokenLogprobs, lps[k])
		top := map[string]float64{}
		for _, a := range tops[k] {
			at, _ := tokenText(tok, a.Token)
			if _, ok := top[at]; !ok {
				top[at] = a.Logprob
			}
		}
		top[t] = lps[k]
		l.TopLogprobs = append(l.TopLogprobs, top)
		l.TextOffset = append(l.TextOffset, base+offsets[k])
	}
	return l
}

func (s *Server) completions(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var req completionRequest
	if e := readJSON(r, &req); e != nil {
		writeError(w, e)
		return
	}
	m, e := s.model(req.Model)
	if e != nil {
		writeError(w, e)
		return
	}
	p := &plan{m: m, promptParam: "prompt", start: start}
	if req.MaxTokens == nil && req.MaxCompletionTokens == nil {
		sixteen := 16 // OpenAI's default for /v1/completions
		req.MaxTokens = &sixteen
	}
	if e := p.parseSampling(&req.sampling, false); e != nil {
		writeError(w, e)
		return
	}
	if e := between(req.Logprobs, "logprobs", 0, 5); e != nil {
		writeError(w, e)
		return
	}
	if req.Logprobs != nil {
		p.base.Logprobs, p.base.TopLogprobs = true, *req.Logprobs
	}
	switch {
	case req.Echo != nil && *req.Echo:
		writeError(w, badRequest("echo", "echo: not supported by this server"))
		return
	case req.Suffix != nil && *req.Suffix != "":
		writeError(w, badRequest("suffix", "suffix: not supported by this server"))
		return
	case req.BestOf != nil && *req.BestOf != 1:
		writeError(w, badRequest("best_of", "best_of: only 1 is supported by this server"))
		return
	}
	prompts, e := parseInputs(req.Prompt, "prompt", m.EncodePrompt)
	if e != nil {
		writeError(w, e)
		return
	}
	p.prompts = prompts
	if e := p.checkPrompts(); e != nil {
		writeError(w, e)
		return
	}
	// text_offset counts from the start of the prompt's text
	promptLen := make([]int, len(prompts))
	for i, pr := range prompts {
		for _, id := range pr {
			promptLen[i] += len(m.Tokenizer.TokenBytes(id))
		}
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	chans, e := p.submit(ctx)
	if e != nil {
		cancel()
		writeError(w, e)
		return
	}
	id, created := newID("cmpl-"), time.Now().Unix()
	if !p.stream {
		res := s.drive(ctx, p, chans, nil)
		if e := failed(res); e != nil {
			writeError(w, e)
			return
		}
		u, _ := json.Marshal(p.usage(res))
		out := completion{ID: id, Object: "text_completion", Created: created, Model: m.Name, SystemFingerprint: fingerprint,
			Choices: []completionChoice{}, Usage: u}
		for i, rs := range res {
			f := rs.finish
			c := completionChoice{Text: rs.text.String(), Index: i, FinishReason: &f}
			if p.base.Logprobs {
				c.Logprobs = legacyLogprobs(m.Tokenizer, rs.tokens, rs.logprobs, rs.tops, rs.offsets, promptLen[i/p.n])
			}
			out.Choices = append(out.Choices, c)
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	ev := startSSE(w)
	chunk := func(c completionChoice) completion {
		k := completion{ID: id, Object: "text_completion", Created: created, Model: m.Name, SystemFingerprint: fingerprint, Choices: []completionChoice{c}}
		if p.includeUsage {
			k.Usage = json.RawMessage("null")
		}
		return k
	}
	res := s.drive(ctx, p, chans, func(i int, e engine.Event, rs *result) {
		if ev.err != nil {
			cancel()
			return
		}
		if e.Finish == "error" {
			return
		}
		c := completionChoice{Text: e.Text, Index: i}
		if p.base.Logprobs && e.Token >= 0 {
			n := len(rs.tokens) - 1
			c.Logprobs = legacyLogprobs(m.Tokenizer, rs.tokens[n:], rs.logprobs[n:], rs.tops[n:], rs.offsets[n:], promptLen[i/p.n])
		}
		if e.Finish != "" {
			f := e.Finish
			c.FinishReason = &f
		}
		if c.Text != "" || c.Logprobs != nil || c.FinishReason != nil {
			ev.send(chunk(c))
		}
	})
	if e := failed(res); e != nil {
		ev.errorEvent(e)
		return
	}
	if p.includeUsage {
		u, _ := json.Marshal(p.usage(res))
		ev.send(completion{ID: id, Object: "text_completion", Created: created, Model: m.Name, SystemFingerprint: fingerprint,
			Choices: []completionChoice{}, Usage: u})
	}
	ev.done()
}
