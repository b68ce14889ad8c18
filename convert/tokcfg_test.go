package convert

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/loomml/loom/format/gguf"
)

// TestLoadTokenizerConfigChatTemplate reads chat_template in its two
// shapes (a string, a list of {name, template}), from chat_template.jinja
// beside the config, and bos_token/eos_token as strings or objects.
func TestLoadTokenizerConfigChatTemplate(t *testing.T) {
	for _, c := range []struct {
		name   string
		config string
		jinja  string // chat_template.jinja, when not ""
		want   TokenizerConfig
		err    string
	}{
		{name: "string", config: `{"chat_template": "{{ bos_token }}x", "bos_token": "<s>", "eos_token": {"content": "</s>"}}`,
			want: TokenizerConfig{ChatTemplate: "{{ bos_token }}x", BOSToken: "<s>", EOSToken: "</s>"}},
		{name: "list", config: `{"chat_template": [{"name": "default", "template": "d"}, {"name": "tool_use", "template": "t"}], "bos_token": null}`,
			want: TokenizerConfig{ChatTemplates: map[string]string{"default": "d", "tool_use": "t"}}},
		{name: "file beside", config: `{"eos_token": "</s>"}`, jinja: "{{ messages }}",
			want: TokenizerConfig{ChatTemplate: "{{ messages }}", EOSToken: "</s>"}},
		{name: "config wins over file", config: `{"chat_template": "a"}`, jinja: "b", want: TokenizerConfig{ChatTemplate: "a"}},
		{name: "none", config: `{}`, want: TokenizerConfig{}},
		{name: "bad type", config: `{"chat_template": 3}`, err: `chat_template is not a string or a list of {"name": ..., "template": ...}`},
		{name: "list entry without name", config: `{"chat_template": [{"template": "d"}]}`, err: `chat_template[0] has no name or no template`},
		{name: "bad bos", config: `{"bos_token": 7}`, err: `bos_token is 7, want a string or {"content": ...}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, TokenizerConfigFile), []byte(c.config), 0o644); err != nil {
				t.Fatal(err)
			}
			if c.jinja != "" {
				if err := os.WriteFile(filepath.Join(dir, ChatTemplateFile), []byte(c.jinja), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			tc, err := LoadTokenizerConfig(dir)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), TokenizerConfigFile) {
					t.Fatalf("error %v, want one naming %s and containing %q", err, TokenizerConfigFile, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*tc, c.want) {
				t.Fatalf("got %+v, want %+v", *tc, c.want)
			}
		})
	}
}

// TestGGUFTokenizerConfig reads the chat template and special tokens of a
// GGUF file as llama.cpp writes them.
func TestGGUFTokenizerConfig(t *testing.T) {
	for _, c := range []struct {
		name string
		kv   [][2]any
		want TokenizerConfig
		err  string
	}{
		{name: "template and tokens", kv: [][2]any{{"tokenizer.chat_template", "{{ x }}"}, {"tokenizer.ggml.tokens", []string{"<s>", "</s>", "a"}},
			{"tokenizer.ggml.bos_token_id", uint32(0)}, {"tokenizer.ggml.eos_token_id", uint32(1)}},
			want: TokenizerConfig{ChatTemplate: "{{ x }}", BOSToken: "<s>", EOSToken: "</s>"}},
		{name: "named", kv: [][2]any{{"tokenizer.chat_template", "d"}, {"tokenizer.chat_templates", []string{"tool_use"}}, {"tokenizer.chat_template.tool_use", "t"}},
			want: TokenizerConfig{ChatTemplates: map[string]string{"default": "d", "tool_use": "t"}}},
		{name: "none", kv: [][2]any{{"general.name", "x"}}, want: TokenizerConfig{}},
		{name: "id out of range", kv: [][2]any{{"tokenizer.ggml.tokens", []string{"a"}}, {"tokenizer.ggml.eos_token_id", uint32(5)}}, want: TokenizerConfig{}},
		{name: "bad type", kv: [][2]any{{"tokenizer.chat_template", uint32(3)}}, err: "tokenizer.chat_template"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := gguf.NewWriter()
			for _, e := range c.kv {
				if err := w.Add(e[0].(string), e[1]); err != nil {
					t.Fatal(err)
				}
			}
			path := filepath.Join(t.TempDir(), "m.gguf")
			if err := w.WriteFile(path); err != nil {
				t.Fatal(err)
			}
			tc, err := GGUFTokenizerConfig(path)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*tc, c.want) {
				t.Fatalf("got %+v, want %+v", *tc, c.want)
			}
		})
	}
}
