package chat

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/ardanlabs/jinja"

	"github.com/loomml/loom/convert"
)

// Message is one turn of a conversation, in OpenAI's shape.
type Message struct {
	// Role is "system", "user", "assistant" or "tool" (templates may
	// accept others, such as "ipython" or "developer").
	Role string `json:"role"`
	// Content is the text of the turn ("" for an assistant turn that
	// only calls tools).
	Content string `json:"content"`
	// ToolCalls are the calls an assistant turn made.
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
	// ToolCallID is, on a "tool" turn, the id of the call it answers.
	ToolCallID string `json:"tool_call_id,omitempty"`
	// Name is, on a "tool" turn, the function's name.
	Name string `json:"name,omitempty"`
}

// ToolCall is one function call an assistant made, in OpenAI's shape.
type ToolCall struct {
	// ID identifies the call; ParseToolCalls leaves it "" unless the
	// model wrote one (the caller assigns ids).
	ID       string       `json:"id,omitempty"`
	Type     string       `json:"type"` // "function"
	Function FunctionCall `json:"function"`
}

// FunctionCall is a call's function name and arguments.
type FunctionCall struct {
	Name string `json:"name"`
	// Arguments is a JSON text (an object), as OpenAI sends it. Render
	// gives templates the decoded object, as Hugging Face templates
	// expect.
	Arguments string `json:"arguments"`
}

// Tool is one tool definition, in OpenAI's shape:
// {"type": "function", "function": {"name", "description", "parameters"}}.
type Tool struct {
	Type     string   `json:"type"` // "function"
	Function Function `json:"function"`
}

// Function is a function tool's definition.
type Function struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Parameters is the JSON schema of the arguments (an object); its key
	// order is kept when templates print it.
	Parameters json.RawMessage `json:"parameters,omitempty"`
}

// Options are the values a template sees besides the conversation.
type Options struct {
	// BOS and EOS are bos_token and eos_token (the tokenizer's special
	// tokens as text; templates print them).
	BOS, EOS string
	// Now is the clock of strftime_now (nil: time.Now).
	Now func() time.Time
}

// Template is a compiled chat template. It is safe for concurrent use.
type Template struct {
	main    *jinja.Template
	toolUse *jinja.Template // a named "tool_use" template, used when tools are given
	opts    Options
	plain   bool
	tools   bool
	format  toolFormat
}

// ErrNoTools is returned by Render when tools are given to a template
// that does not reference them.
var ErrNoTools = errors.New("chat: this model's chat template does not support tools")

// Parse compiles a chat template (the text of tokenizer_config.json's
// chat_template). Filters and tests the engine does not have are
// reported here, naming them, rather than when a turn first reaches them.
func Parse(src string, o Options) (*Template, error) {
	t, err := compile("chat_template", src)
	if err != nil {
		return nil, err
	}
	return newTemplate(t, nil, src, o), nil
}

func compile(what, src string) (t *jinja.Template, err error) {
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("chat: %s: the template engine failed on it: %v", what, r)
		}
	}()
	t, err = jinja.Compile(renameFilter(src, "tojson", tojsonName))
	if err != nil {
		return nil, fmt.Errorf("chat: %s: %w", what, err)
	}
	if err := checkNames(src); err != nil {
		return nil, fmt.Errorf("chat: %s: %w", what, err)
	}
	return t, nil
}

// newTemplate: src is main's source, or toolUse's when there is one (what
// SupportsTools and the tool-call format are read from).
func newTemplate(main, toolUse *jinja.Template, src string, o Options) *Template {
	return &Template{main: main, toolUse: toolUse, opts: o,
		tools: referencesTools(src), format: detectFormat(src)}
}

// Load returns the chat template of a tokenizer_config.json (its
// chat_template, and for a list of named templates the one named
// "default", with "tool_use" used when tools are given), with bos_token
// and eos_token from the same file. A nil config or one without a
// template gives Plain().
func Load(tc *convert.TokenizerConfig) (*Template, error) {
	if tc == nil || (tc.ChatTemplate == "" && len(tc.ChatTemplates) == 0) {
		return Plain(), nil
	}
	o := Options{BOS: tc.BOSToken, EOS: tc.EOSToken}
	if tc.ChatTemplate != "" {
		return Parse(tc.ChatTemplate, o)
	}
	def, ok := tc.ChatTemplates["default"]
	if !ok {
		return nil, fmt.Errorf("chat: tokenizer_config.json chat_template lists no template named \"default\"")
	}
	main, err := compile("chat_template \"default\"", def)
	if err != nil {
		return nil, err
	}
	src := def
	var toolUse *jinja.Template
	if tu, ok := tc.ChatTemplates["tool_use"]; ok {
		if toolUse, err = compile("chat_template \"tool_use\"", tu); err != nil {
			return nil, err
		}
		src = tu
	}
	return newTemplate(main, toolUse, src, o), nil
}

