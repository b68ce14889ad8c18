package chat

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// goldenNow is the clock gen_golden.mjs pins: noon UTC, 2 Jan 2026.
var goldenNow = func() time.Time { return time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC) }

type goldenCase struct {
	Name                string            `json:"name"`
	AddGenerationPrompt bool              `json:"add_generation_prompt"`
	Tools               bool              `json:"tools"`
	Messages            []json.RawMessage `json:"messages"`
}

// fixtureMessage is a message of conversations.json: arguments are an
// object there (as Hugging Face templates get them), a JSON string in
// Message (as OpenAI sends them).
type fixtureMessage struct {
	Message
	ToolCalls []struct {
		ID       string `json:"id"`
		Type     string `json:"type"`
		Function struct {
			Name      string          `json:"name"`
			Arguments json.RawMessage `json:"arguments"`
		} `json:"function"`
	} `json:"tool_calls"`
}

func loadConversations(t *testing.T) ([]Tool, []goldenCase, [][]Message) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "conversations.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Tools []Tool       `json:"tools"`
		Cases []goldenCase `json:"cases"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	msgs := make([][]Message, len(c.Cases))
	for i, cs := range c.Cases {
		for _, raw := range cs.Messages {
			var f fixtureMessage
			if err := json.Unmarshal(raw, &f); err != nil {
				t.Fatal(err)
			}
			m := f.Message
			m.ToolCalls = nil
			for _, tc := range f.ToolCalls {
				m.ToolCalls = append(m.ToolCalls, ToolCall{ID: tc.ID, Type: tc.Type,
					Function: FunctionCall{Name: tc.Function.Name, Arguments: string(tc.Function.Arguments)}})
			}
			msgs[i] = append(msgs[i], m)
		}
	}
	return c.Tools, c.Cases, msgs
}

// TestGolden renders every fixture template on every conversation and
// compares byte for byte with @huggingface/jinja's output
// (testdata/golden, written by testdata/gen_golden.mjs); where the
// reference raised, Render must fail with the same message.
func TestGolden(t *testing.T) {
	tools, cases, msgs := loadConversations(t)
	b, err := os.ReadFile(filepath.Join("testdata", "templates.json"))
	if err != nil {
		t.Fatal(err)
	}
	var specials map[string]struct {
		BOS string `json:"bos_token"`
		EOS string `json:"eos_token"`
	}
	if err := json.Unmarshal(b, &specials); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "templates", "*.jinja"))
	if len(files) < 6 {
		t.Fatalf("%d fixture templates, want at least 6", len(files))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".jinja")
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sp, ok := specials[name]
		if !ok {
			t.Fatalf("templates.json has no entry for %s", name)
		}
		tmpl, err := Parse(string(src), Options{BOS: sp.BOS, EOS: sp.EOS, Now: goldenNow})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i, c := range cases {
			t.Run(name+"/"+c.Name, func(t *testing.T) {
				var tl []Tool
				if c.Tools {
					tl = tools
				}
				if c.Tools && !tmpl.SupportsTools() {
					_, err := tmpl.Render(msgs[i], tl, c.AddGenerationPrompt)
					if !errors.Is(err, ErrNoTools) {
						t.Fatalf("Render with tools on a template without them: %v, want ErrNoTools", err)
					}
					tl = nil // the reference rendered them into nothing
				}
				got, err := tmpl.Render(msgs[i], tl, c.AddGenerationPrompt)
				base := filepath.Join("testdata", "golden", name, c.Name)
				if want, rerr := os.ReadFile(base + ".err"); rerr == nil {
					msg := strings.TrimSuffix(string(want), "\n")
					if err == nil || !strings.Contains(err.Error(), msg) {
						t.Fatalf("Render error %v, want one containing %q", err, msg)
					}
					return
				}
				want, rerr := os.ReadFile(base + ".txt")
				if rerr != nil {
					t.Fatal(rerr)
				}
				if err != nil {
					t.Fatalf("Render: %v", err)
				}
				if got != string(want) {
					t.Errorf("Render differs from @huggingface/jinja at byte %d:\n got %q\nwant %q", firstDiff(got, string(want)), got, want)
				}
			})
		}
	}
}

func firstDiff(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestPlainFixture keeps testdata/templates/loom-plain.jinja (rendered by
// the reference) the same as the embedded plain template.
func TestPlainFixture(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "templates", "loom-plain.jinja"))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != PlainSource() {
		t.Fatal("testdata/templates/loom-plain.jinja differs from plain.jinja: copy it and rerun gen_golden.mjs")
	}
}
