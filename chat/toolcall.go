package chat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// toolFormat is how a template's model writes tool calls.
type toolFormat int

const (
	formatNone    toolFormat = iota
	formatHermes             // Qwen2.5, Hermes: <tool_call>{"name": …, "arguments": …}</tool_call>
	formatMistral            // [TOOL_CALLS][{"name": …, "arguments": …, "id": …}, …]
	formatLlama3             // Llama 3.1–3.3: {"name": …, "parameters": …}, after <|python_tag|> or alone
)

// String names the format ("" for none).
func (f toolFormat) String() string {
	return [...]string{"", "hermes", "mistral", "llama3"}[f]
}

// detectFormat recognises the tool-call format from markers in the
// template's text.
func detectFormat(src string) toolFormat {
	switch {
	case !referencesTools(src):
		return formatNone
	case strings.Contains(src, "<tool_call>"):
		return formatHermes
	case strings.Contains(src, "[TOOL_CALLS]"):
		return formatMistral
	case strings.Contains(src, "<|start_header_id|>"):
		return formatLlama3
	}
	return formatNone
}

// ToolFormat names the tool-call format ParseToolCalls reads for this
// template: "hermes" (Qwen2.5 and others: <tool_call>…</tool_call>),
// "mistral" ([TOOL_CALLS][…]), "llama3" (Llama 3.x JSON, optionally after
// <|python_tag|>), or "" when the template has none.
func (t *Template) ToolFormat() string { return t.format.String() }

// ParseToolCalls extracts the tool calls from a model's output in the
// template's format and returns them with the rest of the output (the
// text around the calls, trimmed). Output without calls comes back
// unchanged with no calls and no error; output that starts a call but is
// not valid JSON is an error (the caller may then return it as text).
// The special tokens (<|python_tag|>, [TOOL_CALLS]) must be in output:
// decode the generated tokens with their special-token text.
// Arguments are compact JSON text with the model's key order.
func (t *Template) ParseToolCalls(output string) ([]ToolCall, string, error) {
	switch t.format {
	case formatHermes:
		return parseHermes(output)
	case formatMistral:
		return parseMistral(output)
	case formatLlama3:
		return parseLlama3(output)
	}
	return nil, output, nil
}

var hermesCall = regexp.MustCompile(`(?s)<tool_call>(.*?)(?:</tool_call>|$)`)

func parseHermes(out string) ([]ToolCall, string, error) {
	locs := hermesCall.FindAllStringSubmatchIndex(out, -1)
	if len(locs) == 0 {
		return nil, out, nil
	}
	var calls []ToolCall
	var rest strings.Builder
	prev := 0
	for i, l := range locs {
		rest.WriteString(out[prev:l[0]])
		prev = l[1]
		c, err := callObject(out[l[2]:l[3]], "arguments")
		if err != nil {
			return nil, out, fmt.Errorf("chat: tool call %d: %w", i+1, err)
		}
		calls = append(calls, c)
	}
	rest.WriteString(out[prev:])
	return calls, strings.TrimSpace(rest.String()), nil
}

func parseMistral(out string) ([]ToolCall, string, error) {
	const marker = "[TOOL_CALLS]"
	i := strings.Index(out, marker)
	if i < 0 {
		return nil, out, nil
	}
	content := strings.TrimSpace(out[:i])
	d := json.NewDecoder(strings.NewReader(out[i+len(marker):]))
	var raw []json.RawMessage
	if err := d.Decode(&raw); err != nil {
		return nil, out, fmt.Errorf("chat: tool calls after %s: want a JSON array of {\"name\", \"arguments\"}: %v", marker, err)
	}
	calls := make([]ToolCall, 0, len(raw))
	for n, r := range raw {
		c, err := callObject(string(r), "arguments")
		if err != nil {
			return nil, out, fmt.Errorf("chat: tool call %d: %w", n+1, err)
		}
		calls = append(calls, c)
	}
	return calls, content, nil
}

const pythonTag = "<|python_tag|>"

var builtinCall = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)\.call\((.*)\)$`)
var builtinArg = regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*("(?:[^"\\]|\\.)*")\s*(?:,|$)`)