//go:embed plain.jinja
var plainSource string

var plain = func() *Template {
	t, err := Parse(plainSource, Options{})
	if err != nil {
		panic(err) // the embedded template is tested
	}
	t.plain = true
	t.tools = false
	return t
}()

// Plain is the template for models without a chat template (loom's own).
// Each turn is a line: its role (System, User, Assistant; a developer
// message counts as System, any other role as Tool), a colon, a space and
// the content; the generation prompt is "Assistant:", without a space, so
// that the model writes the space itself as it learnt to:
//
//	System: You are terse.
//	User: Name a colour.
//	Assistant: Blue.
//	User: Another?
//	Assistant:
//
// No BOS or EOS token is written (the tokenizer adds its own), and it
// takes no tools. Generation should stop at Stop()'s strings, since a base
// model goes on to write the next "User:" turn itself.
func Plain() *Template { return plain }

// PlainSource is the Jinja text of Plain.
func PlainSource() string { return plainSource }

// IsPlain reports whether t is Plain().
func (t *Template) IsPlain() bool { return t.plain }

// Stop returns strings that end an answer under this template besides the
// model's end-of-sequence tokens: "\nUser:" and "\nSystem:" for Plain, none
// for a model's own template.
func (t *Template) Stop() []string {
	if t.plain {
		return []string{"\nUser:", "\nSystem:"}
	}
	return nil
}

// SupportsTools reports whether the template references the tools
// variable (so tool definitions passed to Render reach the prompt).
func (t *Template) SupportsTools() bool { return t.tools }

var toolsWord = regexp.MustCompile(`(^|[^A-Za-z0-9_])tools([^A-Za-z0-9_]|$)`)

// referencesTools reports whether the identifier tools occurs inside a
// {{ }} or {% %} block of src.
func referencesTools(src string) bool {
	for _, b := range blocks(src) {
		if toolsWord.MatchString(stripStrings(b)) {
			return true
		}
	}
	return false
}

// Render applies the template to a conversation: the prompt text the
// model continues. tools are the function definitions offered (nil for
// none; ErrNoTools if the template does not support them);
// addGenerationPrompt appends the header of the assistant's turn. A
// template that raises (raise_exception) gives an error with its message.
func (t *Template) Render(messages []Message, tools []Tool, addGenerationPrompt bool) (string, error) {
	if len(tools) > 0 && !t.tools {
		return "", ErrNoTools
	}
	msgs := jinja.NewList(nil)
	for i, m := range messages {
		v, err := messageValue(m)
		if err != nil {
			return "", fmt.Errorf("chat: messages[%d]: %w", i, err)
		}
		msgs.AsList().Append(v)
	}
	data := map[string]jinja.Value{
		"messages":              msgs,
		"add_generation_prompt": jinja.NewBool(addGenerationPrompt),
		"bos_token":             jinja.NewString(t.opts.BOS),
		"eos_token":             jinja.NewString(t.opts.EOS),
		"strftime_now":          jinja.NewCallable("strftime_now", t.strftimeNow),
		tojsonName:              tojsonFilter,
	}
	tmpl := t.main
	if len(tools) > 0 {
		tv := jinja.NewList(nil)
		for i, tool := range tools {
			v, err := toolValue(tool)
			if err != nil {
				return "", fmt.Errorf("chat: tools[%d]: %w", i, err)
			}
			tv.AsList().Append(v)
		}
		data["tools"] = tv
		if t.toolUse != nil {
			tmpl = t.toolUse
		}
	}
	out, err := renderSafely(tmpl, data)
	if err != nil {
		return "", fmt.Errorf("chat template: %w", err)
	}
	return out, nil
}

var tojsonFilter = jinja.NewCallable("tojson", tojson)

// renderSafely renders, turning a panic inside the engine (a template
// doing something the engine did not foresee) into an error.
func renderSafely(t *jinja.Template, data map[string]jinja.Value) (out string, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = "", fmt.Errorf("rendering failed: %v", r)
		}
	}()
	return t.RenderValues(data)
}

