// Package chat turns a conversation into the prompt a chat model was
// trained on, and a model's output back into tool calls: the part of
// `loom serve` and `loom chat` between OpenAI's messages and token ids.
//
// # Templates
//
// A Hugging Face model carries its prompt format as a Jinja template, the
// chat_template of tokenizer_config.json (convert.LoadTokenizerConfig
// reads it, also as a list of named templates or from chat_template.jinja).
// Load picks it up, Parse compiles any template text, and
// Template.Render applies it to messages, tool definitions and
// add_generation_prompt, with bos_token and eos_token from the config and
// strftime_now from Options.Now. Messages are given to the template as
// transformers gives them: tool-call arguments as objects, tool_calls
// present only on turns that have them.
//
// The engine is github.com/ardanlabs/jinja v1.8.0: pure Go, no
// dependencies, written for chat templates (it has raise_exception,
// namespace, loop.*, slicing, tojson, strftime_now and the filters and
// tests chat templates use), and its v1.8.0 builds with Go 1.26 (later
// versions need Go 1.27). It renders the fixture templates byte for byte
// like @huggingface/jinja with one exception, worked around here: its
// tojson(indent=N) goes through encoding/json on Go maps, which sorts keys
// and escapes <, > and &, so Llama 3.x tool definitions came out in another
// order than the model was trained on. Parse therefore renames the
// template's tojson filter to one of this package (tojson.go), which keeps
// key order and escapes as JSON.stringify does. gonja v2 was not needed.
//
// Errors: Parse names filters and tests the engine lacks (unknown filter
// "x" / unknown test "y", with the list it has) and Jinja syntax errors; a
// template that calls raise_exception fails Render with its message
// ("chat template: System role not supported"); tools given to a template
// that does not reference them give ErrNoTools.
//
// # Golden tests
//
// testdata/templates holds the public templates of Llama 3.2 and 3.3
// (3.1-family, with <|python_tag|> built-in tools), Qwen2.5, Mistral Nemo
// (the v3 [AVAILABLE_TOOLS]/[TOOL_CALLS] format), Gemma 2 and Phi-3.5, plus
// loom's plain template; testdata/README.md gives their sources.
// testdata/gen_golden.mjs renders each on the conversations of
// testdata/conversations.json with @huggingface/jinja 0.5.11 into
// testdata/golden, and TestGolden compares Render with those files byte for
// byte (and the error message where the reference raised).
//
// # Plain template
//
// Models without a template (loom's own) get Plain: each turn is its role
// (System, User, Assistant; developer counts as System, other roles as
// Tool), ": ", its content and a newline, and the generation prompt is
// "Assistant:" (the model writes the space):
//
//	System: You are terse.
//	User: Name a colour.
//	Assistant: Blue.
//	User: Another?
//	Assistant:
//
// It writes no special tokens, takes no tools, and its Stop strings
// ("\nUser:", "\nSystem:") end an answer where a base model would go on to
// write the next turn itself.
//
// # Tool calls
//
// Template.ParseToolCalls reads the calls in a model's output in its
// template's format (Template.ToolFormat, recognised from the template's
// text): "llama3" — a whole output {"name": …, "parameters": …}, or after
// <|python_tag|> one or more such objects separated by ";" or a built-in
// tool's name.call(arg="…"); "hermes" (Qwen2.5) —
// <tool_call>{"name": …, "arguments": …}</tool_call>, repeated;
// "mistral" — [TOOL_CALLS][{"name": …, "arguments": …, "id": …}, …]. It
// returns the calls (arguments as compact JSON text, as OpenAI sends them)
// and the text around them. Decode the output with special tokens shown so
// that the markers are there.
package chat
