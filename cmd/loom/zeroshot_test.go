package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestEvalZeroShotTasks trains the tiny preset briefly on the embedded
// corpus and runs the zero-shot tasks on its held-out tail through
// `loom eval`, as text and as JSON.
func TestEvalZeroShotTasks(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	out := filepath.Join(t.TempDir(), "run")
	var o, e bytes.Buffer
	if code := run([]string{"train", "--preset", "tiny", "--steps", "30", "--threads", "1", "--out", out}, &o, &e); code != 0 {
		t.Fatalf("train: %s %s", o.String(), e.String())
	}
	ckpt := filepath.Join(out, "checkpoint")
	args := []string{"eval", "--model", ckpt, "--tasks", "continuation,lastword", "--task-items", "20", "--max-tokens", "2000", "--threads", "1"}

	o.Reset()
	if code := run(args, &o, &e); code != 0 {
		t.Fatalf("eval: %s", e.String())
	}
	lines := strings.Split(strings.TrimSpace(o.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "loss ") ||
		!strings.HasPrefix(lines[1], "continuation ") || !strings.HasPrefix(lines[2], "lastword ") {
		t.Fatalf("eval output:\n%s", o.String())
	}
	for _, l := range lines[1:] {
		if !strings.Contains(l, "accuracy ") || !strings.Contains(l, "chance 0.250, 20 items") {
			t.Fatalf("task line %q", l)
		}
	}

	o.Reset()
	if code := run(append(args, "--json"), &o, &e); code != 0 {
		t.Fatalf("eval --json: %s", e.String())
	}
	var r struct {
		Loss  float64 `json:"loss"`
		Tasks []struct {
			Task         string   `json:"task"`
			Items        int      `json:"items"`
			Accuracy     *float64 `json:"accuracy"`
			AccuracyNorm *float64 `json:"accuracy_norm"`
			Chance       float64  `json:"chance"`
			StdErr       *float64 `json:"stderr"`
		} `json:"tasks"`
	}
	if err := json.Unmarshal(o.Bytes(), &r); err != nil || !(r.Loss > 0) || len(r.Tasks) != 2 {
		t.Fatalf("eval JSON %s: %v", o.String(), err)
	}
	for i, want := range []string{"continuation", "lastword"} {
		tr := r.Tasks[i]
		if tr.Task != want || tr.Items != 20 || tr.Chance != 0.25 || tr.Accuracy == nil || tr.AccuracyNorm == nil || tr.StdErr == nil ||
			*tr.Accuracy < 0 || *tr.Accuracy > 1 || *tr.AccuracyNorm < 0 || *tr.AccuracyNorm > 1 {
			t.Fatalf("task %d: %+v", i, tr)
		}
	}

	// Without --tasks the JSON has no tasks field; bad task flags fail
	// before any work.
	o.Reset()
	if code := run([]string{"eval", "--model", ckpt, "--max-tokens", "500", "--json"}, &o, &e); code != 0 || strings.Contains(o.String(), "tasks") {
		t.Fatalf("eval without tasks: %s %s", o.String(), e.String())
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"eval", "--model", filepath.Join(out, "none"), "--tasks", "continuation,bogus"}, `unknown task "bogus" (known: continuation, lastword)`},
		{[]string{"eval", "--model", filepath.Join(out, "none"), "--tasks", "lastword", "--task-items", "0"}, "flag -task-items: want ≥ 1"},
		{[]string{"eval", "--model", ckpt, "--data", filepath.Join(out, "checkpoint", "config.json"), "--tasks", "lastword"}, "task lastword"},
	} {
		o.Reset()
		e.Reset()
		if code := run(c.args, &o, &e); code == 0 || !strings.Contains(e.String(), c.want) {
			t.Errorf("loom %v: code %d, stderr %q; want an error mentioning %q", c.args, code, e.String(), c.want)
		}
	}
}
