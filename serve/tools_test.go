package serve

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"
	"time"
)

// toolTemplate is a template that takes tools: it records what it was
// given and reads every reply as one call to the first tool.
type toolTemplate struct {
	PlainTemplate
	tools []map[string]any
}

func (tt *toolTemplate) Render(m []map[string]any, tools []map[string]any, gen bool) (string, error) {
	tt.tools = tools
	return PlainTemplate{}.Render(m, nil, gen)
}

func (tt *toolTemplate) SupportsTools() bool { return true }

func (tt *toolTemplate) ParseToolCalls(text string) (string, []map[string]any) {
	fn := tt.tools[0]["function"].(map[string]any)
	return "", []map[string]any{{"name": fn["name"], "arguments": map[string]any{"city": "Paris"}}}
}

func TestToolsReachTemplateAndCallsComeBack(t *testing.T) {
	tt := &toolTemplate{}
	ts, _ := testServer(t, func(o *Options) { o.Models[0].Template = tt })
	code, _, b := do(t, ts, "POST", "/v1/chat/completions", `{"model":"tiny","max_tokens":3,
		"messages":[{"role":"user","content":"weather?"}],
		"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]}`)
	var r struct {
		Choices []struct {
			Message struct {
				Role      string  `json:"role"`
				Content   *string `json:"content"`
				ToolCalls []struct {
					ID       string `json:"id"`
					Type     string `json:"type"`
					Function struct {
						Name      string `json:"name"`
						Arguments string `json:"arguments"`
					} `json:"function"`
				} `json:"tool_calls"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(b, &r); err != nil || code != 200 || len(r.Choices) != 1 {
		t.Fatalf("%d %s", code, b)
	}
	if len(tt.tools) != 1 || tt.tools[0]["type"] != "function" {
		t.Fatalf("the template got tools %v", tt.tools)
	}
	c := r.Choices[0]
	if c.FinishReason != "tool_calls" || c.Message.Content != nil || len(c.Message.ToolCalls) != 1 {
		t.Fatalf("reply %s", b)
	}
	tc := c.Message.ToolCalls[0]
	if !strings.HasPrefix(tc.ID, "call_") || tc.Type != "function" || tc.Function.Name != "get_weather" || tc.Function.Arguments != `{"city":"Paris"}` {
		t.Fatalf("tool call %+v", tc)
	}
}

func TestToolCallsStream(t *testing.T) {
	tt := &toolTemplate{}
	ts, _ := testServer(t, func(o *Options) { o.Models[0].Template = tt })
	code, _, b := do(t, ts, "POST", "/v1/chat/completions", `{"model":"tiny","max_tokens":3,"stream":true,
		"messages":[{"role":"user","content":"weather?"}],
		"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]}`)
	if code != 200 {
		t.Fatalf("%d %s", code, b)
	}
	var calls, finish string
	for _, raw := range sseEvents(t, b) {
		var c struct {
			Choices []struct {
				Delta struct {
					ToolCalls []struct {
						Index    *int `json:"index"`
						Function struct {
							Name string `json:"name"`
						} `json:"function"`
					} `json:"tool_calls"`
				} `json:"delta"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
		}
		json.Unmarshal(raw, &c)
		for _, tc := range c.Choices[0].Delta.ToolCalls {
			if tc.Index == nil {
				t.Fatalf("streamed tool call without an index: %s", raw)
			}
			calls += tc.Function.Name
		}
		if f := c.Choices[0].FinishReason; f != nil {
			finish = *f
		}
	}
	if calls != "get_weather" || finish != "tool_calls" {
		t.Fatalf("streamed calls %q, finish %q", calls, finish)
	}
}

// panicParser is a tool template whose parser panics (a bug in a
// template package).
type panicParser struct{ toolTemplate }

func (*panicParser) ParseToolCalls(string) (string, []map[string]any) { panic("parser bug") }

func TestPanicMidStreamLeaksNothing(t *testing.T) {
	ts, e := testServer(t, func(o *Options) { o.Models[0].Template = &panicParser{} })
	body := `{"model":"tiny","max_tokens":20,"n":2,"stream":STREAM,"messages":[{"role":"user","content":"hi"}],
		"tools":[{"type":"function","function":{"name":"f"}}]}`
	settle := func() int {
		ts.Client().CloseIdleConnections()
		for range 200 {
			if e.Stats().Running+e.Stats().Queued == 0 {
				break
			}
			time.Sleep(time.Millisecond)
		}
		return runtime.NumGoroutine()
	}
	do(t, ts, "POST", "/v1/completions", `{"model":"tiny","prompt":"a","max_tokens":1}`)
	g0 := settle()
	for range 5 {
		if code, _, b := do(t, ts, "POST", "/v1/chat/completions", strings.Replace(body, "STREAM", "false", 1)); code != 500 {
			t.Fatalf("a panicking parser: %d %s; want 500", code, b)
		}
		if _, _, b := do(t, ts, "POST", "/v1/chat/completions", strings.Replace(body, "STREAM", "true", 1)); strings.Contains(string(b), "[DONE]") {
			t.Fatalf("a stream whose handler panicked ends with [DONE]: %s", b)
		}
	}
	g1 := settle()
	for i := 0; i < 100 && g1 > g0; i++ {
		time.Sleep(5 * time.Millisecond)
		g1 = runtime.NumGoroutine()
	}
	if g1 > g0 {
		buf := make([]byte, 1<<20)
		t.Fatalf("goroutines %d before, %d after panicking requests\n%s", g0, g1, buf[:runtime.Stack(buf, true)])
	}
}