func (t *Template) strftimeNow(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	if len(args) != 1 || !args[0].IsString() {
		return jinja.Undefined(), fmt.Errorf("strftime_now: want one format string")
	}
	now := time.Now
	if t.opts.Now != nil {
		now = t.opts.Now
	}
	return jinja.NewString(strftime(now(), args[0].AsString())), nil
}

// strftime formats tm with Python's strftime directives (the common ones;
// others are kept as written).
func strftime(tm time.Time, format string) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		if format[i] != '%' || i+1 == len(format) {
			b.WriteByte(format[i])
			continue
		}
		i++
		switch format[i] {
		case 'Y':
			fmt.Fprintf(&b, "%04d", tm.Year())
		case 'y':
			fmt.Fprintf(&b, "%02d", tm.Year()%100)
		case 'm':
			fmt.Fprintf(&b, "%02d", int(tm.Month()))
		case 'd':
			fmt.Fprintf(&b, "%02d", tm.Day())
		case 'e':
			fmt.Fprintf(&b, "%2d", tm.Day())
		case 'H':
			fmt.Fprintf(&b, "%02d", tm.Hour())
		case 'M':
			fmt.Fprintf(&b, "%02d", tm.Minute())
		case 'S':
			fmt.Fprintf(&b, "%02d", tm.Second())
		case 'b':
			b.WriteString(tm.Month().String()[:3])
		case 'B':
			b.WriteString(tm.Month().String())
		case 'a':
			b.WriteString(tm.Weekday().String()[:3])
		case 'A':
			b.WriteString(tm.Weekday().String())
		case 'j':
			fmt.Fprintf(&b, "%03d", tm.YearDay())
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(format[i])
		}
	}
	return b.String()
}

// messageValue is m as Hugging Face templates see it: a dict with role and
// content, tool_calls only when there are some (templates test
// `'tool_calls' in message`), tool_call_id and name only when set.
func messageValue(m Message) (jinja.Value, error) {
	d := jinja.NewDict()
	dd := d.AsDict()
	dd.Set("role", jinja.NewString(m.Role))
	dd.Set("content", jinja.NewString(m.Content))
	if len(m.ToolCalls) > 0 {
		calls := jinja.NewList(nil)
		for i, c := range m.ToolCalls {
			cv := jinja.NewDict()
			if c.ID != "" {
				cv.AsDict().Set("id", jinja.NewString(c.ID))
			}
			typ := c.Type
			if typ == "" {
				typ = "function"
			}
			cv.AsDict().Set("type", jinja.NewString(typ))
			f := jinja.NewDict()
			f.AsDict().Set("name", jinja.NewString(c.Function.Name))
			args := jinja.NewString(c.Function.Arguments)
			if strings.TrimSpace(c.Function.Arguments) != "" {
				a, err := jsonValue([]byte(c.Function.Arguments))
				if err != nil {
					return jinja.Value{}, fmt.Errorf("tool_calls[%d].function.arguments is not JSON: %w", i, err)
				}
				if a.IsDict() {
					args = a
				}
			} else {
				args = jinja.NewDict()
			}
			f.AsDict().Set("arguments", args)
			cv.AsDict().Set("function", f)
			calls.AsList().Append(cv)
		}
		dd.Set("tool_calls", calls)
	}
	if m.ToolCallID != "" {
		dd.Set("tool_call_id", jinja.NewString(m.ToolCallID))
	}
	if m.Name != "" {
		dd.Set("name", jinja.NewString(m.Name))
	}
	return d, nil
}

// toolValue is tool as templates see it: {"type", "function": {"name",
// "description" (when set), "parameters" (when set)}}.
func toolValue(t Tool) (jinja.Value, error) {
	typ := t.Type
	switch typ {
	case "":
		typ = "function"
	case "function":
	default:
		return jinja.Value{}, fmt.Errorf("type is %q, want \"function\"", typ)
	}
	if t.Function.Name == "" {
		return jinja.Value{}, fmt.Errorf("function.name is missing")
	}
	f := jinja.NewDict()
	f.AsDict().Set("name", jinja.NewString(t.Function.Name))
	if t.Function.Description != "" {
		f.AsDict().Set("description", jinja.NewString(t.Function.Description))
	}
	if len(t.Function.Parameters) > 0 && string(t.Function.Parameters) != "null" {
		p, err := jsonValue(t.Function.Parameters)
		if err != nil {
			return jinja.Value{}, fmt.Errorf("function.parameters is not JSON: %w", err)
		}
		f.AsDict().Set("parameters", p)
	}
	d := jinja.NewDict()
	d.AsDict().Set("type", jinja.NewString(typ))
	d.AsDict().Set("function", f)
	return d, nil
}
