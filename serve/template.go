package serve

import (
	"errors"
	"strings"
)

// PlainTemplate is the chat template of a model that brings none (loom's
// own models), for servers built without package chat: each message on its
// own line as "Role: content" (System, User, Assistant, Tool; a developer
// message counts as System), and with the generation prompt a last line
// "Assistant:" for the model to continue. A reply ends at a new "User:" or
// "System:" line. It renders no tools. It is chat.Plain's format (loom
// serve uses chat.Plain itself; a test in cmd/loom keeps the two equal).
//
//	System: You are terse.
//	User: Hi
//	Assistant:
type PlainTemplate struct{}

// Render writes the messages.
func (PlainTemplate) Render(messages []map[string]any, tools []map[string]any, addGenerationPrompt bool) (string, error) {
	if len(tools) > 0 {
		return "", errors.New("the plain template renders no tools")
	}
	var b strings.Builder
	for _, m := range messages {
		role, _ := m["role"].(string)
		content, _ := m["content"].(string)
		switch role {
		case "system", "developer":
			role = "System"
		case "user":
			role = "User"
		case "assistant":
			role = "Assistant"
		default:
			role = "Tool"
		}
		b.WriteString(role + ": " + content + "\n")
	}
	if addGenerationPrompt {
		b.WriteString("Assistant:")
	}
	return b.String(), nil
}

// SupportsTools is false.
func (PlainTemplate) SupportsTools() bool { return false }

// StopStrings end a reply where the model starts the next turn.
func (PlainTemplate) StopStrings() []string { return []string{"\nUser:", "\nSystem:"} }
