package main

import (
	"bytes"
	"strings"
	"testing"
)

// loom chat keeps the history, answers each line, and takes its commands.
func TestChat(t *testing.T) {
	old := chatInput
	defer func() { chatInput = old }()
	chatInput = strings.NewReader("ROMEO\n/bogus\n/system Be brief.\nJULIET\n/reset\n/quit\nnever read\n")
	var o, e bytes.Buffer
	if code := run([]string{"chat", "--model", "../../convert/testdata/hf/loom-trained", "--max-tokens", "6", "--temperature", "0"}, &o, &e); code != 0 {
		t.Fatalf("exit %d: %s", code, e.String())
	}
	out := o.String()
	for _, want := range []string{"(unknown command /bogus", "(new system message; history cleared)", "(history cleared)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "> "); n != 6 {
		t.Errorf("%d prompts, want 6 (quit stops reading):\n%s", n, out)
	}
	if !strings.Contains(e.String(), "loom chat with loom-trained") {
		t.Errorf("stderr %q", e.String())
	}
}