// parseLlama3 reads Llama 3.x calls: after <|python_tag|>, JSON objects
// separated by ';' (or a built-in tool's name.call(arg="…", …)); without
// the tag, an output that is one whole JSON object with "name" and
// "parameters" (or "arguments").
func parseLlama3(out string) ([]ToolCall, string, error) {
	if i := strings.Index(out, pythonTag); i >= 0 {
		content := strings.TrimSpace(out[:i])
		body := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(out[i+len(pythonTag):]), "<|eom_id|>"))
		if m := builtinCall.FindStringSubmatch(body); m != nil {
			args, err := builtinArgs(m[2])
			if err != nil {
				return nil, out, fmt.Errorf("chat: tool call %s: %w", m[1], err)
			}
			return []ToolCall{{Type: "function", Function: FunctionCall{Name: m[1], Arguments: args}}}, content, nil
		}
		var calls []ToolCall
		d := json.NewDecoder(strings.NewReader(body))
		for n := 1; ; n++ {
			var r json.RawMessage
			if err := d.Decode(&r); err != nil {
				return nil, out, fmt.Errorf("chat: tool call %d after %s: want {\"name\", \"parameters\"}: %v", n, pythonTag, err)
			}
			c, err := callObject(string(r), "parameters", "arguments")
			if err != nil {
				return nil, out, fmt.Errorf("chat: tool call %d: %w", n, err)
			}
			calls = append(calls, c)
			rest := strings.TrimSpace(body[d.InputOffset():])
			rest = strings.TrimSpace(strings.TrimPrefix(rest, ";"))
			if rest == "" {
				return calls, content, nil
			}
			d = json.NewDecoder(strings.NewReader(rest))
			body = rest
		}
	}
	s := strings.TrimSpace(out)
	if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
		return nil, out, nil
	}
	var keys map[string]json.RawMessage
	if json.Unmarshal([]byte(s), &keys) != nil || keys["name"] == nil || (keys["parameters"] == nil && keys["arguments"] == nil) {
		return nil, out, nil // a JSON answer, not a call
	}
	c, err := callObject(s, "parameters", "arguments")
	if err != nil {
		return nil, out, fmt.Errorf("chat: tool call: %w", err)
	}
	return []ToolCall{c}, "", nil
}

// builtinArgs turns a="x", b="y" into {"a": "x", "b": "y"}.
func builtinArgs(s string) (string, error) {
	var b strings.Builder
	b.WriteByte('{')
	for first := true; strings.TrimSpace(s) != ""; first = false {
		m := builtinArgAt(s)
		if m == nil {
			return "", fmt.Errorf("cannot read the arguments %q: want name=\"value\", …", s)
		}
		if !first {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m[1])
		var v string
		if err := json.Unmarshal([]byte(m[2]), &v); err != nil {
			return "", fmt.Errorf("argument %s: %v", m[1], err)
		}
		vb, _ := json.Marshal(v)
		b.Write(k)
		b.WriteByte(':')
		b.Write(vb)
		s = s[len(m[0]):]
	}
	b.WriteByte('}')
	return b.String(), nil
}

func builtinArgAt(s string) []string { return builtinArg.FindStringSubmatch(s) }

// callObject reads {"name": …, <argKey>: {…}} (the first argKey present;
// the arguments may also be a JSON string holding the object, as OpenAI
// writes them), and an "id" when there is one.
func callObject(s string, argKeys ...string) (ToolCall, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(strings.TrimSpace(s)), &obj); err != nil {
		return ToolCall{}, fmt.Errorf("want a JSON object {\"name\", %q}: %v", argKeys[0], err)
	}
	var name string
	if err := json.Unmarshal(obj["name"], &name); err != nil || name == "" {
		return ToolCall{}, fmt.Errorf("want a JSON object with a string \"name\", got %s", strings.TrimSpace(s))
	}
	c := ToolCall{Type: "function", Function: FunctionCall{Name: name, Arguments: "{}"}}
	if id, ok := obj["id"]; ok {
		_ = json.Unmarshal(id, &c.ID)
	}
	for _, k := range argKeys {
		a, ok := obj[k]
		if !ok {
			continue
		}
		var str string
		if json.Unmarshal(a, &str) == nil {
			a = json.RawMessage(str)
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, a); err != nil || buf.Len() == 0 || buf.Bytes()[0] != '{' {
			return ToolCall{}, fmt.Errorf("tool %s: %q is not a JSON object: %s", name, k, a)
		}
		c.Function.Arguments = buf.String()
		break
	}
	return c, nil
}
