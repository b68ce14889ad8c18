package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/loomml/loom/serve/engine"
)

type chatMessage struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	Name       string          `json:"name"`
	ToolCalls  json.RawMessage `json:"tool_calls"`
	ToolCallID string          `json:"tool_call_id"`
}

type chatRequest struct {
	Model    string        `json:"model"`
	Messages []chatMessage `json:"messages"`
	sampling
	Logprobs    *bool            `json:"logprobs"`
	TopLogprobs *int             `json:"top_logprobs"`
	Tools       []map[string]any `json:"tools"`
	ToolChoice  json.RawMessage  `json:"tool_choice"`
}

// messages turns the request's messages into the template's maps.
func (req *chatRequest) messages() ([]map[string]any, *apiError) {
	if len(req.Messages) == 0 {
		return nil, badRequest("messages", "messages: want a non-empty array of messages")
	}
	out := make([]map[string]any, len(req.Messages))
	for i, m := range req.Messages {
		param := fmt.Sprintf("messages[%d]", i)
		switch m.Role {
		case "system", "developer", "user", "assistant", "tool":
		case "":
			return nil, badRequest(param+".role", "%s.role: required (system, developer, user, assistant or tool)", param)
		default:
			return nil, badRequest(param+".role", "%s.role is %q: want system, developer, user, assistant or tool", param, m.Role)
		}
		content, e := messageContent(m.Content, param+".content")
		if e != nil {
			return nil, e
		}
		msg := map[string]any{"role": m.Role, "content": content}
		if m.Name != "" {
			msg["name"] = m.Name
		}
		if m.ToolCallID != "" {
			msg["tool_call_id"] = m.ToolCallID
		}
		if len(m.ToolCalls) > 0 && string(m.ToolCalls) != "null" {
			var calls []any
			if err := json.Unmarshal(m.ToolCalls, &calls); err != nil {
				return nil, badRequest(param+".tool_calls", "%s.tool_calls: want an array", param)
			}
			msg["tool_calls"] = calls
		}
		out[i] = msg
	}
	return out, nil
}

// messageContent reads a message's content: a string, null, or an array
// of text parts (joined).
func messageContent(raw json.RawMessage, param string) (string, *apiError) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var parts []struct {
		Type string  `json:"type"`
		Text *string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", badRequest(param, "%s: want a string or an array of text parts", param)
	}
	var b strings.Builder
	for j, p := range parts {
		if p.Type != "text" || p.Text == nil {
			return "", badRequest(fmt.Sprintf("%s[%d]", param, j), "%s[%d]: only text parts ({\"type\": \"text\", \"text\": ...}) are supported, got type %q", param, j, p.Type)
		}
		b.WriteString(*p.Text)
	}
	return b.String(), nil
}

type chatLogprob struct {
	Token       string           `json:"token"`
	Logprob     float64          `json:"logprob"`
	Bytes       []int            `json:"bytes"`
	TopLogprobs []chatTopLogprob `json:"top_logprobs"`
}

type chatTopLogprob struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
	Bytes   []int   `json:"bytes"`
}

type chatLogprobs struct {
	Content []chatLogprob `json:"content"`
	Refusal []chatLogprob `json:"refusal"`
}

func chatLogprobEntry(tok Tokenizer, id int, lp float64, top []engine.Alt) chatLogprob {
	t, b := tokenText(tok, id)
	e := chatLogprob{Token: t, Logprob: lp, Bytes: b, TopLogprobs: []chatTopLogprob{}}
	for _, a := range top {
		at, ab := tokenText(tok, a.Token)
		e.TopLogprobs = append(e.TopLogprobs, chatTopLogprob{Token: at, Logprob: a.Logprob, Bytes: ab})
	}
	return e
}

