package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/loomml/loom/chat"
	"github.com/loomml/loom/serve"
)

// serve.PlainTemplate (a server without package chat) renders exactly as
// chat.Plain (what loom serve and loom chat use) on the golden
// conversations of package chat.
func TestPlainTemplatesAgree(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "chat", "testdata", "conversations.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Cases []struct {
			Name     string           `json:"name"`
			Messages []map[string]any `json:"messages"`
			AddGen   bool             `json:"add_generation_prompt"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	cases := file.Cases
	if len(cases) == 0 {
		t.Fatal("no conversations")
	}
	a := chatTemplateAdapter{chat.Plain()}
	n := 0
cases:
	for _, c := range cases {
		for _, m := range c.Messages {
			if _, ok := m["tool_calls"]; ok {
				continue cases // Hugging Face's form of a call (arguments an object), not the API's
			}
		}
		n++
		want, err1 := a.Render(c.Messages, nil, c.AddGen)
		got, err2 := serve.PlainTemplate{}.Render(c.Messages, nil, c.AddGen)
		if err1 != nil || err2 != nil || got != want {
			t.Errorf("%s: serve.PlainTemplate %q (%v), chat.Plain %q (%v)", c.Name, got, err2, want, err1)
		}
	}
	if n < 4 {
		t.Fatalf("only %d conversations compared", n)
	}
	if s1, s2 := (serve.PlainTemplate{}).StopStrings(), a.StopStrings(); len(s1) != len(s2) || s1[0] != s2[0] || s1[1] != s2[1] {
		t.Errorf("stop strings %q and %q", s1, s2)
	}
}
