package chat

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ardanlabs/jinja"

	"github.com/loomml/loom/convert"
)

func fixture(t *testing.T, name string) *Template {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "templates", name+".jinja"))
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := Parse(string(b), Options{BOS: "<s>", EOS: "</s>", Now: goldenNow})
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

func TestSupportsToolsAndFormat(t *testing.T) {
	for _, c := range []struct {
		name   string
		tools  bool
		format string
	}{
		{"llama-3.2-3b-instruct", true, "llama3"},
		{"llama-3.3-70b-instruct", true, "llama3"},
		{"qwen2.5-instruct", true, "hermes"},
		{"mistral-nemo-instruct-2407", true, "mistral"},
		{"gemma-2-2b-it", false, ""},
		{"phi-3.5-mini-instruct", false, ""},
		{"loom-plain", false, ""},
	} {
		tmpl := fixture(t, c.name)
		if got := tmpl.SupportsTools(); got != c.tools {
			t.Errorf("%s: SupportsTools() = %v, want %v", c.name, got, c.tools)
		}
		if got := tmpl.ToolFormat(); got != c.format {
			t.Errorf("%s: ToolFormat() = %q, want %q", c.name, got, c.format)
		}
	}
	// "tools" only inside a string literal or a comment is not a reference.
	for _, src := range []string{`{{ "use tools wisely" }}`, `{# tools #}hi`, `tools outside blocks`, `{{ custom_tools_x }}`} {
		tmpl, err := Parse(src, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if tmpl.SupportsTools() {
			t.Errorf("SupportsTools() for %q = true, want false", src)
		}
	}
}

func TestParseToolCalls(t *testing.T) {
	llama, qwen, mistral, phi := fixture(t, "llama-3.3-70b-instruct"), fixture(t, "qwen2.5-instruct"),
		fixture(t, "mistral-nemo-instruct-2407"), fixture(t, "phi-3.5-mini-instruct")
	call := func(id, name, args string) ToolCall {
		return ToolCall{ID: id, Type: "function", Function: FunctionCall{Name: name, Arguments: args}}
	}
	for _, c := range []struct {
		name    string
		tmpl    *Template
		out     string
		calls   []ToolCall
		content string
		err     string
	}{
		{"llama json", llama, `{"name": "get_weather", "parameters": {"city": "Paris", "n": 2}}`,
			[]ToolCall{call("", "get_weather", `{"city":"Paris","n":2}`)}, "", ""},
		{"llama json arguments key", llama, ` {"name": "f", "arguments": {"b": 1, "a": 2}} `,
			[]ToolCall{call("", "f", `{"b":1,"a":2}`)}, "", ""},
		{"llama python_tag", llama, `<|python_tag|>{"name": "f", "parameters": {}}`,
			[]ToolCall{call("", "f", `{}`)}, "", ""},
		{"llama python_tag several", llama, `Let me check.<|python_tag|>{"name": "f", "parameters": {"x": 1}}; {"name": "g", "parameters": {"y": "z"}}<|eom_id|>`,
			[]ToolCall{call("", "f", `{"x":1}`), call("", "g", `{"y":"z"}`)}, "Let me check.", ""},
		{"llama builtin", llama, `<|python_tag|>brave_search.call(query="weather in \"Paris\"", n="3")`,
			[]ToolCall{call("", "brave_search", `{"query":"weather in \"Paris\"","n":"3"}`)}, "", ""},
		{"llama plain text", llama, `The answer is 4.`, nil, `The answer is 4.`, ""},
		{"llama json answer", llama, `{"name": "Ada", "age": 36}`, nil, `{"name": "Ada", "age": 36}`, ""},
		{"llama bad after tag", llama, `<|python_tag|>{"name": "f", "parameters": {`, nil, "", "tool call 1 after <|python_tag|>"},
		{"llama no name", llama, `<|python_tag|>{"parameters": {}}`, nil, "", `want a JSON object with a string "name"`},
		{"qwen one", qwen, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>",
			[]ToolCall{call("", "get_weather", `{"city":"Paris"}`)}, "", ""},
		{"qwen two with text", qwen, "Checking both.\n<tool_call>\n{\"name\": \"a\", \"arguments\": {}}\n</tool_call>\n<tool_call>\n{\"name\": \"b\", \"arguments\": \"{\\\"k\\\": true}\"}\n</tool_call>",
			[]ToolCall{call("", "a", `{}`), call("", "b", `{"k":true}`)}, "Checking both.", ""},
		{"qwen unclosed at end", qwen, "<tool_call>\n{\"name\": \"a\", \"arguments\": {\"q\": 1}}",
			[]ToolCall{call("", "a", `{"q":1}`)}, "", ""},
		{"qwen no call", qwen, "Paris is sunny.", nil, "Paris is sunny.", ""},
		{"qwen bad json", qwen, "<tool_call>{\"name\": \"a\", \"arguments\": }</tool_call>", nil, "", "tool call 1"},
		{"qwen arguments not object", qwen, "<tool_call>{\"name\": \"a\", \"arguments\": [1]}</tool_call>", nil, "", `"arguments" is not a JSON object`},
		{"mistral", mistral, `[TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Paris"}, "id": "abc123XYZ"}, {"name": "get_time", "arguments": {}}]`,
			[]ToolCall{call("abc123XYZ", "get_weather", `{"city":"Paris"}`), call("", "get_time", `{}`)}, "", ""},
		{"mistral no call", mistral, "Sunny.", nil, "Sunny.", ""},
		{"mistral bad", mistral, `[TOOL_CALLS]{"name": "f"}`, nil, "", "want a JSON array"},
		{"no format", phi, `<tool_call>{"name": "a", "arguments": {}}</tool_call>`, nil, `<tool_call>{"name": "a", "arguments": {}}</tool_call>`, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			calls, content, err := c.tmpl.ParseToolCalls(c.out)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(calls, c.calls) || content != c.content {
				t.Fatalf("got %+v, %q\nwant %+v, %q", calls, content, c.calls, c.content)
			}
		})
	}
}