type chatToolCall struct {
	Index    *int   `json:"index,omitempty"` // streaming only
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

type chatMessageOut struct {
	Role      string         `json:"role"`
	Content   *string        `json:"content"`
	Refusal   *string        `json:"refusal"`
	ToolCalls []chatToolCall `json:"tool_calls,omitempty"`
}

type chatChoice struct {
	Index        int            `json:"index"`
	Message      chatMessageOut `json:"message"`
	Logprobs     *chatLogprobs  `json:"logprobs"`
	FinishReason string         `json:"finish_reason"`
}

type chatCompletion struct {
	ID                string       `json:"id"`
	Object            string       `json:"object"`
	Created           int64        `json:"created"`
	Model             string       `json:"model"`
	SystemFingerprint string       `json:"system_fingerprint"`
	Choices           []chatChoice `json:"choices"`
	Usage             usage        `json:"usage"`
}

type chatDelta struct {
	Role      string         `json:"role,omitempty"`
	Content   *string        `json:"content,omitempty"`
	ToolCalls []chatToolCall `json:"tool_calls,omitempty"`
}

type chatChunkChoice struct {
	Index        int           `json:"index"`
	Delta        chatDelta     `json:"delta"`
	Logprobs     *chatLogprobs `json:"logprobs"`
	FinishReason *string       `json:"finish_reason"`
}

type chatChunk struct {
	ID                string            `json:"id"`
	Object            string            `json:"object"`
	Created           int64             `json:"created"`
	Model             string            `json:"model"`
	SystemFingerprint string            `json:"system_fingerprint"`
	Choices           []chatChunkChoice `json:"choices"`
	Usage             json.RawMessage   `json:"usage,omitempty"`
}

const fingerprint = "fp_loom"

func (s *Server) chatCompletions(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var req chatRequest
	if e := readJSON(r, &req); e != nil {
		writeError(w, e)
		return
	}
	m, e := s.model(req.Model)
	if e != nil {
		writeError(w, e)
		return
	}
	p := &plan{m: m, promptParam: "messages", start: start}
	if e := p.parseSampling(&req.sampling, true); e != nil {
		writeError(w, e)
		return
	}
	if req.Logprobs != nil && *req.Logprobs {
		p.base.Logprobs = true
	}
	if e := between(req.TopLogprobs, "top_logprobs", 0, 20); e != nil {
		writeError(w, e)
		return
	}
	if req.TopLogprobs != nil {
		if !p.base.Logprobs {
			writeError(w, badRequest("top_logprobs", "top_logprobs: only allowed when logprobs is true"))
			return
		}
		p.base.TopLogprobs = *req.TopLogprobs
	}
	msgs, e := req.messages()
	if e != nil {
		writeError(w, e)
		return
	}
	tmpl := m.Template
	if len(req.Tools) > 0 && !tmpl.SupportsTools() {
		writeError(w, badRequest("tools", "tools: the chat template of model %q does not support tools", m.Name))
		return
	}
	text, err := tmpl.Render(msgs, req.Tools, true)
	if err != nil {
		writeError(w, badRequest("messages", "messages: the chat template failed: %v", err))
		return
	}
	if ss, ok := tmpl.(StopStringer); ok {
		p.base.Stop = append(p.base.Stop, ss.StopStrings()...)
	}
	p.prompts = [][]int{m.Tokenizer.Encode(text)}
	if e := p.checkPrompts(); e != nil {
		writeError(w, e)
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	chans, e := p.submit(ctx)
	if e != nil {
		cancel() // the engine drops the sequences already queued
		writeError(w, e)
		return
	}
	id, created := newID("chatcmpl-"), time.Now().Unix()
	parser, _ := tmpl.(ToolParser)
	if len(req.Tools) == 0 {
		parser = nil
	}
	if !p.stream {
		res := s.drive(ctx, p, chans, nil)
		if e := failed(res); e != nil {
			writeError(w, e)
			return
		}
		out := chatCompletion{ID: id, Object: "chat.completion", Created: created, Model: m.Name, SystemFingerprint: fingerprint,
			Choices: []chatChoice{}, Usage: p.usage(res)}
		for i, rs := range res {
			content := rs.text.String()
			c := chatChoice{Index: i, Message: chatMessageOut{Role: "assistant", Content: &content}, FinishReason: rs.finish}
			if parser != nil {
				if rest, calls := parser.ParseToolCalls(content); len(calls) > 0 {
					c.Message.ToolCalls = toolCalls(calls, false)
					c.Message.Content = nil
					if rest != "" {
						c.Message.Content = &rest
					}
					c.FinishReason = "tool_calls"
				}
			}
			if p.base.Logprobs {
				c.Logprobs = &chatLogprobs{Content: []chatLogprob{}}
				for k, tok := range rs.tokens {
					c.Logprobs.Content = append(c.Logprobs.Content, chatLogprobEntry(m.Tokenizer, tok, rs.logprobs[k], rs.tops[k]))
				}
			}
			out.Choices = append(out.Choices, c)
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	ev := startSSE(w)
	chunk := func(c chatChunkChoice) chatChunk {
		k := chatChunk{ID: id, Object: "chat.completion.chunk", Created: created, Model: m.Name, SystemFingerprint: fingerprint, Choices: []chatChunkChoice{c}}
		if p.includeUsage {
			k.Usage = json.RawMessage("null")
		}
		return k
	}
	empty := ""
	for i := range chans {
		ev.send(chunk(chatChunkChoice{Index: i, Delta: chatDelta{Role: "assistant", Content: &empty}}))
	}
	res := s.drive(ctx, p, chans, func(i int, e engine.Event, rs *result) {
		if ev.err != nil {
			cancel()
			return
		}
		if e.Finish == "error" {
			return
		}
		if parser != nil { // with tools the reply is parsed whole, then sent
			if e.Finish != "" {
				f := e.Finish
				content, calls := parser.ParseToolCalls(rs.text.String())
				if len(calls) > 0 {
					f = "tool_calls"
					ev.send(chunk(chatChunkChoice{Index: i, Delta: chatDelta{ToolCalls: toolCalls(calls, true)}}))
				}
				if content != "" {
					ev.send(chunk(chatChunkChoice{Index: i, Delta: chatDelta{Content: &content}}))
				}
				ev.send(chunk(chatChunkChoice{Index: i, Delta: chatDelta{}, FinishReason: &f}))
			}
			return
		}
		if e.Text != "" || e.Token >= 0 {
			c := chatChunkChoice{Index: i, Delta: chatDelta{Content: &e.Text}}
			if p.base.Logprobs && e.Token >= 0 {
				c.Logprobs = &chatLogprobs{Content: []chatLogprob{chatLogprobEntry(m.Tokenizer, e.Token, e.Logprob, e.Top)}}
			}
			if e.Text != "" || c.Logprobs != nil {
				ev.send(chunk(c))
			}
		}
		if e.Finish != "" {
			f := e.Finish
			ev.send(chunk(chatChunkChoice{Index: i, Delta: chatDelta{}, FinishReason: &f}))
		}
	})
	if e := failed(res); e != nil {
		ev.errorEvent(e)
		return
	}
	if p.includeUsage {
		u, _ := json.Marshal(p.usage(res))
		ev.send(chatChunk{ID: id, Object: "chat.completion.chunk", Created: created, Model: m.Name, SystemFingerprint: fingerprint,
			Choices: []chatChunkChoice{}, Usage: u})
	}
	ev.done()
}

// toolCalls converts a template's parsed calls.
func toolCalls(calls []map[string]any, stream bool) []chatToolCall {
	var out []chatToolCall
	for i, c := range calls {
		var tc chatToolCall
		if stream {
			tc.Index = &i
		}
		tc.ID = newID("call_")
		tc.Type = "function"
		tc.Function.Name, _ = c["name"].(string)
		switch a := c["arguments"].(type) {
		case string:
			tc.Function.Arguments = a
		default:
			b, _ := json.Marshal(a)
			tc.Function.Arguments = string(b)
		}
		out = append(out, tc)
	}
	return out
}
