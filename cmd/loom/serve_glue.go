package main

import (
	"encoding/json"
	"fmt"

	"github.com/loomml/loom/chat"
	"github.com/loomml/loom/constrain"
	"github.com/loomml/loom/convert"
	"github.com/loomml/loom/serve"
	"github.com/loomml/loom/serve/engine"
)

// The engines, chat templates and response_format compilers loom serve
// plugs into package serve (which knows them only by small interfaces).
func init() {
	engines["batched"] = func(l *convert.Loaded, o engineOptions) (engine.Engine, error) {
		return engine.NewBatched(l.Model, l.Tok, l.Stop, engine.BatchedOptions{
			MaxBatch: o.maxBatch, MaxQueue: o.maxQueue, KVBudget: o.kvMem, Ctx: o.ctx})
	}
	chatTemplate = func(l *convert.Loaded) (serve.Template, error) {
		t, err := chat.Load(l.TokCfg) // chat.Plain() for a model without a template
		if err != nil {
			return nil, err
		}
		return chatTemplateAdapter{t}, nil
	}
	constraints = func(l *convert.Loaded) (serve.ConstraintCompiler, error) {
		return constrain.NewCompiler(constrain.NewVocab(l.Tok, l.Stop...)), nil
	}
}

// chatTemplateAdapter is a Hugging Face chat template (package chat) as
// serve.Template, serve.ToolParser and serve.StopStringer: the request's
// JSON messages and tools become chat's types by their OpenAI field names.
type chatTemplateAdapter struct{ t *chat.Template }

func (a chatTemplateAdapter) Render(messages, tools []map[string]any, addGenerationPrompt bool) (string, error) {
	var msgs []chat.Message
	if err := convertJSON(messages, &msgs); err != nil {
		return "", fmt.Errorf("messages: %w", err)
	}
	var ts []chat.Tool
	if err := convertJSON(tools, &ts); err != nil {
		return "", fmt.Errorf("tools: %w", err)
	}
	return a.t.Render(msgs, ts, addGenerationPrompt)
}

func (a chatTemplateAdapter) SupportsTools() bool { return a.t.SupportsTools() }

func (a chatTemplateAdapter) StopStrings() []string { return a.t.Stop() }

// ParseToolCalls returns the text and the calls (name and arguments, a JSON
// string); output that does not parse as calls stays text.
func (a chatTemplateAdapter) ParseToolCalls(text string) (string, []map[string]any) {
	calls, rest, err := a.t.ParseToolCalls(text)
	if err != nil || len(calls) == 0 {
		return text, nil
	}
	out := make([]map[string]any, len(calls))
	for i, c := range calls {
		out[i] = map[string]any{"name": c.Function.Name, "arguments": c.Function.Arguments}
		if c.ID != "" {
			out[i]["id"] = c.ID
		}
	}
	return rest, out
}

// convertJSON decodes src's JSON form into dst.
func convertJSON(src, dst any) error {
	b, err := json.Marshal(src)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, dst)
}