// TestToolCallRoundTrip renders a parsed call back through the template:
// what the model wrote is what the next prompt shows.
func TestToolCallRoundTrip(t *testing.T) {
	qwen := fixture(t, "qwen2.5-instruct")
	out := "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"celsius\"}}\n</tool_call>"
	calls, _, err := qwen.ParseToolCalls(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := qwen.Render([]Message{{Role: "user", Content: "hi"}, {Role: "assistant", ToolCalls: calls}}, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, "<|im_start|>assistant\n"+out+"<|im_end|>") {
		t.Fatalf("rendered call %q does not contain the model's output %q", got, out)
	}
}

func TestRenderErrors(t *testing.T) {
	gemma, mistral, llama := fixture(t, "gemma-2-2b-it"), fixture(t, "mistral-nemo-instruct-2407"), fixture(t, "llama-3.2-3b-instruct")
	user := Message{Role: "user", Content: "hi"}
	for _, c := range []struct {
		name  string
		tmpl  *Template
		msgs  []Message
		tools []Tool
		want  string
	}{
		{"raise_exception", gemma, []Message{{Role: "system", Content: "s"}, user}, nil, "chat template: System role not supported"},
		{"raise_exception in loop", mistral, []Message{user, {Role: "assistant", ToolCalls: []ToolCall{{ID: "short", Function: FunctionCall{Name: "f", Arguments: "{}"}}}}}, nil,
			"Tool call IDs should be alphanumeric strings with length 9!"},
		{"two calls for llama", llama, []Message{user, {Role: "assistant", ToolCalls: []ToolCall{{Function: FunctionCall{Name: "f"}}, {Function: FunctionCall{Name: "g"}}}}}, nil,
			"This model only supports single tool-calls at once!"},
		{"tools on a template without them", gemma, []Message{user}, []Tool{{Type: "function", Function: Function{Name: "f"}}}, ErrNoTools.Error()},
		{"bad arguments", llama, []Message{user, {Role: "assistant", ToolCalls: []ToolCall{{Function: FunctionCall{Name: "f", Arguments: "{oops"}}}}}, nil,
			"chat: messages[1]: tool_calls[0].function.arguments is not JSON"},
		{"tool type", llama, []Message{user}, []Tool{{Type: "retrieval", Function: Function{Name: "f"}}}, `chat: tools[0]: type is "retrieval", want "function"`},
		{"tool name", llama, []Message{user}, []Tool{{Type: "function"}}, `chat: tools[0]: function.name is missing`},
		{"bad parameters", llama, []Message{user}, []Tool{{Function: Function{Name: "f", Parameters: []byte(`{"a":`)}}}, "chat: tools[0]: function.parameters is not JSON"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.tmpl.Render(c.msgs, c.tools, true)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Render error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{`{{ messages | shout }}`, `chat: chat_template: unknown filter "shout" (the engine has abs,`},
		{`{{ x | trim | frobnicate(2) }}{{ y|shout }}`, `unknown filter "frobnicate", "shout"`},
		{`{% if x is prime %}{% endif %}`, `unknown test "prime"`},
		{`{% if x is not divisibleby(3) %}{% endif %}`, `unknown test "divisibleby"`},
		{`{% if x %}`, "chat: chat_template: jinja parse"},
		{`{{ "a" `, "chat: chat_template:"},
	} {
		_, err := Parse(c.src, Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q) error %v, want one containing %q", c.src, err, c.want)
		}
	}
	// Names inside strings and comments, and known ones, are fine.
	for _, src := range []string{`{{ "a | shout" }}`, `{# x | shout #}`, `{{ 'is prime' }}`, `{{ x | tojson(indent=2) }}{% if y is defined %}{% endif %}`, `{{ "}}" | trim }}`} {
		if _, err := Parse(src, Options{}); err != nil {
			t.Errorf("Parse(%q): %v", src, err)
		}
	}
}

func TestRenameFilter(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{{ x | tojson }}`, `{{ x | T }}`},
		{`{{ x|tojson(indent=4) }}`, `{{ x|T(indent=4) }}`},
		{`{{ "| tojson" ~ x | tojson }}`, `{{ "| tojson" ~ x | T }}`},
		{`{{ x | tojsonx }} | tojson`, `{{ x | tojsonx }} | tojson`},
		{`{% set y = x | tojson %}{# | tojson #}`, `{% set y = x | T %}{# | tojson #}`},
		{`{{ "}}" }}{{ a|tojson }}`, `{{ "}}" }}{{ a|T }}`},
	} {
		if got := renameFilter(c.in, "tojson", "T"); got != c.want {
			t.Errorf("renameFilter(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestTojson(t *testing.T) {
	v, err := jsonValue([]byte(`{"z": [1, 2.5, "a\u0001<>&\u2028"], "a": {}, "m": [], "t": true, "n": null}`))
	if err != nil {
		t.Fatal(err)
	}
	src := `{{ v | tojson }}|{{ v | tojson(indent=2) }}|{{ v | tojson(separators=(",", ":")) }}`
	tmpl, err := Parse(src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := renderSafely(tmpl.main, map[string]jinja.Value{"v": v, tojsonName: tojsonFilter})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"z": [1, 2.5, "a\u0001<>&` + "\u2028" + `"], "a": {}, "m": [], "t": true, "n": null}|` +
		"{\n  \"z\": [\n    1,\n    2.5,\n    \"a\\u0001<>&\u2028\"\n  ],\n  \"a\": {},\n  \"m\": [],\n  \"t\": true,\n  \"n\": null\n}|" +
		`{"z":[1,2.5,"a\u0001<>&` + "\u2028" + `"],"a":{},"m":[],"t":true,"n":null}`
	if out != want {
		t.Fatalf("got  %q\nwant %q", out, want)
	}
}

func TestStrftime(t *testing.T) {
	tm := time.Date(2026, 3, 7, 9, 5, 4, 0, time.UTC)
	if got, want := strftime(tm, "%d %b %Y|%B %e %H:%M:%S %a %A %j %y %m %% %Q"), "07 Mar 2026|March  7 09:05:04 Sat Saturday 066 26 03 % %Q"; got != want {
		t.Fatalf("strftime = %q, want %q", got, want)
	}
}

func TestPlain(t *testing.T) {
	p := Plain()
	got, err := p.Render([]Message{
		{Role: "system", Content: "Be terse."},
		{Role: "user", Content: "Name a colour."},
		{Role: "assistant", Content: "Blue."},
		{Role: "user", Content: "Another?"},
	}, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if want := "System: Be terse.\nUser: Name a colour.\nAssistant: Blue.\nUser: Another?\nAssistant:"; got != want {
		t.Fatalf("Plain render %q, want %q", got, want)
	}
	if !p.IsPlain() || p.SupportsTools() || !reflect.DeepEqual(p.Stop(), []string{"\nUser:", "\nSystem:"}) {
		t.Fatalf("Plain: IsPlain %v SupportsTools %v Stop %q", p.IsPlain(), p.SupportsTools(), p.Stop())
	}
	if _, err := p.Render([]Message{{Role: "user", Content: "x"}}, []Tool{{Function: Function{Name: "f"}}}, true); !errors.Is(err, ErrNoTools) {
		t.Fatalf("Plain with tools: %v, want ErrNoTools", err)
	}
}

func TestLoad(t *testing.T) {
	qwen, err := os.ReadFile(filepath.Join("testdata", "templates", "qwen2.5-instruct.jinja"))
	if err != nil {
		t.Fatal(err)
	}
	msgs := []Message{{Role: "user", Content: "hi"}}
	tools := []Tool{{Type: "function", Function: Function{Name: "f"}}}
	for _, c := range []struct {
		name      string
		tc        *convert.TokenizerConfig
		plain     bool
		want      string // Render(msgs, nil, true)
		wantTools string // Render(msgs, tools, true), when not ""
		err       string
	}{
		{name: "nil", tc: nil, plain: true, want: "User: hi\nAssistant:"},
		{name: "no template", tc: &convert.TokenizerConfig{EOSToken: "</s>"}, plain: true, want: "User: hi\nAssistant:"},
		{name: "string", tc: &convert.TokenizerConfig{BOSToken: "<s>", EOSToken: "</s>", ChatTemplate: "{{ bos_token }}{{ messages[0].content }}{{ eos_token }}"},
			want: "<s>hi</s>"},
		{name: "named", tc: &convert.TokenizerConfig{ChatTemplates: map[string]string{
			"default": "plain:{{ messages[0].content }}", "tool_use": "{% if tools %}tools:{{ tools | length }}{% endif %}"}},
			want: "plain:hi", wantTools: "tools:1"},
		{name: "named default only", tc: &convert.TokenizerConfig{ChatTemplates: map[string]string{"default": "d"}}, want: "d"},
		{name: "named without default", tc: &convert.TokenizerConfig{ChatTemplates: map[string]string{"rag": "x"}},
			err: `chat_template lists no template named "default"`},
		{name: "bad tool_use", tc: &convert.TokenizerConfig{ChatTemplates: map[string]string{"default": "d", "tool_use": "{{ x | nope }}"}},
			err: `chat: chat_template "tool_use": unknown filter "nope"`},
		{name: "qwen", tc: &convert.TokenizerConfig{EOSToken: "<|im_end|>", ChatTemplate: string(qwen)},
			want: "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tmpl, err := Load(c.tc)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("Load error %v, want one containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tmpl.IsPlain() != c.plain {
				t.Fatalf("IsPlain() = %v, want %v", tmpl.IsPlain(), c.plain)
			}
			got, err := tmpl.Render(msgs, nil, true)
			if err != nil || got != c.want {
				t.Fatalf("Render = %q, %v; want %q", got, err, c.want)
			}
			if c.wantTools != "" {
				if !tmpl.SupportsTools() {
					t.Fatal("SupportsTools() = false with a tool_use template")
				}
				got, err := tmpl.Render(msgs, tools, true)
				if err != nil || got != c.wantTools {
					t.Fatalf("Render with tools = %q, %v; want %q", got, err, c.wantTools)
				}
			}
		})
	}
}

// TestTruncatedTemplates feeds every fixture cut at many offsets to Parse
// and Render: broken templates are errors, never panics.
func TestTruncatedTemplates(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "templates", "*.jinja"))
	msgs := []Message{{Role: "user", Content: "hi"}, {Role: "assistant", Content: "yo"}, {Role: "user", Content: "?"}}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for cut := 0; cut < len(b); cut += 13 {
			tmpl, err := Parse(string(b[:cut]), Options{})
			if err != nil {
				continue
			}
			_, _ = tmpl.Render(msgs, nil, true)
		}
	}
}
